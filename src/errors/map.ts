import { DrizzleQueryError } from 'drizzle-orm';
import { DatabaseError, type DatabaseErrorDetails } from './database-error.js';
import {
  CheckViolationError,
  ConnectionError,
  DeadlockError,
  ForeignKeyViolationError,
  InvalidInputError,
  NotNullViolationError,
  QueryError,
  QueryTimeoutError,
  SerializationError,
  UniqueViolationError,
} from './classes.js';

/** The fields a PostgreSQL error carries, in postgres.js (`*_name`) or pg-protocol / PGlite spelling. */
export interface ServerErrorLike {
  code: string;
  severity?: unknown;
  constraint_name?: unknown;
  table_name?: unknown;
  column_name?: unknown;
  schema_name?: unknown;
  constraint?: unknown;
  table?: unknown;
  column?: unknown;
  schema?: unknown;
  message?: unknown;
}

const SQLSTATE = /^[0-9A-Z]{5}$/;
const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'CONNECT_TIMEOUT',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
]);
const CONNECTION_SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300', '28P01', '28000', '3D000']);
const MAX_DEPTH = 8;

function isServerError(value: unknown): value is ServerErrorLike {
  if (typeof value !== 'object' || value === null) return false;
  const code = (value as { code?: unknown }).code;
  return typeof code === 'string' && SQLSTATE.test(code) && ('severity' in value || 'routine' in value);
}

function codeOf(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const code = (value as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

/** SQLSTATE classes whose server messages name objects but never data values. */
const SAFE_MESSAGE_CLASSES = ['42', '0A', '25', '55', '3D', '3F', '2B'];
/**
 * Classes whose server message may be kept on the sanitized cause: they name objects (constraints, tables,
 * columns) and never quote a value. Class 22 quotes the value ("invalid input syntax for type bigint: "…""), and
 * raise_exception (P0001) or internal errors (XX) may say anything, so their message is dropped.
 */
const CAUSE_MESSAGE_CLASSES = new Set([...SAFE_MESSAGE_CLASSES, '23', '40', '57', '08', '53', '28']);

/** What each data exception (class 22) means, in words that never need the value. */
const DATA_EXCEPTIONS: Readonly<Record<string, string>> = {
  '22P02': 'Invalid input syntax',
  '22003': 'Numeric value out of range',
  '22001': 'Value too long',
  '22021': 'Invalid byte sequence (a NUL byte or invalid UTF-8 in text)',
  '22007': 'Invalid date/time format',
  '22008': 'Date/time field value out of range',
  '22012': 'Division by zero',
  '22004': 'Null value not allowed',
  '22023': 'Invalid parameter value',
  '2202E': 'Array subscript out of range',
  '22P05': 'Untranslatable character',
};
/**
 * The type name in the server's class-22 messages, each pattern anchored on the server's own words so that a
 * quoted value can never be taken for it: `invalid input syntax for type bigint: "…"`, `value "…" is out of range
 * for type integer`, `value too long for type character varying(5)`.
 */
const TYPE_IN_MESSAGE = [
  /^invalid input syntax for type ([a-z][a-z0-9_ ]*): "/,
  /" is out of range for type ([a-z][a-z0-9_ ]*)$/,
  /^value too long for type ([a-z][a-z0-9_ ]*(?:\(\d+\))?)$/,
];

/**
 * The server error as kept in `cause`: code, message and the object names, without what may carry data — the
 * `detail` line ("Key (email)=(…)"), the query text and its parameters, which PGlite and postgres.js attach.
 */
export class ServerError extends Error {
  readonly code: string;
  readonly severity: string | undefined;
  readonly constraint: string | undefined;
  readonly table: string | undefined;
  readonly column: string | undefined;
  readonly schema: string | undefined;
  readonly routine: string | undefined;
  constructor(server: ServerErrorLike & { message?: unknown; severity?: unknown; routine?: unknown }) {
    super(
      typeof server.message === 'string' && CAUSE_MESSAGE_CLASSES.has(server.code.slice(0, 2))
        ? server.message
        : `SQLSTATE ${server.code} (the server's message may quote a value and is not kept)`,
    );
    this.name = 'ServerError';
    this.code = server.code;
    this.severity = text(server.severity);
    this.constraint = text(server.constraint_name) ?? text(server.constraint);
    this.table = text(server.table_name) ?? text(server.table);
    this.column = text(server.column_name) ?? text(server.column);
    this.schema = text(server.schema_name) ?? text(server.schema);
    this.routine = text(server.routine);
  }
}

/** Walks `cause` links (Drizzle wraps driver errors) and returns the first PostgreSQL server error. */
export function findServerError(err: unknown): ServerErrorLike | undefined {
  let current: unknown = err;
  for (let depth = 0; depth < MAX_DEPTH && current !== undefined && current !== null; depth++) {
    if (isServerError(current)) return current;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

function findConnectionFailure(err: unknown): unknown {
  let current: unknown = err;
  for (let depth = 0; depth < MAX_DEPTH && current !== undefined && current !== null; depth++) {
    const code = codeOf(current);
    if (code !== undefined && (CONNECTION_CODES.has(code) || CONNECTION_SQLSTATES.has(code) || code.startsWith('08')))
      return current;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

function where(fields: { table?: string | undefined; column?: string | undefined }): string {
  if (fields.table && fields.column) return ` on ${fields.table}.${fields.column}`;
  if (fields.table) return ` on table ${fields.table}`;
  return '';
}

/**
 * Turns any error thrown by Drizzle, postgres.js or PGlite into a typed {@link DatabaseError}. It walks the
 * `cause` chain to the server error, picks the class from the SQLSTATE and fills constraint, table and column.
 * The message it writes never contains SQL parameter values or connection strings; the driver error is kept as
 * `cause` (Drizzle's wrapper, whose message lists the parameters, is skipped). A `DatabaseError` is returned
 * unchanged; anything that is not a database failure is wrapped in a `QueryError`.
 *
 * @example
 * ```ts
 * try { await db.insert(users).values(row) } catch (e) { throw toDatabaseError(e) }
 * ```
 */
export function toDatabaseError(err: unknown): DatabaseError {
  const ours = findDatabaseError(err);
  if (ours) return ours;
  const found = findServerError(err);
  if (found) {
    const server = new ServerError(found);
    const details = {
      sqlState: server.code,
      constraint: server.constraint,
      table: server.table,
      column: server.column,
      schema: server.schema,
      cause: server,
    };
    const constraint = details.constraint ? ` "${details.constraint}"` : '';
    switch (server.code) {
      case '23505':
        return new UniqueViolationError(`Unique constraint${constraint} violated${where(details)}`, details);
      case '23503':
      case '23001':
        return new ForeignKeyViolationError(`Foreign key constraint${constraint} violated${where(details)}`, details);
      case '23502':
        return new NotNullViolationError(`Null value not allowed${where(details)}`, details);
      case '23514':
        return new CheckViolationError(`Check constraint${constraint} violated${where(details)}`, details);
      case '40001':
        return new SerializationError('Could not serialize access due to concurrent update', details);
      case '40P01':
        return new DeadlockError('Deadlock detected', details);
      case '57014':
        return new QueryTimeoutError('Statement cancelled (statement timeout or cancel request)', details);
      default:
        if (server.code.startsWith('22')) return invalidInput(server.code, text(found.message) ?? '', details);
        if (CONNECTION_SQLSTATES.has(server.code) || server.code.startsWith('08'))
          return new ConnectionError(`Database connection failed (SQLSTATE ${server.code})`, details);
        if (SAFE_MESSAGE_CLASSES.includes(server.code.slice(0, 2))) {
          return new QueryError(`Query failed (SQLSTATE ${server.code}): ${server.message}`, details);
        }
        return new QueryError(`Query failed (SQLSTATE ${server.code})${where(details)}`, details);
    }
  }
  const failure = findConnectionFailure(err);
  if (failure !== undefined) {
    return new ConnectionError(`Database connection failed (${codeOf(failure)})`, { cause: failure });
  }
  const cause = innermost(err);
  return new QueryError('Query failed', { cause });
}

function invalidInput(code: string, serverMessage: string, details: DatabaseErrorDetails): InvalidInputError {
  let dataType: string | undefined;
  for (const pattern of TYPE_IN_MESSAGE) {
    dataType = pattern.exec(serverMessage)?.[1];
    if (dataType !== undefined) break;
  }
  const what = DATA_EXCEPTIONS[code] ?? 'Invalid input value';
  const type = dataType === undefined ? '' : ` for type ${dataType}`;
  return new InvalidInputError(`${what}${type}${where(details)} (SQLSTATE ${code})`, { ...details, dataType });
}

/** A DatabaseError of ours anywhere in the cause chain (Drizzle wraps what our executors throw). */
function findDatabaseError(err: unknown): DatabaseError | undefined {
  let current: unknown = err;
  for (let depth = 0; depth < MAX_DEPTH && current !== undefined && current !== null; depth++) {
    if (current instanceof DatabaseError) return current;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** Skips Drizzle's wrapper, whose message carries the SQL text and its parameter values. */
function innermost(err: unknown): unknown {
  if (err instanceof DrizzleQueryError && err.cause !== undefined) return err.cause;
  return err;
}
