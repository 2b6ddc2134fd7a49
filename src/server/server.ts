import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import type { Hono } from 'hono';
import { closeRedis, initRedis } from '../cache/index.js';
import { checkOptions, resolveServerConfig, type ResolvedServerConfig } from '../config/index.js';
import { closeDatabase, initDatabase } from '../database/index.js';
import { ConfigError } from '../errors/index.js';
import { logger } from '../logger/index.js';
import { enableDefaultMetrics, metricsRegistry } from '../metrics/index.js';
import { buildRootApp, type ServerState } from './app.js';
import { findConfigFile, loadConfigFile, mergeConfig } from './config-file.js';
import { prepareMigrations } from './migrations.js';
import { SERVER_CONFIG } from './options.js';
import { Drainer, drainAndClose, type ShutdownReport } from './shutdown.js';
import type { ServerConfig } from './types.js';

const log = logger.child('server');

/** A server built by `createServer()` or `startServer()`. */
export interface SpfnServer {
  /** The whole app (built-in endpoints and yours): call `app.request('/health')` in tests. */
  readonly app: Hono;
  /** Port, host and grace period as resolved. */
  readonly config: ResolvedServerConfig;
  /** The Node HTTP server once `listen()` ran. */
  readonly httpServer: Server | undefined;
  /** Requests being served right now. */
  readonly inFlight: number;
  /** Opens the port (PORT, HOST); resolves with the bound address. */
  listen(): Promise<AddressInfo>;
  /**
   * Graceful shutdown without exiting the process: stop accepting connections, wait up to the grace period
   * (SHUTDOWN_TIMEOUT, default 10000 ms) for in-flight requests, abort the rest (rolling back their
   * transactions), then close the database and Redis. Calling it again returns the same promise.
   */
  shutdown(reason?: string): Promise<ShutdownReport>;
}

/**
 * Builds the server without opening a port (for tests): loads `server.config.ts` when present, merges
 * `config` > file > environment > defaults, connects the database (and Redis when configured), runs or checks
 * migrations, and mounts `config.app` behind `/health`, `/health/ready` and `/metrics`. Installs no process
 * handlers.
 *
 * @example
 * ```ts
 * const server = await createServer({ app, configFile: false });
 * const res = await server.app.request('/health/ready');
 * await server.shutdown();
 * ```
 */
export async function createServer(config: ServerConfig = {}): Promise<SpfnServer> {
  return build(config, 'createServer()');
}

async function build(config: ServerConfig, where: string): Promise<SpfnServer> {
  checkOptions(config, SERVER_CONFIG, where);
  const file = findConfigFile(config.configFile);
  let merged = config;
  if (file) {
    const loaded = await loadConfigFile(file);
    checkOptions(loaded, SERVER_CONFIG, file);
    merged = mergeConfig(loaded, config);
  }
  if (file) log.info({ file }, 'loaded server config');
  const resolved = resolveServerConfig({
    port: merged.port,
    host: merged.host,
    shutdownTimeout: merged.shutdownTimeout,
  });

  const registry = metricsRegistry(merged.metrics);
  if (merged.metrics?.defaultMetrics) enableDefaultMetrics(registry);
  await initDatabase({ ...merged.database, metrics: merged.database?.metrics ?? { registry } });
  let migrations: Awaited<ReturnType<typeof prepareMigrations>>;
  try {
    if (merged.redis !== false) await initRedis(merged.redis ?? {});
    migrations = await prepareMigrations();
    await merged.beforeStart?.();
  } catch (err) {
    await Promise.allSettled([closeRedis(), closeDatabase()]);
    throw err;
  }

  const state: ServerState = { draining: false };
  const drainer = new Drainer();
  const app = buildRootApp({
    app: merged.app,
    endpoints: merged.endpoints ?? {},
    state,
    migrations,
    readTokenHeader: merged.readTokenHeader ?? 'x-read-token',
    registry,
    bodyLimit: resolveBodyLimit(merged.bodyLimit),
  });
  let httpServer: Server | undefined;
  let shuttingDown: Promise<ShutdownReport> | undefined;

  return {
    app,
    config: resolved,
    get httpServer() {
      return httpServer;
    },
    get inFlight() {
      return drainer.inFlight;
    },
    listen() {
      if (httpServer) return Promise.reject(new Error('The server is already listening'));
      const server = createAdaptorServer({ fetch: app.fetch }) as Server;
      httpServer = server;
      drainer.attach(server);
      return new Promise<AddressInfo>((resolve, reject) => {
        server.once('error', reject);
        server.listen(resolved.port, resolved.host, () => {
          server.off('error', reject);
          const address = server.address() as AddressInfo;
          log.info({ host: address.address, port: address.port }, 'server listening');
          resolve(address);
        });
      });
    },
    shutdown(reason = 'shutdown') {
      shuttingDown ??= drainAndClose(
        httpServer,
        drainer,
        state,
        resolved.shutdownTimeout,
        merged.shutdown ?? {},
        reason,
      );
      return shuttingDown;
    },
  };
}

/**
 * Starts the service: everything `createServer()` does, then opens the port and installs graceful shutdown.
 * SIGTERM or SIGINT stops accepting connections, lets in-flight requests finish within SHUTDOWN_TIMEOUT
 * (default 10000 ms), aborts the rest (their transactions roll back), closes the database and Redis and exits 0;
 * a second signal exits at once with 1. An uncaught exception or unhandled rejection is logged and ends in the
 * same shutdown with exit code 1.
 *
 * @example
 * ```ts
 * import { Hono } from 'hono';
 * import { startServer } from '@spfn/core/server';
 *
 * const app = new Hono().get('/hello', (c) => c.text('hi'));
 * await startServer({ app }); // PORT (8790), HOST (0.0.0.0); server.config.ts when present
 * ```
 */
export async function startServer(config: ServerConfig = {}): Promise<SpfnServer> {
  const server = await build(config, 'startServer()');
  const options = config.shutdown ?? {};
  const exitProcess = options.exitProcess ?? true;
  let exitCode = 0;
  let started = false;

  const begin = (reason: string, code: number): void => {
    exitCode = Math.max(exitCode, code);
    if (started) return;
    started = true;
    // The event loop may be held by something the shutdown cannot close: the exit must still happen.
    const hardStop = setTimeout(() => {
      log.error('shutdown did not finish in time; exiting');
      process.exit(exitCode || 1);
    }, server.config.shutdownTimeout + ABORT_AND_CLOSE_MARGIN_MS);
    hardStop.unref();
    void server.shutdown(reason).then(
      () => {
        removeHandlers();
        if (exitProcess) process.exit(exitCode);
      },
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        if (exitProcess) process.exit(1);
      },
    );
  };

  const onSignal = (signal: NodeJS.Signals): void => {
    if (started) {
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    begin(signal, 0);
  };
  const onFatal = (err: unknown, kind: string): void => {
    log.fatal({ err }, `${kind}: shutting down`);
    begin(kind, 1);
  };
  const onException = (err: unknown): void => onFatal(err, 'uncaughtException');
  const onRejection = (err: unknown): void => onFatal(err, 'unhandledRejection');
  const signals = options.signals ?? ['SIGTERM', 'SIGINT'];
  for (const signal of signals) process.on(signal, onSignal);
  process.on('uncaughtException', onException);
  process.on('unhandledRejection', onRejection);
  const removeHandlers = (): void => {
    for (const signal of signals) process.off(signal, onSignal);
    process.off('uncaughtException', onException);
    process.off('unhandledRejection', onRejection);
  };

  try {
    await server.listen();
  } catch (err) {
    removeHandlers();
    await server.shutdown('listen failed');
    throw err;
  }
  return server;
}

/** Default largest request body: 1 MiB. */
const DEFAULT_BODY_LIMIT = 1024 * 1024;

function resolveBodyLimit(value: number | false | undefined): number | false {
  if (value === undefined) return DEFAULT_BODY_LIMIT;
  if (value === false || (Number.isSafeInteger(value) && value > 0)) return value;
  throw new ConfigError('bodyLimit', 'expected a positive whole number of bytes, or false for no limit');
}

/** Beyond the grace period: the abort settle time and the bounded closing of connections. */
const ABORT_AND_CLOSE_MARGIN_MS = 8000;
