import { Hono } from 'hono';
import { getReadToken, withReadSession } from '../database/index.js';
import type { Registry } from 'prom-client';
import { errorHandler } from './error-handler.js';
import { checkReadiness, type MigrationCheck } from './readiness.js';
import { httpMetrics } from './server-metrics.js';
import type { EndpointOptions, FetchApp } from './types.js';

/** Live state the built-in routes read. @internal */
export interface ServerState {
  draining: boolean;
}

/** @internal */
export interface RootAppOptions {
  app: FetchApp | undefined;
  endpoints: EndpointOptions;
  state: ServerState;
  migrations: () => Promise<MigrationCheck>;
  /** Header that carries the read-your-writes token; false turns it off. */
  readTokenHeader: string | false;
  /** The prom-client registry `/metrics` serves and the HTTP metrics go to. */
  registry: Registry;
}

/**
 * The app the HTTP server runs: request accounting and the shutdown gate, the built-in endpoints, then the
 * user's app for everything else.
 * @internal
 */
export function buildRootApp(options: RootAppOptions): Hono {
  const { state, endpoints } = options;
  const root = new Hono();
  root.onError(errorHandler());
  const http = httpMetrics(options.registry);

  root.use('*', async function serverLifecycle(c, next) {
    if (state.draining) {
      c.header('Connection', 'close');
      return c.json({ error: { code: 'SHUTTING_DOWN', message: 'The server is shutting down' } }, 503);
    }
    const started = performance.now();
    http.inFlight++;
    try {
      await next();
    } finally {
      http.inFlight--;
      http.request(c.req.method, c.res.status, (performance.now() - started) / 1000);
    }
    // Keep-alive clients learn to reconnect elsewhere instead of reusing a socket that is about to close.
    if (state.draining) c.header('Connection', 'close');
    return undefined;
  });

  const tokenHeader = options.readTokenHeader;
  if (tokenHeader !== false) {
    // Each request is one read-your-writes session, resumed from the token the client sent back: a read after
    // the client's own write (in this or an earlier request) never comes from a replica that is behind it.
    root.use('*', function readYourWrites(c, next) {
      return withReadSession(
        async () => {
          await next();
          const token = await getReadToken();
          if (token !== undefined) c.header(tokenHeader, token);
        },
        { token: c.req.header(tokenHeader) },
      );
    });
  }

  const probeTimeout = endpoints.probeTimeout ?? 2000;
  const healthPath = endpoints.health ?? '/health';
  const readyPath = endpoints.ready ?? '/health/ready';
  const metricsPath = endpoints.metrics ?? '/metrics';
  if (healthPath !== false) root.get(healthPath, (c) => c.json({ status: 'ok' }));
  if (readyPath !== false) {
    root.get(readyPath, async (c) => {
      const report = await checkReadiness(probeTimeout, state.draining, options.migrations);
      return c.json(report, report.status === 'ready' ? 200 : 503);
    });
  }
  if (metricsPath !== false) {
    const registry = options.registry;
    root.get(metricsPath, async (c) => c.body(await registry.metrics(), 200, { 'Content-Type': registry.contentType }));
  }

  const app = options.app;
  if (app) root.all('*', (c) => app.fetch(c.req.raw, c.env));
  return root;
}
