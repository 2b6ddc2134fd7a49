import type { MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import { checkOptions, is, LIMITS, resolveDatabaseConfig, within, type ShapeOf } from '../config/index.js';
import { getDatabaseManager } from './default.js';
import { installHttpResponses } from '../http/index.js';
import { ISOLATION_LEVELS } from '../transaction/options.js';
import type { AbortWatch, RequestReport } from '../transaction/runner.js';
import { getTransactionId } from '../transaction/transaction.js';
import type { IsolationLevel, Transaction, TransactionOptions } from '../transaction/types.js';

installHttpResponses();

declare module 'hono' {
  interface ContextVariableMap {
    /** The id of the request's transaction (set by `Transactional()`). */
    txId: string;
    /** The request's transaction handle (set by `Transactional()`). */
    transaction: Transaction;
  }
}

/** Options of the {@link Transactional} middleware. */
export interface TransactionalOptions {
  /** Milliseconds before the transaction is cancelled and rolled back (504); 0 disables. Default TRANSACTION_TIMEOUT (30000). */
  timeout?: number;
  /**
   * Milliseconds over which the transaction is emitted as `transaction:slow` (and logged as a warning when
   * `enableLogging`). Default 1000 (DB_SLOW_QUERY_THRESHOLD when set).
   */
  slowThreshold?: number;
  /**
   * Log the transaction: commits and rollbacks at debug level, slow transactions as a warning. Events are emitted
   * either way. Default true.
   */
  enableLogging?: boolean;
  isolationLevel?: IsolationLevel;
  /** A read-only transaction; it may run on a replica. Default false. */
  readOnly?: boolean;
  /**
   * Repository reads that come before the request's first other statement run outside the transaction (READ
   * COMMITTED on PostgreSQL), so a request that only reads holds no connection and sends no BEGIN or COMMIT; see
   * `TransactionOptions.deferReads` and docs/03-transactions.md. Default true.
   */
  deferReads?: boolean;
  /**
   * What happens when the client goes away (its connection closes) before the answer is sent:
   * - `'rollback'` (default): the running statement is cancelled and the transaction rolls back at once, and the
   *   pool connection is free again. A client that hung up cannot learn the outcome, and a client that gives up
   *   and retries would otherwise find its first attempt committed behind its back; hung-up requests must not
   *   hold connections (50 clients that hang up would otherwise hold 50 of them for the whole timeout).
   * - `'complete'`: the handler runs on and commits as if the client were still there, for work that must finish
   *   once started (make it idempotent: the client never hears that it did).
   */
  onClientAbort?: 'rollback' | 'complete';
}

/** `TransactionalOptions`, for the options validator. */
const TRANSACTIONAL_OPTIONS = {
  timeout: within(LIMITS['transaction.timeout']),
  slowThreshold: within(LIMITS['monitoring.slowThreshold']),
  enableLogging: is.boolean,
  isolationLevel: is.oneOf(ISOLATION_LEVELS),
  readOnly: is.boolean,
  deferReads: is.boolean,
  onClientAbort: is.oneOf(['rollback', 'complete']),
} satisfies ShapeOf<TransactionalOptions>;

/** The parts of Node's ServerResponse the client-abort watch uses (`c.env.outgoing` on `@hono/node-server`). */
interface NodeResponse {
  readonly writableFinished: boolean;
  readonly destroyed: boolean;
  on(event: 'close', listener: () => void): unknown;
}

/**
 * On `@hono/node-server`, the response's `close` event tells that the client went away (closed before the answer was
 * written), without the AbortController that `c.req.raw.signal` makes for each request. Undefined elsewhere.
 * The listener is not removed when the transaction ends: the response is the request's own and goes with it, and
 * an ended transaction ignores its abort. `on`, not `once`: 'close' comes once, and `once` wraps each listener in
 * two more objects.
 */
function closeWatch(env: unknown): AbortWatch | undefined {
  const outgoing = (env as { outgoing?: Partial<NodeResponse> } | undefined)?.outgoing;
  if (outgoing === undefined || typeof outgoing.on !== 'function' || typeof outgoing.writableFinished !== 'boolean') {
    return undefined;
  }
  const response = outgoing as NodeResponse;
  return (abort) => {
    if (response.destroyed && !response.writableFinished) abort();
    else response.on('close', () => response.writableFinished || abort());
  };
}

/**
 * Hono middleware: each request runs in one transaction. Every query of the handler, at any depth, runs in it;
 * it commits when the handler succeeds and rolls back when it throws, when Hono recorded an error, or when the
 * timeout passes (the running statement is cancelled and the request gets 504 at once), and — unless
 * `onClientAbort: 'complete'` — when the client goes away before the answer. The handler's own HTTP
 * errors pass through unchanged; database errors come out as their typed errors, answered with their status
 * (409, 400, 404, 503, 504) by Hono's default error handler.
 *
 * @example
 * ```ts
 * app.post('/users', Transactional({ timeout: 5000 }), async (c) => {
 *   const user = await getRepository(users).save(await c.req.json());
 *   return c.json(user, 201);
 * });
 * ```
 */
export function Transactional(options: TransactionalOptions = {}): MiddlewareHandler {
  checkOptions(options, TRANSACTIONAL_OPTIONS, 'Transactional()');
  const listenToClient = options.onClientAbort !== 'complete';
  const perRoute = routeOptions(options);
  let report: RequestReport | undefined;
  // Not an async function, and no callback of its own on the transaction's promise: it runs for every request, and
  // each promise is a turn, an allocation and (on Node 20, with AsyncLocalStorage on) a run of the context hooks.
  // The runner checks Hono's recorded error, logs and reports the outcome, and settles with undefined.
  return function transactional(c, next) {
    const manager = getDatabaseManager();
    report ??= {
      slowThreshold:
        options.slowThreshold ??
        (manager.initialized ? manager.config : resolveDatabaseConfig()).monitoring.slowThreshold,
      logging: options.enableLogging ?? true,
    };
    const shared = perRoute(c.req.method, routePath(c));
    const watch = listenToClient ? closeWatch(c.env) : undefined;
    // Elsewhere than on @hono/node-server the request's signal tells that the client went away: it is the request's
    // own, so these options are too.
    const txOptions = listenToClient && watch === undefined ? { ...shared, signal: c.req.raw.signal } : shared;
    // The options were checked when the middleware was made; only the request's own values are added here. Not an
    // async callback: an async function adds two promises and a turn.
    return manager.transactionChecked(
      (tx) => {
        const txId = getTransactionId();
        if (txId !== undefined) c.set('txId', txId);
        c.set('transaction', tx);
        return next();
      },
      txOptions,
      { watch, context: c, report },
    );
  };
}

/** Routes whose transaction options are kept; past it (routes are a fixed set, so only a misuse gets there) they
 * are made per request. */
const MAX_ROUTES = 1000;

/**
 * The transaction options of each route, made once per method and route pattern instead of once per request (the
 * options object and the route label would otherwise be allocated for every request).
 */
function routeOptions(options: TransactionalOptions): (method: string, path: string) => TransactionOptions {
  const byMethod = new Map<string, Map<string, TransactionOptions>>();
  let size = 0;
  const make = (method: string, path: string): TransactionOptions => {
    const route = `${method} ${path}`;
    return {
      timeout: options.timeout,
      isolationLevel: options.isolationLevel,
      readOnly: options.readOnly,
      deferReads: options.deferReads,
      name: route,
      route,
      propagation: 'required',
    };
  };
  return (method, path) => {
    let routes = byMethod.get(method);
    const known = routes?.get(path);
    if (known !== undefined) return known;
    if (size >= MAX_ROUTES) return make(method, path);
    if (routes === undefined) byMethod.set(method, (routes = new Map<string, TransactionOptions>()));
    const made = make(method, path);
    routes.set(path, made);
    size++;
    return made;
  };
}
