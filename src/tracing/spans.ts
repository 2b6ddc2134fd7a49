import { context, SpanKind, SpanStatusCode, trace, type Attributes, type Span, type Tracer } from '@opentelemetry/api';
import { DatabaseError, TransactionTimeoutError, toDatabaseError } from '../errors/index.js';
import { describeStatement } from './sql.js';

/** Attributes every span of this package carries (OpenTelemetry database semantic conventions). */
const DB_SYSTEM: Attributes = Object.freeze({ 'db.system': 'postgresql', 'db.system.name': 'postgresql' });

/** Server attributes of one pool, from its URL. @internal */
export function serverAttributes(url: string | undefined): Attributes {
  if (url === undefined) return {};
  try {
    const parsed = new URL(url);
    const attributes: Attributes = { 'server.address': decodeURIComponent(parsed.hostname) || 'localhost' };
    attributes['server.port'] = parsed.port === '' ? 5432 : Number(parsed.port);
    const database = decodeURIComponent(parsed.pathname.slice(1));
    if (database !== '') attributes['db.namespace'] = database;
    return attributes;
  } catch {
    return {};
  }
}

/**
 * Marks a span failed: ERROR status, `error.type` and the SQLSTATE for database errors. Only the mapped error's
 * code and its client-safe message are recorded; other errors (the application's own) are named by class only,
 * since their messages may hold anything.
 */
export function recordFailure(span: Span, err: unknown): void {
  const mapped = toDatabaseError(err);
  if (!(err instanceof DatabaseError) && mapped.code === 'QUERY_ERROR' && mapped.sqlState === undefined) {
    span.setAttribute('error.type', err instanceof Error ? err.name : typeof err);
    span.setStatus({ code: SpanStatusCode.ERROR });
    return;
  }
  // A statement stopped by the transaction's deadline carries the server's answer (57014) as its cause.
  const sqlState = mapped.sqlState ?? causeSqlState(mapped.cause);
  span.setAttribute('error.type', sqlState ?? mapped.code);
  if (sqlState !== undefined) span.setAttribute('db.response.status_code', sqlState);
  span.setAttribute('spfn.error.code', mapped.code);
  span.setStatus({ code: SpanStatusCode.ERROR, message: `${mapped.code}: ${mapped.message}` });
}

function causeSqlState(cause: unknown): string | undefined {
  for (let depth = 0; depth < 4 && cause instanceof Error; depth++) {
    if (cause instanceof DatabaseError && cause.sqlState !== undefined) return cause.sqlState;
    cause = cause.cause;
  }
  return undefined;
}

/**
 * A span per statement (kind CLIENT), named `SELECT users`, with the sanitized statement text: parameters stay
 * `$1`, literals become `?`. The span is not made active: nothing runs under a statement.
 * @internal
 */
export function startStatementSpan(tracer: Tracer, text: string, server: Attributes, role: string): Span {
  const info = describeStatement(text);
  const attributes: Attributes = { ...DB_SYSTEM, ...server, 'db.query.text': info.text, 'spfn.db.role': role };
  if (info.operation !== undefined) attributes['db.operation.name'] = info.operation;
  if (info.table !== undefined) attributes['db.collection.name'] = info.table;
  return tracer.startSpan(info.summary, { kind: SpanKind.CLIENT, attributes });
}

/** Ends a span after `promise` settles (recording a failure), passing its outcome through. @internal */
export function endStatementSpan<T>(span: Span, promise: Promise<T>): Promise<T> {
  return promise.then(
    (result) => {
      span.end();
      return result;
    },
    (err: unknown) => {
      recordFailure(span, err);
      span.end();
      throw err;
    },
  );
}

/** What a transaction span shows. @internal */
export interface TransactionSpanInfo {
  name: string | undefined;
  route: string | undefined;
  isolationLevel: string | undefined;
  readOnly: boolean;
}

/**
 * Runs `run` under a span for one outermost transaction, retries included (`spfn.transaction.retries`), ending
 * it with `spfn.transaction.outcome` commit, rollback or timeout. Statements and repository calls inside are its
 * children.
 * @internal
 */
export function traceTransaction<T>(
  tracer: Tracer,
  info: TransactionSpanInfo,
  run: (span: Span) => Promise<T>,
): Promise<T> {
  const attributes: Attributes = { ...DB_SYSTEM, 'spfn.transaction.read_only': info.readOnly };
  if (info.name !== undefined) attributes['spfn.transaction.name'] = info.name;
  if (info.route !== undefined) attributes['spfn.transaction.route'] = info.route;
  if (info.isolationLevel !== undefined) attributes['spfn.transaction.isolation_level'] = info.isolationLevel;
  const span = tracer.startSpan(info.name === undefined ? 'transaction' : `transaction ${info.name}`, {
    kind: SpanKind.INTERNAL,
    attributes,
  });
  return context
    .with(trace.setSpan(context.active(), span), () => run(span))
    .then(
      (result) => {
        span.setAttribute('spfn.transaction.outcome', 'commit');
        span.end();
        return result;
      },
      (err: unknown) => {
        span.setAttribute('spfn.transaction.outcome', err instanceof TransactionTimeoutError ? 'timeout' : 'rollback');
        recordFailure(span, err);
        span.end();
        throw err;
      },
    );
}

/**
 * Runs one repository call under a span named `users.findById` (kind INTERNAL); its statements are children.
 * @internal
 */
export function traceRepositoryCall<T>(
  tracer: Tracer,
  operation: string,
  table: string,
  role: string,
  run: () => Promise<T>,
): Promise<T> {
  const span = tracer.startSpan(`${table}.${operation}`, {
    kind: SpanKind.INTERNAL,
    attributes: {
      ...DB_SYSTEM,
      'db.collection.name': table,
      'spfn.repository.method': operation,
      'spfn.db.role': role,
    },
  });
  return endStatementSpan(span, context.with(trace.setSpan(context.active(), span), run));
}
