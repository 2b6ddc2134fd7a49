import type { RedisManagerOptions } from '../cache/index.js';
import type { ServerOptions } from '../config/index.js';
import type { DatabaseManagerOptions } from '../database/index.js';
import type { MetricsOptions } from '../metrics/index.js';

/** Anything with a fetch handler: a Hono app (`new Hono()`), or another Web-standard handler. */
export interface FetchApp {
  fetch(request: Request, env?: unknown): Response | Promise<Response>;
}

/** Where the built-in endpoints live; `false` turns one off. */
export interface EndpointOptions {
  /** Liveness: 200 while the process serves. Default `/health`. */
  health?: string | false;
  /** Readiness: primary, replicas, Redis and migrations, per part; 503 when not ready. Default `/health/ready`. */
  ready?: string | false;
  /** Prometheus text of the metrics registry (see `ServerConfig.metrics`). Default `/metrics`. */
  metrics?: string | false;
  /** Milliseconds each readiness probe may take before it counts as down. Default 2000. */
  probeTimeout?: number;
}

/** Shutdown behaviour. */
export interface ShutdownOptions {
  /** Signals that start a graceful shutdown (a second one exits at once). Default `['SIGTERM', 'SIGINT']`. */
  signals?: readonly NodeJS.Signals[];
  /**
   * End the process when the shutdown is done: exit 0 after a signal, 1 after an uncaught exception or an
   * unhandled rejection. Default true for `startServer()`; `createServer()` never installs process handlers.
   */
  exitProcess?: boolean;
  /** Runs after the HTTP server drained and before the database and Redis close (flush queues, …). */
  onShutdown?: () => Promise<void> | void;
}

/**
 * What `server.config.ts` default-exports and what `startServer()` / `createServer()` take. Every field is
 * optional; explicit values win over `server.config.ts`, which wins over the environment, then the defaults.
 *
 * @example
 * ```ts
 * // server.config.ts
 * import type { ServerConfig } from '@spfn/core/server';
 * export default {
 *   database: {
 *     pool: { max: 50, idleTimeout: 60 },
 *     healthCheck: { enabled: true, interval: 30000, reconnect: true, maxRetries: 5, retryInterval: 10000 },
 *   },
 * } satisfies ServerConfig;
 * ```
 */
export interface ServerConfig extends ServerOptions {
  /** Your routes, mounted at `/` behind the built-in endpoints. */
  app?: FetchApp;
  /** Database settings (`initDatabase()` options, including `schema`). */
  database?: DatabaseManagerOptions;
  /** Redis settings; `false` never connects Redis even when REDIS_URL is set. Default: REDIS_URL when set. */
  redis?: RedisManagerOptions | false;
  endpoints?: EndpointOptions;
  /**
   * The prom-client registry `/metrics` serves and the database and HTTP metrics are registered in (default:
   * prom-client's `register`, so metrics the application registers there are served too), and whether Node's
   * default metrics are collected in it. `database.metrics`, when set, wins for the database metrics.
   */
  metrics?: MetricsOptions;
  shutdown?: ShutdownOptions;
  /**
   * The config file to load, or `false` for none. Default: the first of `server.config.ts`, `.mts`, `.js`, `.mjs`
   * in the working directory, when one exists.
   */
  configFile?: string | false;
  /**
   * Response and request header carrying the read-your-writes token (see `getReadToken()`): a client that sends
   * back the value it received never reads data older than its own writes, even from a replica. `false` turns it
   * off. Default `x-read-token`.
   */
  readTokenHeader?: string | false;
  /**
   * Largest request body in bytes, for every route; a larger one is answered 413 `PAYLOAD_TOO_LARGE` (JSON) without
   * reading the rest, and the connection closes. `false` turns the limit off. Default 1048576 (1 MiB).
   */
  bodyLimit?: number | false;
  /** Runs after the database (and Redis, and migrations) are ready and before the port opens. */
  beforeStart?: () => Promise<void> | void;
}
