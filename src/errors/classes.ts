import { DatabaseError, type DatabaseErrorDetails } from './database-error.js';

/** A configuration value that does not parse; `variable` names it and the message says the accepted form. */
export class ConfigError extends DatabaseError {
  override readonly code = 'CONFIG_ERROR';
  /** The environment variable or option that was wrong, e.g. `DB_POOL_MAX`. */
  readonly variable: string;
  constructor(variable: string, message: string) {
    super(`${variable}: ${message}`);
    this.variable = variable;
  }
}

/** The database could not be reached or the connection broke. */
export class ConnectionError extends DatabaseError {
  override readonly code = 'CONNECTION_ERROR';
  override readonly retryable = true;
}

/** `getDatabase()` (or a query) was called before `initDatabase()` or after `closeDatabase()`. */
export class DatabaseNotInitializedError extends DatabaseError {
  override readonly code = 'DATABASE_NOT_INITIALIZED';
  constructor(message = 'Database is not initialized: call initDatabase() first') {
    super(message);
  }
}

/** Pool counters at the moment a caller gave up waiting. */
export interface PoolCounts {
  /** Connections held by a caller (a transaction or a running query). */
  active: number;
  /** Connections open and free. */
  idle: number;
  /** Callers queued for a connection, this one included. */
  waiting: number;
  /** The pool's size limit. */
  max: number;
}

/** No connection became free within the acquire timeout. */
export class PoolTimeoutError extends DatabaseError {
  override readonly code = 'POOL_TIMEOUT';
  override readonly retryable = true;
  readonly active: number;
  readonly idle: number;
  readonly waiting: number;
  readonly max: number;
  /** The pool that timed out: `primary` or `replica:<n>`. */
  readonly pool: string;
  readonly timeoutMs: number;
  constructor(pool: string, timeoutMs: number, counts: PoolCounts) {
    super(
      `Timed out after ${timeoutMs} ms waiting for a connection from the ${pool} pool ` +
        `(active ${counts.active}, idle ${counts.idle}, waiting ${counts.waiting}, max ${counts.max})`,
    );
    this.pool = pool;
    this.timeoutMs = timeoutMs;
    this.active = counts.active;
    this.idle = counts.idle;
    this.waiting = counts.waiting;
    this.max = counts.max;
  }
}

/** A query failed for a reason without a more specific class. */
export class QueryError extends DatabaseError {
  override readonly code: string = 'QUERY_ERROR';
}

/** The caller asked for something invalid (unknown column or operator, empty filter on a bulk write…). */
export class InvalidQueryError extends DatabaseError {
  override readonly code = 'INVALID_QUERY';
}

/** A row that had to exist does not. */
export class NotFoundError extends DatabaseError {
  override readonly code = 'NOT_FOUND';
}

/** 23505: a unique constraint was violated. */
export class UniqueViolationError extends QueryError {
  override readonly code = 'UNIQUE_VIOLATION';
}

/** 23503 (foreign_key_violation) or 23001 (restrict_violation): a foreign key constraint was violated. */
export class ForeignKeyViolationError extends QueryError {
  override readonly code = 'FOREIGN_KEY_VIOLATION';
}

/** 23502: a NOT NULL column got no value. */
export class NotNullViolationError extends QueryError {
  override readonly code = 'NOT_NULL_VIOLATION';
}

/** 23514: a CHECK constraint failed. */
export class CheckViolationError extends QueryError {
  override readonly code = 'CHECK_VIOLATION';
}

/**
 * SQLSTATE class 22 (data exception): a value the caller supplied does not fit its column's type — text into a
 * number (22P02), a number out of range (22003), a string too long (22001), a NUL byte in text (22021), a bad date
 * or time (22007, 22008), a division by zero (22012)… `dataType` names the type when the server says it, `column`
 * the column when the server says it; the message never repeats the value (the server's own message quotes it).
 *
 * @example
 * ```ts
 * try { await repo.create(body) } catch (e) { if (e instanceof InvalidInputError) return c.json({ error: e.message }, 400) }
 * ```
 */
export class InvalidInputError extends QueryError {
  override readonly code = 'INVALID_INPUT';
  /** The PostgreSQL type the value did not fit (`bigint`, `character varying(5)`…), when the server named it. */
  readonly dataType: string | undefined;
  constructor(message: string, details: DatabaseErrorDetails & { dataType?: string | undefined } = {}) {
    super(message, details);
    this.dataType = details.dataType;
  }

  override toJSON(): Record<string, unknown> {
    const out = super.toJSON();
    if (this.dataType !== undefined) out.dataType = this.dataType;
    return out;
  }
}

/** 40001: the transaction could not be serialized; running it again may succeed. */
export class SerializationError extends QueryError {
  override readonly code = 'SERIALIZATION_FAILURE';
  override readonly retryable = true;
}

/** 40P01: a deadlock was detected and this transaction was chosen to fail. */
export class DeadlockError extends QueryError {
  override readonly code = 'DEADLOCK';
  override readonly retryable = true;
}

/** 57014: the statement was cancelled (statement_timeout or a cancel request). */
export class QueryTimeoutError extends QueryError {
  override readonly code = 'QUERY_TIMEOUT';
}

/** A transaction could not begin, commit or roll back, or was used wrongly. */
export class TransactionError extends DatabaseError {
  override readonly code: string = 'TRANSACTION_ERROR';
}

/** The transaction ran past its deadline and was rolled back. */
export class TransactionTimeoutError extends TransactionError {
  override readonly code = 'TRANSACTION_TIMEOUT';
  readonly timeoutMs: number;
  constructor(timeoutMs: number, details: DatabaseErrorDetails = {}) {
    super(`Transaction timed out after ${timeoutMs} ms and was rolled back`, details);
    this.timeoutMs = timeoutMs;
  }
}

/** Optimistic locking: the row's version changed since it was read. */
export class StaleVersionError extends DatabaseError {
  override readonly code = 'STALE_VERSION';
}

export type { DatabaseErrorDetails };
