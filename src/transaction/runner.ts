import { DrizzleQueryError } from 'drizzle-orm';
import { ambient, type AmbientStore } from '../context/index.js';
import type { DrizzleClient, TransactionHooks } from '../connection/drizzle-client.js';
import type { Pool, PooledConnection } from '../connection/pool.js';
import { delay, withTimeout } from '../connection/timeout.js';
import {
  DatabaseError,
  DeadlockError,
  SerializationError,
  TransactionError,
  TransactionTimeoutError,
  findServerError,
  toDatabaseError,
} from '../errors/index.js';
import { dbEvents } from '../events/index.js';
import { logger } from '../logger/index.js';
import { traceTransaction } from '../tracing/index.js';
import type { Span } from '@opentelemetry/api';
import { ISOLATION_LEVELS } from './options.js';
import { TransactionFrame, TransactionScope } from './scope.js';
import { frameOf, registerHandle } from './handles.js';
import { running, type RunningEntry } from './running.js';
import type {
  IsolationLevel,
  RetryOptions,
  ServerDefaults,
  Transaction,
  TransactionHost,
  TransactionOptions,
} from './types.js';

const log = logger.child('transaction');
/**
 * BEGIN for each isolation level and access mode, plain and marked DEFERRABLE (the mark the first statement's guard
 * checks, docs/adr/0011): fixed text, never built from a value. Index: read only + 2 × marked.
 */
const BEGIN = new Map<IsolationLevel | undefined, readonly [string, string, string, string]>(
  [undefined, ...ISOLATION_LEVELS].map((level) => {
    const base = level === undefined ? 'begin' : `begin isolation level ${level}`;
    return [
      level as IsolationLevel | undefined,
      [base, `${base} read only`, `${base} deferrable`, `${base} read only deferrable`],
    ] as const;
  }),
);
const END_TIMEOUT_MS = 5000;
/** How long a timed-out transaction waits for its pipelined BEGIN to be answered before ending the session. */
const OPENING_WAIT_MS = 2000;

/**
 * Another way than an AbortSignal to end a transaction from outside (`Transactional()` on `@hono/node-server`
 * listens to the response's `close` event, which costs no AbortController per request): called with the abort
 * function when the transaction starts. Its listener may outlive the transaction: an ended transaction ignores its
 * abort. @internal
 */
export type AbortWatch = (abort: () => void) => void;

/** What one `Transactional()` middleware reports with, fixed when its first request comes. @internal */
export interface RequestReport {
  /** Over this many milliseconds the transaction is emitted as `transaction:slow` (and logged when `logging`). */
  slowThreshold: number;
  /** Commits and rollbacks logged at debug, slow transactions at warn. */
  readonly logging: boolean;
}

/**
 * What `Transactional()` hands the runner for one request, so that the middleware needs no promise of its own:
 * the runner checks the handler's recorded error, reports and logs the outcome, and settles with undefined. @internal
 */
export interface RequestBinding {
  /** Listens for the client going away; undefined when the request's abort signal is used (or nothing is). */
  readonly watch: AbortWatch | undefined;
  /**
   * The request's context: when the callback resolved with `error` set (Hono recorded a handler error), the
   * transaction rolls back and settles with undefined, leaving the answer to Hono.
   */
  readonly context: { readonly error?: unknown };
  readonly report: RequestReport;
}

/** Thrown inside the transaction so that it rolls back when Hono recorded a handler error. */
class HandlerFailed extends Error {}

/** A traced request's transaction that rolled back for a handler error settles with undefined, as untraced. */
function handlerFailedSettles<T>(err: unknown): T {
  if (err instanceof HandlerFailed) return undefined as T;
  throw err;
}

/** The frame of the ambient transaction, if any. @internal */
export function currentFrame(store: AmbientStore | undefined = ambient.getStore()): TransactionFrame | undefined {
  const tx = store?.tx;
  return tx instanceof TransactionFrame ? tx : undefined;
}

/**
 * Runs `fn` per `options.propagation`: joins the ambient transaction, opens a savepoint in it, or opens a new
 * transaction (retrying serialization failures and deadlocks when asked, as the outermost owner only).
 * @internal
 */
export function runTransaction<T>(
  host: TransactionHost,
  prepare: boolean,
  fn: (tx: Transaction) => Promise<T> | T,
  options: TransactionOptions = {},
  request?: RequestBinding,
): Promise<T> {
  const propagation = options.propagation ?? 'required';
  const frame = currentFrame();
  if (frame && frame.scope.state === 'active') {
    if (propagation === 'required') return callSafely(fn, frame.handle);
    if (propagation === 'nested') return runSavepoint(host, frame, fn);
  }
  const run: NewTransaction<T> = { host, prepare, fn, options, span: undefined, request };
  const tracer = host.tracer;
  if (!tracer) return runWithRetries(run);
  const info = {
    name: options.name,
    route: options.route,
    isolationLevel: options.isolationLevel,
    readOnly: options.readOnly === true,
  };
  const traced = traceTransaction(tracer, info, (span) => runWithRetries({ ...run, span }));
  return request === undefined ? traced : traced.catch(handlerFailedSettles<T>);
}

/** What opening one new transaction needs, passed down as one object. */
interface NewTransaction<T> {
  readonly host: TransactionHost;
  readonly prepare: boolean;
  readonly fn: (tx: Transaction) => Promise<T> | T;
  readonly options: TransactionOptions;
  readonly span: Span | undefined;
  readonly request: RequestBinding | undefined;
}

function runWithRetries<T>(run: NewTransaction<T>): Promise<T> {
  const retry = run.options.retry;
  return retry === undefined || retry === false ? runNew(run) : retrying(run);
}

async function retrying<T>(run: NewTransaction<T>): Promise<T> {
  const { host, options, span } = run;
  const retry = retryPolicy(options.retry);
  for (let attempt = 1; ; attempt++) {
    try {
      return await runNew(run);
    } catch (err) {
      if (attempt >= retry.attempts || !(err instanceof SerializationError || err instanceof DeadlockError)) throw err;
      const backoff = Math.min(retry.maxDelay, retry.baseDelay * 2 ** (attempt - 1));
      log.debug({ attempt, code: err.code, name: options.name }, 'retrying transaction');
      host.metrics.transactionRetry();
      span?.setAttribute('spfn.transaction.retries', attempt);
      span?.addEvent('retry', { attempt, 'error.type': err.sqlState ?? err.code });
      await delay(Math.random() * backoff);
    }
  }
}

function retryPolicy(retry: TransactionOptions['retry']): Required<RetryOptions> {
  const base = { attempts: 1, baseDelay: 20, maxDelay: 1000 };
  if (retry === undefined || retry === false) return base;
  if (retry === true) return { ...base, attempts: 3 };
  if (typeof retry === 'number') return { ...base, attempts: Math.max(1, Math.floor(retry)) };
  return { attempts: retry.attempts ?? 3, baseDelay: retry.baseDelay ?? 20, maxDelay: retry.maxDelay ?? 1000 };
}

function beginSql(options: TransactionOptions, marked: boolean): string {
  const begin = BEGIN.get(options.isolationLevel);
  if (begin === undefined) throw new TransactionError(`Unknown isolation level "${String(options.isolationLevel)}"`);
  return begin[(options.readOnly ? 1 : 0) + (marked ? 2 : 0)]!;
}

/**
 * Whether BEGIN may carry DEFERRABLE as the mark of the transaction block (docs/adr/0011): it changes nothing
 * unless the transaction is SERIALIZABLE and READ ONLY (there it waits for a safe snapshot), and it marks nothing
 * when the server makes every transaction deferrable.
 */
function deferrableMark(defaults: ServerDefaults, options: TransactionOptions): boolean {
  if (defaults.deferrable) return false;
  if (options.readOnly !== true) return true;
  const level = options.isolationLevel;
  return level === undefined ? !defaults.serializable : level !== 'serializable';
}

/** Errors from the database become typed errors; the caller's own errors pass through unchanged. */
function mapError(err: unknown): unknown {
  if (err instanceof DatabaseError) return err;
  if (err instanceof DrizzleQueryError || findServerError(err)) return toDatabaseError(err);
  return err;
}

/**
 * Opens a new transaction and runs the callback in it. Not an async function: it runs for every request under
 * `Transactional()`, and an async function's frame, its awaits and its promise cost more than the transaction's
 * own state (docs/adr/0010). The caller's promise settles with the callback (after COMMIT when a statement ran) or
 * with the deadline (timer, abort signal, shutdown), whichever comes first; the callback may still be running after
 * a timeout, and its later failure must not surface.
 */
function runNew<T>(run: NewTransaction<T>): Promise<T> {
  let open: OpenTransaction<T>;
  try {
    open = new OpenTransaction(run);
  } catch (err) {
    // What the setup threw (the database not initialized, an unknown isolation level), as an async function would.
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
    return Promise.reject(err);
  }
  return new Promise<T>((resolve, reject) => open.start(run.fn, resolve, reject));
}

/** One outermost transaction from its start until its caller's promise settled. */
class OpenTransaction<T> {
  readonly #host: TransactionHost;
  readonly #scope: TransactionScope;
  readonly #frame: TransactionFrame;
  readonly #store: AmbientStore;
  readonly #request: RequestBinding | undefined;
  readonly #span: Span | undefined;
  readonly #signal: AbortSignal | undefined;
  readonly #entry: RunningEntry;
  #resolve: ((value: T) => void) | undefined = undefined;
  #reject: ((err: unknown) => void) | undefined = undefined;
  /** The callback's outcome or the deadline came: whichever came second is ignored. */
  #ending = false;
  #done = false;

  constructor(run: NewTransaction<unknown>) {
    const { host, prepare, options } = run;
    const pool: Pool = host.poolFor(options.readOnly === true);
    const defaults = host.serverDefaults(pool);
    const marked = deferrableMark(defaults, options);
    const begin = beginSql(options, marked);
    const timeoutMs = options.timeout ?? host.defaultTimeout;
    // Nothing is sent and no connection is taken here: the first statement does both (scope.ts).
    const scope = new TransactionScope({
      pool,
      begin,
      marked,
      deferReads: deferReads(defaults, pool, options),
      timeoutMs,
      prepare,
      name: options.name,
      route: options.route,
    });
    if (run.span) run.span.setAttribute('spfn.transaction.id', scope.txId);
    const frame = newFrame(host, scope, undefined, 0);
    if (dbEvents.has('transaction:start')) {
      dbEvents.emit('transaction:start', {
        txId: scope.txId,
        name: scope.name,
        isolationLevel: options.isolationLevel,
        readOnly: options.readOnly === true,
      });
    }
    const outer = ambient.getStore();
    this.#host = host;
    this.#scope = scope;
    this.#frame = frame;
    this.#store = { tx: frame, session: outer?.session, route: options.route ?? outer?.route };
    this.#request = run.request;
    this.#span = run.span;
    // Its deadline is watched from now on (running.ts: one timer per timeout value, not one per transaction).
    this.#entry = running.add(scope);
    this.#signal = options.signal;
    this.#signal?.addEventListener('abort', scope.abort);
  }

  /** Runs the callback in the transaction's async context; the caller's promise is settled through `resolve`. */
  start(fn: (tx: Transaction) => Promise<T> | T, resolve: (value: T) => void, reject: (err: unknown) => void): void {
    this.#resolve = resolve;
    this.#reject = reject;
    const scope = this.#scope;
    scope.owner = this;
    // A watch may call abort at once (the client is gone already): the interrupt is set by then.
    this.#request?.watch?.(scope.abort);
    if (this.#signal?.aborted) scope.abort();
    if (scope.state !== 'active') return;
    ambient.run(this.#store, runCallback, this, fn, this.#frame.handle);
  }

  /** The deadline passed (TransactionScope.expire): rolls back now, whatever the callback is doing. */
  interrupt(err: Error): void {
    this.failed(err);
  }

  /** The callback returned or resolved. */
  settled(result: T): void {
    if (this.#ending) return;
    this.#ending = true;
    try {
      this.#end(result);
    } catch (err) {
      this.#rejectWith(err);
    }
  }

  /** The callback threw or rejected, or the deadline passed: rolls back, unless the callback's outcome came first. */
  failed(err: unknown): void {
    if (this.#ending) return;
    this.#ending = true;
    void this.#rollback(err);
  }

  #end(result: T): void {
    const scope = this.#scope;
    // Past the deadline nothing commits, even when the timer could not fire in time (PGlite, a blocked loop).
    if (scope.state !== 'active' || scope.pastDeadline()) return void this.#rollback(scope.closedError());
    const request = this.#request;
    if (request !== undefined && request.context.error !== undefined) return void this.#rollback(new HandlerFailed());
    scope.state = 'ending';
    const failure = scope.failure;
    if (failure) return void this.#rollback(failure);
    const connection = scope.connection;
    const value = request === undefined ? result : (undefined as T);
    if (connection === undefined) {
      // No statement ran in it (reads may have run before it): there is no transaction on the server to commit.
      scope.withdraw();
      scope.state = 'committed';
      finish(this.#host, this.#frame, 'commit', request);
      this.#resolveWith(value);
      return;
    }
    void this.#commit(connection, value);
  }

  async #commit(connection: PooledConnection, value: T): Promise<void> {
    const scope = this.#scope;
    try {
      // Prepared by name, as BEGIN is: after its first use on a connection only Bind and Execute go out.
      await withTimeout(
        connection.query('commit', [], 'array', scope.prepare),
        END_TIMEOUT_MS,
        () => new TransactionError('COMMIT did not answer in time'),
      );
    } catch (err) {
      // A COMMIT the server refused (40001 under SERIALIZABLE, a deferred constraint) ended the transaction and
      // left the connection clean; anything else (no answer, a broken socket) leaves it in doubt.
      try {
        if (sessionSurvives(err)) connection.release();
        else await connection.destroy();
        scope.state = 'rolled-back';
        const mapped = mapError(err);
        finish(this.#host, this.#frame, 'rollback', this.#request, err, false, mapped);
        this.#rejectWith(mapped);
      } catch (unexpected) {
        this.#rejectWith(unexpected);
      }
      return;
    }
    try {
      connection.release();
      scope.state = 'committed';
      finish(this.#host, this.#frame, 'commit', this.#request);
      this.#resolveWith(value);
    } catch (unexpected) {
      this.#rejectWith(unexpected);
    }
  }

  async #rollback(err: unknown): Promise<void> {
    const scope = this.#scope;
    try {
      // The server's own statement_timeout can end a statement a moment before our timer: that expires the scope.
      scope.endedByDeadline(err);
      const expiredAfter = scope.expiredAfter;
      const timedOut = expiredAfter !== undefined;
      if (scope.state === 'active' || scope.state === 'timed-out') scope.state = 'ending';
      // Reads run before BEGIN and still running are cancelled too (where that is safe; see cancelDeferred).
      const deferred = timedOut ? scope.cancelDeferred() : undefined;
      const connection = scope.connection;
      if (connection === undefined) {
        // A transaction that ran no statement has nothing on the server; a first statement still waiting for a
        // connection gives the wait up.
        scope.withdraw();
      } else if (scope.inDoubt || (timedOut && !(await scope.opened(OPENING_WAIT_MS)))) {
        // Cancelling while BEGIN is unanswered could cancel BEGIN itself and let the statement pipelined behind it
        // run (and commit) on its own. BEGIN's answer is awaited (it is usually a moment away: a fresh connection
        // still opening, a statement just sent); when it fails or does not come, the session is ended instead,
        // which rolls back whatever it began. Ending every such session would make each short-deadline
        // transaction on a fresh connection end it again, and reconnect, until the server runs out of connection
        // slots.
        await connection.destroy();
      } else {
        if (timedOut) await connection.cancel();
        await rollback(connection);
      }
      await deferred;
      scope.state = 'rolled-back';
      const thrown = timedOut ? new TransactionTimeoutError(expiredAfter) : mapError(err);
      finish(this.#host, this.#frame, 'rollback', this.#request, err, timedOut, thrown);
      // A handler error Hono recorded is Hono's to answer: the transaction rolled back, and the middleware is done
      // (under a span it settles once the span recorded the rollback, in runTransaction).
      if (thrown instanceof HandlerFailed && this.#span === undefined) this.#resolveWith(undefined as T);
      else this.#rejectWith(thrown);
    } catch (unexpected) {
      this.#rejectWith(unexpected);
    }
  }

  #resolveWith(value: T): void {
    const resolve = this.#resolve;
    if (this.#release()) resolve!(value);
  }

  #rejectWith(err: unknown): void {
    const reject = this.#reject;
    if (this.#release()) reject!(err);
  }

  /** Lets go of everything the transaction held, before its caller's promise settles; false when it did already. */
  #release(): boolean {
    if (this.#done) return false;
    this.#done = true;
    const scope = this.#scope;
    running.remove(this.#entry);
    this.#signal?.removeEventListener('abort', scope.abort);
    // The async context keeps the frame (and so the scope) for as long as any promise made in the callback lives,
    // and the garbage collector learns late that old promises are dead: the scope must not keep this transaction
    // (whose caller's promise reaches the callback and the whole request). See detach().
    scope.owner = undefined;
    this.#frame.detach(true);
    this.#resolve = this.#reject = undefined;
    return true;
  }
}

/**
 * Calls the callback in the transaction's async context and settles `open` with what it returns. The callback's
 * `then` is called in that context too: a Drizzle query is a thenable that runs its statement when `then` is called.
 * A function of its own, so that its two reactions close over `open` alone, not over the runner's state.
 */
function runCallback<T>(open: OpenTransaction<T>, fn: (tx: Transaction) => Promise<T> | T, tx: Transaction): void {
  let returned: Promise<T> | T;
  try {
    returned = fn(tx);
  } catch (err) {
    // The callback's own error, unchanged (whatever it threw), as an async callback's rejection would be.
    open.failed(err);
    return;
  }
  if (!isThenable(returned)) {
    open.settled(returned);
    return;
  }
  try {
    returned.then(
      (value) => open.settled(value),
      (err: unknown) => open.failed(err),
    );
  } catch (err) {
    // A thenable whose `then` threw.
    open.failed(err);
  }
}

/**
 * A frame with its Drizzle handle. Made here, not in the runner's functions: a closure keeps every variable its
 * function's other closures use, and the handle (kept by the async context) must not reach the caller's callback.
 */
function newFrame(
  host: TransactionHost,
  scope: TransactionScope,
  parent: TransactionFrame | undefined,
  nestedIndex: number,
): TransactionFrame {
  const frame = new TransactionFrame(scope, parent);
  frame.handle = host.createHandle(frame, nestedIndex);
  registerHandle(frame);
  return frame;
}

/** The savepoint hook of each host's handles, made once: it finds the frame from the handle's client. */
const HOOKS = new WeakMap<TransactionHost, TransactionHooks>();

/** What the clients of a host's transaction handles call for `tx.transaction(…)` (a savepoint). @internal */
export function transactionHooks(host: TransactionHost): TransactionHooks {
  let hooks = HOOKS.get(host);
  if (hooks === undefined) {
    hooks = {
      savepoint: (callback, client) => {
        const frame = frameOf(client);
        if (frame === undefined) return Promise.reject(new TransactionError('savepoints need a transaction'));
        return savepointCallback(host, frame, callback);
      },
    };
    HOOKS.set(host, hooks);
  }
  return hooks;
}

/**
 * Whether reads the layer built may run before BEGIN (docs/adr/0009): asked for (the default), on a server pool
 * (the embedded database has one session), under READ COMMITTED — named, or the server's default when none is.
 */
function deferReads(defaults: ServerDefaults, pool: Pool, options: TransactionOptions): boolean {
  if (options.deferReads === false || pool.role === 'embedded' || pool.cancelShared === undefined) return false;
  const level = options.isolationLevel;
  // PostgreSQL runs READ UNCOMMITTED as READ COMMITTED.
  if (level === undefined) return defaults.readCommitted;
  return level === 'read committed' || level === 'read uncommitted';
}

function isThenable<T>(value: Promise<T> | T): value is Promise<T> {
  return typeof (value as { then?: unknown } | null | undefined)?.then === 'function';
}

/** Calls `fn` now; a synchronous throw becomes a rejection with the caller's error unchanged. */
function callSafely<T>(fn: (tx: Transaction) => Promise<T> | T, tx: Transaction): Promise<T> {
  return new Promise<T>((resolve) => resolve(fn(tx)));
}

/**
 * Ends every running outermost transaction now, as if its deadline had passed: the running statement is
 * cancelled, the transaction rolls back and its caller gets TransactionTimeoutError. Used by graceful shutdown
 * once the grace period is over. Returns how many were aborted.
 * @internal
 */
export function abortRunningTransactions(): number {
  const all = running.all();
  all.forEach((scope) => scope.abort());
  return all.length;
}

/** True when the server answered with an ordinary error: the session is intact and outside any transaction. */
function sessionSurvives(err: unknown): boolean {
  const server = findServerError(err);
  if (!server) return false;
  if (server.severity === 'FATAL' || server.severity === 'PANIC') return false;
  return !server.code.startsWith('08') && !server.code.startsWith('57P');
}

async function rollback(connection: PooledConnection): Promise<void> {
  try {
    await withTimeout(
      connection.query('rollback', [], 'array', false),
      END_TIMEOUT_MS,
      () => new TransactionError('ROLLBACK did not answer in time'),
    );
    connection.release();
  } catch (err) {
    log.warn({ err: toDatabaseError(err) }, 'rollback failed; closing the connection');
    await connection.destroy();
  }
}

/**
 * Records the outcome (metrics, events, a request's report) and runs the hooks. `err`: what ended the transaction;
 * `thrown`: what its caller gets.
 */
function finish(
  host: TransactionHost,
  frame: TransactionFrame,
  outcome: 'commit' | 'rollback',
  request: RequestBinding | undefined,
  err?: unknown,
  timedOut = false,
  thrown?: unknown,
): void {
  const { scope } = frame;
  const durationMs = performance.now() - scope.startedAt;
  host.metrics.transaction(outcome, durationMs / 1000, timedOut);
  if (request !== undefined) reportRequest(request.report, scope, outcome, durationMs, thrown);
  if (outcome === 'commit') {
    if (dbEvents.has('transaction:commit')) {
      dbEvents.emit('transaction:commit', { txId: scope.txId, name: scope.name, durationMs });
    }
    runHooks(frame.commitHooks, 'onCommit');
  } else {
    if (dbEvents.has('transaction:rollback')) {
      const mapped = err === undefined ? undefined : mapError(err);
      dbEvents.emit('transaction:rollback', {
        txId: scope.txId,
        name: scope.name,
        durationMs,
        reason: timedOut ? 'timeout' : 'error',
        error: mapped instanceof DatabaseError ? mapped.code : mapped instanceof Error ? mapped.name : undefined,
      });
    }
    runHooks(frame.rollbackHooks, 'onRollback');
  }
}

/** A `Transactional()` request's outcome: logged at debug when asked, and reported when slow. */
function reportRequest(
  report: RequestReport,
  scope: TransactionScope,
  outcome: 'commit' | 'rollback',
  durationMs: number,
  err: unknown,
): void {
  const route = scope.route;
  if (report.logging && log.isLevelEnabled('debug')) {
    const txId = scope.txId;
    if (outcome === 'commit') log.debug({ txId, route }, 'transaction committed');
    else if (err instanceof HandlerFailed) log.debug({ txId, route }, 'transaction rolled back after a handler error');
    else log.debug({ txId, route, err }, 'transaction rolled back');
  }
  if (durationMs >= report.slowThreshold) {
    const txId = scope.txId;
    if (report.logging) log.warn({ txId, route, durationMs: Math.round(durationMs) }, 'slow transaction');
    dbEvents.emit('transaction:slow', { txId, name: scope.name, route, durationMs });
  }
}

/** Runs after-commit/after-rollback callbacks; one that throws is logged and never undoes anything. */
function runHooks(hooks: readonly (() => unknown)[], kind: string): void {
  for (const hook of hooks) {
    try {
      const result = hook();
      if (result instanceof Promise) result.catch((err: unknown) => log.error({ err }, `${kind} callback failed`));
    } catch (err) {
      log.error({ err }, `${kind} callback failed`);
    }
  }
}

async function runSavepoint<T>(
  host: TransactionHost,
  parent: TransactionFrame,
  fn: (tx: Transaction) => Promise<T> | T,
): Promise<T> {
  const { scope } = parent;
  const name = scope.nextSavepoint();
  await scope.execute(`savepoint ${name}`, [], 'array');
  const frame = newFrame(host, scope, parent, (parent.handle as unknown as { nestedIndex: number }).nestedIndex + 1);
  const outer = ambient.getStore();
  try {
    const result = await ambient.run({ tx: frame, session: outer?.session, route: outer?.route }, () =>
      Promise.resolve().then(() => fn(frame.handle)),
    );
    await scope.execute(`release savepoint ${name}`, [], 'array');
    parent.commitHooks.push(...frame.commitHooks);
    parent.rollbackHooks.push(...frame.rollbackHooks);
    return result;
  } catch (err) {
    if (scope.state === 'active') {
      await scope.execute(`rollback to savepoint ${name}`, [], 'array');
      runHooks(frame.rollbackHooks, 'onRollback');
    } else {
      parent.rollbackHooks.push(...frame.rollbackHooks);
    }
    throw mapError(err);
  } finally {
    frame.detach(false);
  }
}

/** Drizzle's `tx.transaction()` lands here: a savepoint in the same transaction. */
function savepointCallback(
  host: TransactionHost,
  parent: TransactionFrame,
  callback: (client: DrizzleClient) => Promise<unknown>,
): Promise<unknown> {
  // Drizzle builds its own nested handle from the client we pass; we only frame the savepoint around it.
  return runSavepoint(host, parent, (tx) => callback(clientOf(tx)));
}

function clientOf(tx: Transaction): DrizzleClient {
  return (tx as unknown as { session: { client: DrizzleClient } }).session.client;
}
