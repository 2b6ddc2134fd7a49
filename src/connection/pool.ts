import type { PoolCounts } from '../errors/index.js';
import type { QueryResult, ResultMode } from '../context/index.js';
import type { Lane, Withdrawal } from './gate.js';

/** Who a pool serves. */
export type PoolRole = 'primary' | 'replica' | 'embedded';

/**
 * One connection held exclusively (by a transaction, a migration…). Statements run in order.
 * @internal
 */
export interface PooledConnection {
  query(text: string, params: readonly unknown[], mode: ResultMode, prepare: boolean): Promise<QueryResult>;
  /** Runs several statements in one round trip (simple protocol; no parameters). */
  script(text: string): Promise<void>;
  /** Cancels the statements running or queued on this connection; resolves once the server got the request. */
  cancel(): Promise<void>;
  /** Returns the connection to the pool; it must be idle and outside any transaction. */
  release(): void;
  /** Closes the server session (used when the connection cannot be returned clean), then releases. */
  destroy(): Promise<void>;
}

/**
 * Where a plain statement went, filled in by the pool when it sends it, so that it can be cancelled later (a
 * transaction's deferred read at the deadline, docs/adr/0009).
 * @internal
 */
export interface SharedStatement {
  /** The connection slot it was sent on. */
  lane?: Lane;
  /** The driver's query. */
  query?: unknown;
  /**
   * Called in the pool's own reaction to the statement's answer: what it returns (or throws) is the statement's
   * outcome. Saves the caller a reaction (and a promise) of its own.
   */
  answered?(rows: QueryResult): QueryResult;
  /** Called in the pool's own reaction to the statement's failure; throws the statement's outcome. */
  failed?(err: unknown): never;
}

/**
 * A statement's failure as its caller gets it: through the watch's `failed` when it has one (which throws the
 * outcome), else unchanged. Used by the pools in each of their failure paths.
 * @internal
 */
export function failStatement(watch: SharedStatement | undefined, err: unknown): never {
  if (watch?.failed !== undefined) watch.failed(err);
  throw err;
}

/**
 * A pool of connections to one server (the primary, one replica, or the embedded database).
 * @internal
 */
export interface Pool {
  /** `primary`, `replica:0`, … or `embedded`. */
  readonly name: string;
  readonly role: PoolRole;
  /** The URL without its password, for logs and events. */
  readonly displayUrl: string;
  /**
   * Runs one statement on any free connection; `watch`, when given, is told where it went (see cancelShared) and
   * its `answered` / `failed` give the outcome.
   */
  query(
    text: string,
    params: readonly unknown[],
    mode: ResultMode,
    prepare: boolean,
    watch?: SharedStatement,
  ): Promise<QueryResult>;
  /**
   * Cancels on the server a statement sent with a `watch`, when no other statement shares its connection; resolves
   * once the request landed and the statement ended (false: not cancelled). Pools that cannot cancel lack it.
   */
  cancelShared?(watch: SharedStatement, settled: Promise<unknown>): Promise<boolean>;
  /**
   * Takes one connection exclusively, or fails with PoolTimeoutError after the acquire timeout. While it waits,
   * `withdrawal.withdraw()` gives the wait up (it then rejects).
   */
  reserve(withdrawal?: Withdrawal): Promise<PooledConnection>;
  /** One round trip, bounded by `timeoutMs`. */
  ping(timeoutMs: number): Promise<void>;
  /**
   * One round trip on a short-lived connection of its own (the health check), so the answer measures the server
   * and not this pool's queue. Pools without one fall back to `ping`.
   */
  probe?(timeoutMs: number): Promise<void>;
  counts(): PoolCounts;
  /**
   * Drops every connection (statements running on them fail with ConnectionError) so the next statement opens a
   * new one. Used by the health check to reconnect a pool whose server stopped answering.
   */
  reset?(): Promise<void>;
  /** Ends every connection; waits at most `timeoutMs`, then drops them. Safe to call twice. */
  close(timeoutMs: number): Promise<void>;
}
