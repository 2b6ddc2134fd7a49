import { randomUUID } from 'node:crypto';
import type { AmbientTransaction, QueryResult, ResultMode, ShapeCounts } from '../context/index.js';
import type { Withdrawal } from '../connection/gate.js';
import type { Pool, PooledConnection, SharedStatement } from '../connection/pool.js';
import { withTimeout } from '../connection/timeout.js';
import { TransactionError, TransactionTimeoutError, findServerError, toDatabaseError } from '../errors/index.js';
import type { Transaction } from './types.js';

type Hook = () => unknown;

/** The random first 24 characters of this process's transaction ids, through the variant's hex digit and a dash. */
let idPrefix = randomUUID().slice(0, 24);
/**
 * The last 12 hex digits: a 48-bit counter from a random start, kept as two 24-bit halves (small integers: `toString(16)`
 * of a number past 2^31 takes V8's slow double-to-radix path, about 0.8 µs an id) and the high half's digits made
 * once per 2^24 ids.
 */
let idHigh = Math.floor(Math.random() * 2 ** 24);
let idLow = Math.floor(Math.random() * 2 ** 24);
let idHead = idPrefix + hex6(idHigh);

/** Six hex digits of a number below 2^24. */
function hex6(n: number): string {
  return (n + 0x1000000).toString(16).slice(1);
}

/**
 * A new transaction id: UUID-shaped (36 characters, version 4 and variant digits), unique in this process and, with
 * 74 random bits per process, across processes. Not `randomUUID()` per transaction: that builds its string from 20
 * pieces (about 600 bytes of garbage per id), and `Transactional()` asks for the id of every request.
 * @internal
 */
export function nextTransactionId(): string {
  if (++idLow === 0x1000000) {
    idLow = 0;
    if (++idHigh === 0x1000000) {
      idHigh = 0;
      idPrefix = randomUUID().slice(0, 24);
    }
    idHead = idPrefix + hex6(idHigh);
  }
  return idHead + hex6(idLow);
}

/**
 * How early a cancelled statement may end and still be the deadline's. The server's statement_timeout starts when
 * the statement reaches it, so it cannot fire before the deadline, but it is set in whole milliseconds.
 */
const DEADLINE_SLACK_MS = 1;

/** Lifecycle of one database transaction. */
export type ScopeState = 'active' | 'timed-out' | 'ending' | 'committed' | 'rolled-back';

/** The server ends an idle-in-transaction session this long after our own deadline, if we could not. */
const BACKSTOP_MARGIN_MS = 2000;
/**
 * Sent right after BEGIN: marks the transaction block (a local setting, gone when it ends). Only a statement inside
 * the same block sees the mark: when BEGIN failed, this ran on its own and its mark ended with it.
 */
const MARK = "set_config('spfn.in_transaction', 'on', true)";
/** The mark and both limits of the transaction, bound: no value is ever part of the SQL text. */
const MARK_AND_TIMEOUTS = `select ${MARK}, set_config('statement_timeout', $1, true), set_config('idle_in_transaction_session_timeout', $2, true)`;
/**
 * Sent after the mark, ahead of the first statement: outside the marked block (BEGIN failed, a cancel from outside
 * landed on it) the session ends itself, so the statement pipelined behind never runs on its own and commits.
 */
const GUARD =
  "select 1 where case when current_setting('spfn.in_transaction', true) = 'on' then false else pg_terminate_backend(pg_backend_pid()) end";

/**
 * The guard and both limits in one statement, for a BEGIN marked DEFERRABLE (docs/adr/0011): inside that block
 * `transaction_deferrable` is on; outside it (BEGIN failed, a cancel from outside landed on it) the statement runs
 * on its own, finds it off and ends the session before setting anything, so the statement pipelined behind never
 * runs on its own and commits. The limits are bound: no value is ever part of the SQL text.
 */
const GUARD_CHECK =
  "case when current_setting('transaction_deferrable') = 'on' then true else pg_terminate_backend(pg_backend_pid()) end";
const GUARDED_TIMEOUTS = `select set_config('statement_timeout', $1, true), set_config('idle_in_transaction_session_timeout', $2, true) where ${GUARD_CHECK}`;
const GUARDED = `select 1 where ${GUARD_CHECK}`;

/**
 * A read run before BEGIN, outside the transaction, until it answers. The pool calls `answered` / `failed` in its own
 * reaction to the statement: no reaction (and promise) of the transaction's own per read.
 */
class DeferredRead implements SharedStatement {
  lane?: SharedStatement['lane'];
  query?: unknown;
  running: Promise<QueryResult> | undefined = undefined;
  readonly #scope: TransactionScope;

  constructor(scope: TransactionScope) {
    this.#scope = scope;
  }

  answered(rows: QueryResult): QueryResult {
    this.#scope.readEnded(this);
    return this.#scope.answeredInTime(rows);
  }

  failed(err: unknown): never {
    this.#scope.readEnded(this);
    return this.#scope.failedInTime(err);
  }
}

/** Where and how a transaction begins, fixed when it is opened. @internal */
export interface ScopeOptions {
  /** The pool its connection is taken from, at its first statement. */
  readonly pool: Pool;
  /**
   * Reads the layer built run outside the transaction until its first other statement (READ COMMITTED on a
   * server pool only; docs/adr/0009).
   */
  readonly deferReads: boolean;
  /** `begin [isolation level …] [read only] [deferrable]`, from a fixed table (never built from a value). */
  readonly begin: string;
  /**
   * BEGIN carries DEFERRABLE as the mark of the block: one guarded statement follows it instead of a mark and a
   * guard (docs/adr/0011).
   */
  readonly marked: boolean;
  readonly timeoutMs: number;
  readonly prepare: boolean;
  readonly name?: string | undefined;
  readonly route?: string | undefined;
}

/**
 * One transaction on one connection: the state every handle of it checks before sending a statement, so that a
 * handle used after a timeout (or after the end) fails instead of running outside the transaction.
 *
 * The transaction begins lazily: nothing is sent, and no connection is taken, until its first statement, which
 * takes a connection and sends BEGIN, the bound timeouts with a mark of the transaction block, a guard that ends the
 * session when the mark is missing (BEGIN failed), and itself in one round trip (postgres.js pipelines statements
 * issued on a reserved connection without waiting). A transaction that runs no statement sends nothing.
 * See docs/adr/0007-lazy-pipelined-begin.md. Reads the layer built that come first may run before BEGIN, outside
 * the transaction ({@link executeRead}, docs/adr/0009-reads-before-the-first-write.md).
 * @internal
 */
export class TransactionScope implements ShapeCounts {
  readonly name: string | undefined;
  /** The repository's N+1 counts for this transaction. */
  shapeCounts: Map<string, number> | undefined = undefined;
  firstShape: string | undefined = undefined;
  firstShapeCount: number | undefined = undefined;
  readonly route: string | undefined;
  readonly timeoutMs: number;
  readonly startedAt = performance.now();
  readonly prepare: boolean;
  /** `performance.now()` past which the transaction may not commit nor run a statement; Infinity without one. */
  readonly deadlineAt: number;
  /**
   * Ends the transaction now, as if its deadline had passed after as long as it ran (an abort signal, a client
   * that went away, shutdown). A method bound to the scope alone: see {@link expire}.
   */
  readonly abort = (): void => this.expire(Math.round(performance.now() - this.startedAt));
  /** The runner's transaction, told when the deadline passes; undefined once its caller's promise settled. */
  owner: { interrupt(err: Error): void } | undefined = undefined;
  #expiredAfter: number | undefined;
  readonly #pool: Pool;
  readonly #deferReads: boolean;
  /** The connection, once the first statement took it. */
  #connection: PooledConnection | undefined;
  /** Lets the first statement's wait for a connection be given up when the transaction ends meanwhile. */
  #withdrawal: Withdrawal | undefined;
  /** Reads run outside the transaction that have not answered yet: the first in a slot, more in a set. */
  #deferredOne: DeferredRead | undefined = undefined;
  #deferred: Set<DeferredRead> | undefined;
  readonly #begin: string;
  readonly #marked: boolean;
  #txId: string | undefined;
  /** Where the transaction is in its life; `'timed-out'` only through {@link expire}. */
  state: ScopeState = 'active';
  #savepoints = 0;
  /**
   * The first statement's connection and BEGIN, while under way (statements started together wait for it).
   */
  #opening: Promise<void> | undefined;
  /** True once BEGIN and the timeouts were answered: statements go straight to the connection. */
  #begun = false;
  /** Why BEGIN or the timeouts failed: the session is in doubt, and no later statement may use it. */
  #failure: Error | undefined;

  constructor(options: ScopeOptions) {
    this.#pool = options.pool;
    this.#deferReads = options.deferReads;
    this.#begin = options.begin;
    this.#marked = options.marked;
    this.timeoutMs = options.timeoutMs;
    this.deadlineAt = options.timeoutMs > 0 ? this.startedAt + options.timeoutMs : Infinity;
    this.prepare = options.prepare;
    this.name = options.name;
    this.route = options.route;
  }

  /** The transaction's id ({@link nextTransactionId}), made on first use (most transactions are never asked). */
  get txId(): string {
    return (this.#txId ??= nextTransactionId());
  }

  /**
   * After how many milliseconds {@link expire} ended the transaction (from then on every statement gets
   * TransactionTimeoutError); undefined while it did not.
   */
  get expiredAfter(): number | undefined {
    return this.#expiredAfter;
  }

  /**
   * The deadline passed (the timer, a statement that found it passed, the server's statement_timeout) or the
   * transaction was aborted: marks it timed out and tells the runner (`owner`), which rolls it back. Once only, and
   * only while it is active. The deadline's state lives here, not in closures of the runner: the scope is reachable
   * from every promise made in the transaction's async context, and a closure over the runner's call would make the
   * caller's callback (and the whole request) reachable from them too, which kept requests alive through
   * young-generation collections (docs/adr/0010).
   */
  expire(afterMs: number): void {
    if (this.state !== 'active') return;
    this.#expiredAfter = afterMs;
    this.state = 'timed-out';
    this.owner?.interrupt(new TransactionTimeoutError(afterMs));
  }

  /** The connection, once the first statement took it and sent BEGIN on it (a transaction on the server to end). */
  get connection(): PooledConnection | undefined {
    return this.#connection;
  }

  /**
   * Waits, at most `ms`, for BEGIN and the timeouts sent with the first statement to be answered. True when they
   * were: every later cancel lands inside the transaction, so the session can be rolled back and kept. False when
   * they failed or did not answer in time (or BEGIN was never sent).
   */
  async opened(ms: number): Promise<boolean> {
    if (this.#begun) return true;
    const opening = this.#opening;
    if (opening === undefined) return false;
    const answered = await withTimeout(opening, ms, () => new Error('BEGIN unanswered')).then(
      () => true,
      () => false,
    );
    return answered && this.#failure === undefined;
  }

  /** True when BEGIN or the timeouts failed: the session may be in any state, so it is closed, never reused. */
  get inDoubt(): boolean {
    return this.#failure !== undefined;
  }

  /** The error of a failed BEGIN, when the callback swallowed it. */
  get failure(): Error | undefined {
    return this.#failure;
  }

  nextSavepoint(): string {
    return `spfn_sp_${++this.#savepoints}`;
  }

  /** The error a statement gets when the transaction can no longer take one; `cause`: the statement's own error. */
  closedError(cause?: unknown): Error {
    return this.#expiredAfter !== undefined
      ? new TransactionTimeoutError(this.timeoutMs, cause === undefined ? {} : { cause })
      : new TransactionError(`Transaction ${this.txId} has already ended; its handle cannot be used any more`);
  }

  /**
   * True once the deadline passed; the first time, while the transaction is still active, it {@link expire}s it —
   * always the way on PGlite, which runs a statement on this thread so no timer fires during it.
   */
  pastDeadline(): boolean {
    if (performance.now() < this.deadlineAt) return false;
    this.expire(this.timeoutMs);
    return true;
  }

  /**
   * True when `err`, thrown by a statement of this transaction, is the deadline's doing: the transaction had timed
   * out already, or the statement was cancelled (57014) at or past the deadline — the server's statement_timeout,
   * which may answer a moment before the runner's timer fires. The first time, it {@link expire}s the
   * transaction, as {@link pastDeadline} does. A cancel before the deadline (another session's `pg_cancel_backend`,
   * the caller's own `SET LOCAL statement_timeout`) is not the deadline's: it stays a QueryTimeoutError.
   */
  endedByDeadline(err: unknown): boolean {
    if (this.#expiredAfter !== undefined) return true;
    if (this.state !== 'active' || findServerError(err)?.code !== '57014') return false;
    if (performance.now() < this.deadlineAt - DEADLINE_SLACK_MS) return false;
    this.expire(this.timeoutMs);
    return true;
  }

  /**
   * Runs one statement in the transaction. Not an async function: it runs for every statement of a transaction, and
   * settles with one reaction on the connection's promise (an async function adds two promises and a turn, each
   * also seen by the AsyncLocalStorage hooks).
   */
  execute = (text: string, params: readonly unknown[], mode: ResultMode, named = false): Promise<QueryResult> => {
    if (this.state !== 'active' || this.pastDeadline()) return Promise.reject(this.closedError());
    const running = this.#begun
      ? this.#connection!.query(text, params, mode, this.prepare && named)
      : this.#first(text, params, mode, named);
    if (this.#answered === undefined) this.#makeReactions();
    return running.then(this.#answered, this.#failed);
  };

  #answered: ((result: QueryResult) => QueryResult) | undefined = undefined;
  #failed: ((err: unknown) => never) | undefined = undefined;

  /**
   * The statements' reactions, made at the first statement (a request whose reads all ran before BEGIN never needs
   * them), each through a constant: a function assigned straight to a property is made in the old generation, where
   * it would keep the transaction's young objects alive after it ended (docs/adr/0013).
   */
  #makeReactions(): void {
    const answered = (result: QueryResult): QueryResult => this.answeredInTime(result);
    const failed = (err: unknown): never => this.failedInTime(err);
    this.#answered = answered;
    this.#failed = failed;
  }

  /**
   * A statement's answer, unless it came after the deadline: it then ran in a transaction that is rolled back (or,
   * read before BEGIN, belongs to one that is), and must not reach the caller, who would go on as if it held.
   * @internal
   */
  answeredInTime(result: QueryResult): QueryResult {
    if (this.pastDeadline()) throw this.closedError();
    return result;
  }

  /**
   * A statement's failure as the caller gets it: the transaction's timeout when the deadline caused it (the
   * statement's own error stays as the cause, typed and sanitized: the driver's error carries the parameters).
   * @internal
   */
  failedInTime(err: unknown): never {
    // Already the transaction's own error (it ended while the statement waited for its connection).
    if (err instanceof TransactionTimeoutError) throw err;
    if (this.endedByDeadline(err)) throw this.closedError(toDatabaseError(err));
    throw err;
  }

  /**
   * A read the layer built (a repository lookup by id or by filter object): while the transaction has sent nothing,
   * it runs outside it, as a plain statement on a shared connection — under READ COMMITTED it sees what it would
   * see inside, since each statement takes its own snapshot and nothing was written yet. Otherwise, and once any
   * other statement started the transaction, it runs inside like every statement.
   */
  executeRead(text: string, params: readonly unknown[], mode: ResultMode, named = false): Promise<QueryResult> {
    if (!this.#deferReads || this.#connection !== undefined || this.#opening !== undefined)
      return this.execute(text, params, mode, named);
    return this.#deferredRead(text, params, mode, named);
  }

  #deferredRead(text: string, params: readonly unknown[], mode: ResultMode, named: boolean): Promise<QueryResult> {
    if (this.state !== 'active' || this.pastDeadline()) return Promise.reject(this.closedError());
    const watch = new DeferredRead(this);
    if (this.#deferredOne === undefined) this.#deferredOne = watch;
    else (this.#deferred ??= new Set()).add(watch);
    const running = this.#pool.query(text, params, mode, this.prepare && named, watch);
    watch.running = running;
    return running;
  }

  /** A deferred read answered or failed (before its outcome is given). @internal */
  readEnded(watch: DeferredRead): void {
    if (this.#deferredOne === watch) this.#deferredOne = undefined;
    else this.#deferred?.delete(watch);
  }

  /**
   * The server's own limits, counted from now to the same deadline as the runner's timer: statement_timeout, and
   * idle_in_transaction_session_timeout a little later as a backstop.
   */
  #limits(): [string, string] {
    const remaining = Math.max(1, Math.ceil(this.deadlineAt - performance.now()));
    return [String(remaining), String(remaining + BACKSTOP_MARGIN_MS)];
  }

  /** The transaction ended before its first statement got a connection: the wait for one is given up. */
  withdraw(): void {
    this.#withdrawal?.withdraw?.();
  }

  /**
   * At the deadline: cancels on the server the reads still running outside the transaction, where that cannot hit
   * another caller's statement (see Pool.cancelShared); resolves once they ended.
   */
  async cancelDeferred(): Promise<void> {
    const deferred = this.#deferredOne === undefined ? [] : [this.#deferredOne];
    if (this.#deferred !== undefined) deferred.push(...this.#deferred);
    if (deferred.length === 0 || this.#pool.cancelShared === undefined) return;
    const pool = this.#pool as Required<Pool>;
    await Promise.all(
      deferred.map((watch) => pool.cancelShared(watch, watch.running?.catch(() => undefined) ?? Promise.resolve())),
    );
  }

  async #first(text: string, params: readonly unknown[], mode: ResultMode, named: boolean): Promise<QueryResult> {
    if (this.#failure !== undefined) throw this.#failure;
    if (this.#opening) {
      // Another statement of this transaction is opening it (statements started together): run after its BEGIN.
      await this.#opening;
      if (this.state !== 'active') throw this.closedError();
      return this.#connection!.query(text, params, mode, this.prepare && named);
    }
    let opened!: () => void;
    let failed!: (err: unknown) => void;
    const opening = new Promise<void>((resolve, reject) => {
      opened = resolve;
      failed = reject;
    });
    // Rejections reach the statements waiting on it; one with none waiting is not unhandled.
    opening.catch(() => undefined);
    this.#opening = opening;
    let connection: PooledConnection;
    const withdrawal: Withdrawal = {};
    this.#withdrawal = withdrawal;
    try {
      connection = await this.#pool.reserve(withdrawal);
    } catch (err) {
      // Nothing began: a later statement may try again. A wait given up because the transaction ended is that.
      this.#opening = undefined;
      const reason = this.state === 'active' ? err : this.closedError();
      failed(reason);
      throw reason;
    } finally {
      this.#withdrawal = undefined;
    }
    if (this.state !== 'active' || this.pastDeadline()) {
      // The transaction ended (its deadline, its callback returned) while the connection was on its way.
      connection.release();
      this.#opening = undefined;
      const err = this.closedError();
      failed(err);
      throw err;
    }
    this.#connection = connection;
    const begin = connection.query(this.#begin, [], 'array', this.prepare);
    // A cancel from outside can make BEGIN fail while everything behind it, each with its own Sync, still runs: the
    // guard ends the session then. With BEGIN marked DEFERRABLE it is the statement that sets the limits; otherwise
    // that statement sets a mark in the block and a second one checks it.
    const timed = this.timeoutMs > 0;
    const limits = timed ? this.#limits() : [];
    const after = this.#marked ? (timed ? GUARDED_TIMEOUTS : GUARDED) : timed ? MARK_AND_TIMEOUTS : `select ${MARK}`;
    const sent = [begin, connection.query(after, limits, 'array', this.prepare)];
    if (!this.#marked) sent.push(connection.query(GUARD, [], 'array', this.prepare));
    const answers = Promise.all(sent);
    const statement = connection.query(text, params, mode, this.prepare && named);
    try {
      await answers;
    } catch (err) {
      // The statement was sent behind BEGIN: the guard ended the session if BEGIN failed, but a second cancel that
      // lands on the guard lets it run on its own (docs/adr/0007). Its result is not given, and the session is
      // ended rather than trusted (the runner destroys it).
      this.#failure = err instanceof Error ? err : new Error(String(err));
      statement.catch(() => undefined);
      failed(err);
      throw err;
    }
    this.#begun = true;
    this.#opening = undefined;
    opened();
    return statement;
  }
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

  /**
   * Drops the callbacks once the transaction ended (they ran, or were handed to the parent frame). Promises made
   * in the transaction's async context keep the frame reachable until the garbage collector finds them dead, which
   * for promises it moved to the old generation is late: callbacks (and the request they close over) kept that
   * long survive young-generation collections and cost far more to collect.
   */
  detach(ended: boolean): void {
    this.commitHooks.length = 0;
    this.rollbackHooks.length = 0;
    // An ended transaction's statements fail on the scope; its handle (a Drizzle database, ~1.5 KB) is kept by
    // whoever holds it, not by the context. A savepoint's handle stays: its transaction goes on.
    if (ended) this.handle = undefined as unknown as Transaction;
  }

  execute(text: string, params: readonly unknown[], mode: ResultMode, named?: boolean): Promise<QueryResult> {
    return this.scope.execute(text, params, mode, named);
  }

  executeRead(text: string, params: readonly unknown[], mode: ResultMode, named?: boolean): Promise<QueryResult> {
    return this.scope.executeRead(text, params, mode, named);
  }
}
