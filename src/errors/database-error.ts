/** Fields every database error may carry. */
export interface DatabaseErrorDetails {
  /** PostgreSQL SQLSTATE, when the server reported one. */
  sqlState?: string | undefined;
  /** Constraint named by the server (unique, foreign key, check). */
  constraint?: string | undefined;
  /** Table named by the server. */
  table?: string | undefined;
  /** Column named by the server. */
  column?: string | undefined;
  /** Schema named by the server. */
  schema?: string | undefined;
  /** The original error. */
  cause?: unknown;
}

/**
 * Base class of every error raised by `@spfn/core`. `code` is a stable string that callers can switch on;
 * `retryable` says whether running the same work again may succeed. Messages are safe to show a client: they
 * never hold SQL parameter values or passwords.
 *
 * @example
 * ```ts
 * try { await repo.create(user) } catch (e) { if (e instanceof DatabaseError && e.code === 'UNIQUE_VIOLATION') … }
 * ```
 */
export class DatabaseError extends Error {
  /** Stable machine-readable code, e.g. `UNIQUE_VIOLATION`. */
  readonly code: string = 'DATABASE_ERROR';
  /** True when the same work may succeed if run again (serialization failure, deadlock, pool timeout…). */
  readonly retryable: boolean = false;
  readonly sqlState: string | undefined;
  readonly constraint: string | undefined;
  readonly table: string | undefined;
  readonly column: string | undefined;
  readonly schema: string | undefined;

  constructor(message: string, details: DatabaseErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = new.target.name;
    this.sqlState = details.sqlState;
    this.constraint = details.constraint;
    this.table = details.table;
    this.column = details.column;
    this.schema = details.schema;
  }

  /** A JSON form without the cause, safe for logs and API responses. */
  toJSON(): Record<string, unknown> {
    const out: Record<string, unknown> = { name: this.name, code: this.code, message: this.message };
    if (this.retryable) out.retryable = true;
    for (const key of ['sqlState', 'constraint', 'table', 'column', 'schema'] as const) {
      if (this[key] !== undefined) out[key] = this[key];
    }
    return out;
  }
}
