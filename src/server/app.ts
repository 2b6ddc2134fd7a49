import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { getReadToken, withReadSession } from '../database/index.js';
import type { Registry } from 'prom-client';
import { errorHandler } from './error-handler.js';
import { asJsonError, errorJson } from './http-errors.js';
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
  /** Largest request body in bytes; false for no limit. */
  bodyLimit: number | false;
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
  root.notFound(() => errorJson(404, 'Not Found'));

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
    // A request that was in flight when draining began keeps its keep-alive socket: the client's next request on it
    // gets 503 SHUTTING_DOWN with `Connection: close`. Closing it here would send the client to a new socket, which
    // the kernel resets if it is still in the accept backlog when the port closes.
    return undefined;
  });

  if (options.bodyLimit !== false) {
    const maxSize = options.bodyLimit;
    // The rest of an oversized body is never read: the connection closes after the answer.
    root.use(
      '*',
      bodyLimit({
        maxSize,
        onError: () =>
          errorJson(413, `The request body is larger than ${maxSize} bytes`, 'PAYLOAD_TOO_LARGE', {
            Connection: 'close',
          }),
      }),
    );
  }

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
  // The app's own plain-text errors (Hono's default 404, an HTTPException without a handler) answer as JSON too.
  if (app) root.all('*', async (c) => asJsonError(await app.fetch(c.req.raw, c.env)));
  return root;
}
