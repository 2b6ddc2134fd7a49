import type { Server } from 'node:http';
import { closeRedis } from '../cache/index.js';
import { closeDatabase } from '../database/index.js';
import { logger } from '../logger/index.js';
import { abortRunningTransactions } from '../transaction/runner.js';
import type { ServerState } from './app.js';
import type { ShutdownOptions } from './types.js';

const log = logger.child('server');

/** After the grace period: how long aborted requests get to answer (their transactions rolled back). */
const ABORT_SETTLE_MS = 1000;
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

  get inFlight(): number {
    return this.#inFlight;
  }

  attach(server: Server): void {
    server.on('request', (_req, res) => {
      this.#inFlight++;
      res.once('close', () => {
        this.#inFlight--;
        if (this.#inFlight === 0) for (const wake of this.#waiters) wake();
      });
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
  const closed = http ? new Promise<void>((resolve) => http.close(() => resolve())) : Promise.resolve();
  http?.closeIdleConnections();

  let abortedRequests = 0;
  let abortedTransactions = 0;
  if (await drainer.idle(graceMs)) {
    // Keep-alive sockets whose last response just ended are idle now: close them instead of waiting for them.
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
