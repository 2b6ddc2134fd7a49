import type { Server } from 'node:http';
import net, { type Socket } from 'node:net';
import { closeRedis } from '../cache/index.js';
import { closeDatabase } from '../database/index.js';
import { logger } from '../logger/index.js';
import { abortRunningTransactions } from '../transaction/runner.js';
import type { ServerState } from './app.js';
import type { ShutdownOptions } from './types.js';

const log = logger.child('server');

/** After the grace period: how long aborted requests get to answer (their transactions rolled back). */
const ABORT_SETTLE_MS = 1000;
/** The port closes once no connection arrived for this long after the signal… */
const ACCEPT_QUIET_MS = 100;
/** …or this long after it at most. */
const ACCEPT_MAX_MS = 3000;
/** How long idle keep-alive connections stay open after the last request finished, so a request on its way is answered. */
const LINGER_MS = 1000;
/** Bound on the closing of connections, the user's hook, the database and Redis. */
const CLOSE_BOUND_MS = 5000;

function bounded(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.then(
      () => true,
      () => true,
    ),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/**
 * Counts requests from arrival to the end of their response on the Node server, and drains them on shutdown.
 * @internal
 */
export class Drainer {
  #inFlight = 0;
  #waiters = new Set<() => void>();
  #connections = 0;
  #connectionWaiters = new Set<() => void>();
  #lastConnectionAt = 0;

  get inFlight(): number {
    return this.#inFlight;
  }

  /** Open client connections (keep-alive ones included). */
  get connections(): number {
    return this.#connections;
  }

  attach(server: Server): void {
    server.on('connection', (socket: Socket) => {
      this.#connections++;
      socket.once('close', () => {
        this.#connections--;
        if (this.#connections === 0) for (const wake of this.#connectionWaiters) wake();
      });
    });
    const seen = new WeakSet<Socket>();
    server.on('request', (req, res) => {
      // A connection counts as arriving with its first request (a port probe that sends nothing does not).
      if (!seen.has(req.socket)) {
        seen.add(req.socket);
        this.#lastConnectionAt = performance.now();
      }
      this.#inFlight++;
      res.once('close', () => {
        this.#inFlight--;
        if (this.#inFlight === 0) for (const wake of this.#waiters) wake();
      });
    });
  }

  /** Resolves once no new connection brought a request for `quietMs`, or after `maxMs`. */
  async quiet(quietMs: number, maxMs: number): Promise<void> {
    const until = performance.now() + maxMs;
    for (;;) {
      // Timers run before the event loop polls for new connections: let it accept what is pending first.
      await new Promise((resolve) => setImmediate(resolve));
      const now = performance.now();
      const wait = Math.min(this.#lastConnectionAt + quietMs - now, until - now);
      if (wait <= 0) return;
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }

  /** Resolves once every client connection closed, or when `ms` passes first. */
  disconnected(ms: number): Promise<void> {
    if (this.#connections === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.#connectionWaiters.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.#connectionWaiters.add(wake);
    });
  }

  /** Resolves true once nothing is in flight, false when `ms` passes first. */
  idle(ms: number): Promise<boolean> {
    if (this.#inFlight === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.#waiters.delete(wake);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(wake);
        resolve(this.#inFlight === 0);
      }, ms);
      this.#waiters.add(wake);
    });
  }
}

/** What a finished shutdown reports. */
export interface ShutdownReport {
  reason: string;
  /** Requests still running when the grace period ended (0 when every request finished in time). */
  abortedRequests: number;
  /** Transactions rolled back because the grace period ended. */
  abortedTransactions: number;
  durationMs: number;
}

/**
 * The graceful shutdown sequence: stop accepting connections, let in-flight requests finish within the grace
 * period, then abort the rest (their transactions roll back), run `onShutdown`, close the database and Redis.
 * @internal
 */
export async function drainAndClose(
  http: Server | undefined,
  drainer: Drainer,
  state: ServerState,
  graceMs: number,
  options: ShutdownOptions,
  reason: string,
): Promise<ShutdownReport> {
  const started = performance.now();
  state.draining = true;
  log.info({ reason, inFlight: drainer.inFlight, graceMs }, 'shutting down: no new connections');
  // Every request that still arrives is answered 503 SHUTTING_DOWN with `Connection: close`, and every response
  // says close. The port closes once connections stop arriving (the kernel resets those it completed but we had
  // not accepted yet), and without Node's http close(), which would also close idle keep-alive connections and
  // reset a request already on its way on one of them.
  const closed = http
    ? drainer
        .quiet(ACCEPT_QUIET_MS, Math.min(ACCEPT_MAX_MS, graceMs))
        .then(() => new Promise<void>((resolve) => net.Server.prototype.close.call(http, () => resolve())))
    : Promise.resolve();

  let abortedRequests = 0;
  let abortedTransactions = 0;
  if (await drainer.idle(graceMs)) {
    // Connections still open are idle keep-alive ones: a client that sends on one now gets its 503 and a close.
    // They get a moment to do so, then the quiet ones are closed.
    const remaining = Math.max(0, graceMs - (performance.now() - started));
    await drainer.disconnected(Math.min(LINGER_MS, remaining));
    await drainer.idle(Math.min(LINGER_MS, remaining));
    http?.closeIdleConnections();
  } else {
    abortedRequests = drainer.inFlight;
    abortedTransactions = abortRunningTransactions();
    log.warn(
      { inFlight: abortedRequests, abortedTransactions },
      'grace period over: aborting the remaining requests and rolling back their transactions',
    );
    await drainer.idle(ABORT_SETTLE_MS);
    http?.closeAllConnections();
  }
  await bounded(closed, 1000);
  if (options.onShutdown) {
    const hook = Promise.resolve().then(options.onShutdown);
    hook.catch((err: unknown) => log.error({ err }, 'onShutdown failed'));
    await bounded(hook, CLOSE_BOUND_MS);
  }
  await Promise.all([bounded(closeDatabase(), CLOSE_BOUND_MS), bounded(closeRedis(), CLOSE_BOUND_MS)]);
  const report = { reason, abortedRequests, abortedTransactions, durationMs: performance.now() - started };
  log.info({ ...report, durationMs: Math.round(report.durationMs) }, 'shutdown complete');
  return report;
}
