import { randomUUID } from 'node:crypto';
import type { AmbientTransaction, QueryResult, ResultMode } from '../context/index.js';
import type { PooledConnection } from '../connection/pool.js';
import { TransactionError, TransactionTimeoutError, findServerError, toDatabaseError } from '../errors/index.js';
import type { Transaction } from './types.js';

type Hook = () => unknown;

/**
 * How early a cancelled statement may end and still be the deadline's. The server's statement_timeout starts when
 * the statement reaches it, so it cannot fire before the deadline, but it is set in whole milliseconds.
 */
const DEADLINE_SLACK_MS = 1;

/** Lifecycle of one database transaction. */
export type ScopeState = 'active' | 'timed-out' | 'ending' | 'committed' | 'rolled-back';

/**
 * One transaction on one connection: the state every handle of it checks before sending a statement, so that a
 * handle used after a timeout (or after the end) fails instead of running outside the transaction.
 * @internal
 */
export class TransactionScope {
  readonly txId: string;
  readonly name: string | undefined;
  readonly route: string | undefined;
  readonly timeoutMs: number;
  readonly startedAt = performance.now();
  readonly connection: PooledConnection;
  readonly prepare: boolean;
  /** `performance.now()` past which the transaction may not commit nor run a statement; Infinity without one. */
  readonly deadlineAt: number;
  /**
   * Called (once, by {@link pastDeadline}) when a statement finds the deadline passed before the timer fired —
   * always the case on PGlite, which runs a statement on this thread so no timer fires during it. The runner
   * rolls back as on a timer.
   */
  onDeadline: (() => void) | undefined;
  #state: ScopeState = 'active';
  #timedOut = false;
  #savepoints = 0;

  constructor(connection: PooledConnection, timeoutMs: number, prepare: boolean, name?: string, route?: string) {
    this.txId = randomUUID();
    this.connection = connection;
    this.timeoutMs = timeoutMs;
    this.deadlineAt = timeoutMs > 0 ? this.startedAt + timeoutMs : Infinity;
    this.prepare = prepare;
    this.name = name;
    this.route = route;
  }

  get state(): ScopeState {
    return this.#state;
  }

  set state(next: ScopeState) {
    if (next === 'timed-out') this.#timedOut = true;
    this.#state = next;
  }

  /** True once the deadline passed: every later statement gets TransactionTimeoutError. */
  get timedOut(): boolean {
    return this.#timedOut;
  }

  nextSavepoint(): string {
    return `spfn_sp_${++this.#savepoints}`;
  }

  /** The error a statement gets when the transaction can no longer take one; `cause`: the statement's own error. */
  closedError(cause?: unknown): Error {
    return this.#timedOut
      ? new TransactionTimeoutError(this.timeoutMs, cause === undefined ? {} : { cause })
      : new TransactionError(`Transaction ${this.txId} has already ended; its handle cannot be used any more`);
  }

  /**
   * True once the deadline passed; the first time, while the transaction is still active, it hands over to the
   * runner's `onDeadline` (which marks it timed out and rolls it back).
   */
  pastDeadline(): boolean {
    if (performance.now() < this.deadlineAt) return false;
    if (this.#state === 'active') this.onDeadline?.();
    return true;
  }

  /**
   * True when `err`, thrown by a statement of this transaction, is the deadline's doing: the transaction had timed
   * out already, or the statement was cancelled (57014) at or past the deadline — the server's statement_timeout,
   * which may answer a moment before the runner's timer fires. The first time, it hands over to `onDeadline`, as
   * {@link pastDeadline} does. A cancel before the deadline (another session's `pg_cancel_backend`, the caller's
   * own `SET LOCAL statement_timeout`) is not the deadline's: it stays a QueryTimeoutError.
   */
  endedByDeadline(err: unknown): boolean {
    if (this.#timedOut) return true;
    if (this.#state !== 'active' || findServerError(err)?.code !== '57014') return false;
    if (performance.now() < this.deadlineAt - DEADLINE_SLACK_MS) return false;
    this.onDeadline?.();
    if (this.#state === 'active') this.state = 'timed-out';
    return true;
  }

  execute = async (text: string, params: readonly unknown[], mode: ResultMode): Promise<QueryResult> => {
    if (this.#state !== 'active' || this.pastDeadline()) throw this.closedError();
    let result: QueryResult;
    try {
      result = await this.connection.query(text, params, mode, this.prepare);
    } catch (err) {
      // The caller gets the transaction's timeout, not the statement's cancel that the deadline caused.
      // Its own error stays as the cause, typed and sanitized (the driver's error carries the parameters).
      if (this.endedByDeadline(err)) throw this.closedError(toDatabaseError(err));
      throw err;
    }
    // A statement that returned after the deadline ran in a transaction that is now rolled back: its result
    // must not reach the caller, who would go on as if it had been written.
    if (this.pastDeadline()) throw this.closedError();
    return result;
  };
}

/**
 * One level of a transaction: the outermost one or a savepoint. It is what the async context carries, and it
 * holds the callbacks registered with onCommit/onRollback at that level.
 * @internal
 */
export class TransactionFrame implements AmbientTransaction {
  readonly scope: TransactionScope;
  readonly parent: TransactionFrame | undefined;
  handle!: Transaction;
  readonly commitHooks: Hook[] = [];
  readonly rollbackHooks: Hook[] = [];

  constructor(scope: TransactionScope, parent?: TransactionFrame) {
    this.scope = scope;
    this.parent = parent;
  }

  get txId(): string {
    return this.scope.txId;
  }

  execute(text: string, params: readonly unknown[], mode: ResultMode): Promise<QueryResult> {
    return this.scope.execute(text, params, mode);
  }
}
