import type { ExtractTablesWithRelations } from 'drizzle-orm';
import type { PostgresJsTransaction } from 'drizzle-orm/postgres-js';
import type { DrizzleClient } from '../connection/drizzle-client.js';
import type { Pool } from '../connection/pool.js';
import type { Tracer } from '@opentelemetry/api';
import type { DatabaseMetrics } from '../metrics/index.js';
import type { TransactionFrame } from './scope.js';

/** A Drizzle transaction handle, as `transaction()` and `getTransaction()` give it. */
export type Transaction<TSchema extends Record<string, unknown> = Record<string, unknown>> = PostgresJsTransaction<
  TSchema,
  ExtractTablesWithRelations<TSchema>
>;

/** PostgreSQL isolation levels. */
export type IsolationLevel = 'read uncommitted' | 'read committed' | 'repeatable read' | 'serializable';

/**
 * How a transaction relates to one already running in the same async context:
 * - `required` (default): join it; open one if there is none;
 * - `requires_new`: always open a separate transaction on another connection;
 * - `nested`: a SAVEPOINT inside the running one (its own rollback), or a new transaction if there is none.
 */
export type Propagation = 'required' | 'requires_new' | 'nested';

/** Retry of serialization failures (40001) and deadlocks (40P01). */
export interface RetryOptions {
  /** Total attempts, the first included. Default 3. */
  attempts?: number;
  /** First backoff in ms; each next one doubles, with full jitter. Default 20. */
  baseDelay?: number;
  /** Backoff cap in ms. Default 1000. */
  maxDelay?: number;
}

/** Options of `transaction()`. */
export interface TransactionOptions {
  propagation?: Propagation;
  isolationLevel?: IsolationLevel;
  /** A read-only transaction; it may run on a replica. Default false. */
  readOnly?: boolean;
  /**
   * Under READ COMMITTED on PostgreSQL, repository reads (by id or by filter object) that come before the
   * transaction's first other statement run outside it, on a shared connection, so a request that only reads holds
   * no connection and sends no BEGIN or COMMIT. They see what they would see inside (each statement takes its own
   * snapshot, and nothing was written yet); `false` runs every statement inside. Default true. See
   * docs/03-transactions.md.
   */
  deferReads?: boolean;
  /** Milliseconds before the transaction is cancelled and rolled back; 0 disables. Default TRANSACTION_TIMEOUT (30000). */
  timeout?: number;
  /** Re-run the whole callback on 40001/40P01: `true` (3 attempts), a number of attempts, or options. Default off. */
  retry?: boolean | number | RetryOptions;
  /** A name for logs and events. */
  name?: string;
  /** The route being served, for logs (set by `Transactional()`). */
  route?: string;
  /**
   * Ends the transaction when aborted, as its deadline would: the running statement is cancelled, the transaction
   * rolls back and the caller gets `TransactionTimeoutError`. Only a transaction this call opens listens to it (one
   * that joins the ambient transaction does not). `Transactional()` passes the request's signal. Default none.
   */
  signal?: AbortSignal;
}

/** What a pool's server gives a transaction that names no level or mode, read when the pool is first reached. @internal */
export interface ServerDefaults {
  /** `default_transaction_isolation` is READ COMMITTED, or READ UNCOMMITTED, which runs as it (docs/adr/0009). */
  readonly readCommitted: boolean;
  /** `default_transaction_isolation` is SERIALIZABLE. */
  readonly serializable: boolean;
  /** `default_transaction_deferrable` is not off: DEFERRABLE cannot mark a block (docs/adr/0011). */
  readonly deferrable: boolean;
}

/** What the transaction runner needs from the database it runs on. @internal */
export interface TransactionHost {
  /** The pool a new transaction takes its connection from. */
  poolFor(readOnly: boolean): Pool;
  /**
   * Builds the Drizzle handle of a transaction or savepoint frame; it runs its statements on the frame's scope and
   * may build its Drizzle session only when first used.
   */
  createHandle(frame: TransactionFrame, nestedIndex: number): Transaction;
  /** TRANSACTION_TIMEOUT. */
  readonly defaultTimeout: number;
  /** What `pool`'s server gives a transaction that names no level or mode (read when the pool was first reached). */
  serverDefaults(pool: Pool): ServerDefaults;
  /** Where transaction counts and durations go. */
  readonly metrics: DatabaseMetrics;
  /** Set when spans are recorded. */
  readonly tracer: Tracer | undefined;
}

export type { DrizzleClient };
