import { sql } from 'drizzle-orm';
import { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getDatabase } from '@spfn/core/db';
import { ConfigError } from '@spfn/core/errors';
import { createServer, errorHandler, type SpfnServer } from '@spfn/core/server';
import { captureLogs } from '../helpers/log-capture.js';
import { createTestDatabase, expectNoLeaksThenDrop, type TestDatabase } from '../helpers/pg.js';

const MARKER = 'zq9MARKERx7';
const logs = captureLogs('debug');
let db: TestDatabase;
let server: SpfnServer;

/** The user's app: its own errorHandler(), and routes that fail in the ways a service fails. */
function userApp(): Hono {
  const app = new Hono();
  app.onError(errorHandler());
  app.get('/bad-request', () => {
    throw new HTTPException(400, { message: 'size must be an integer' });
  });
  app.get('/teapot', () => {
    throw new HTTPException(418);
  });
  app.post('/echo', async (c) => c.json({ size: JSON.stringify(await c.req.json()).length }));
  app.get('/cast', async (c) => {
    // The server's message quotes the bound value: `invalid input syntax for type bigint: "…"`.
    await getDatabase().execute(sql`select ${c.req.query('v') ?? ''}::bigint`);
    return c.json({});
  });
  app.get('/raise', async (c) => {
    // A 5xx whose server message quotes the value: it is logged, the value must not be.
    await getDatabase().execute(sql`select spfn_fail(${c.req.query('v') ?? ''})`);
    return c.json({});
  });
  return app;
}

function userAppWithoutHandler(): Hono {
  const app = new Hono();
  app.get('/forbidden', () => {
    throw new HTTPException(403, { message: 'no' });
  });
  return app;
}

beforeAll(async () => {
  db = await createTestDatabase('http_errors');
  await db.sql`create function spfn_fail(v text) returns void language plpgsql as $$
    begin raise exception 'refused value %', v; end $$`;
  server = await createServer({
    app: userApp(),
    configFile: false,
    redis: false,
    bodyLimit: 64 * 1024,
    database: { url: db.url, applicationName: db.appName, healthCheck: { enabled: false } },
  });
});

afterAll(async () => {
  await server?.shutdown();
  await expectNoLeaksThenDrop(db);
});

async function errorOf(res: Response): Promise<{ code: string; message: string }> {
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  const body = (await res.json()) as { error: { code: string; message: string } };
  expect(Object.keys(body)).toEqual(['error']);
  expect(Object.keys(body.error).sort()).toEqual(['code', 'message']);
  return body.error;
}

describe('every error the server answers is JSON in one shape', () => {
  it('404 from the server and from the app', async () => {
    const res = await server.app.request('/no/such/route');
    expect(res.status).toBe(404);
    expect(await errorOf(res)).toEqual({ code: 'NOT_FOUND', message: expect.any(String) });
  });

  it("the app's HTTPException, with and without errorHandler()", async () => {
    const bad = await server.app.request('/bad-request');
    expect(bad.status).toBe(400);
    expect(await errorOf(bad)).toEqual({ code: 'BAD_REQUEST', message: 'size must be an integer' });
    const teapot = await server.app.request('/teapot');
    expect(teapot.status).toBe(418);
    expect((await errorOf(teapot)).code).toBe('HTTP_418');

    const bare = await createServer({ app: userAppWithoutHandler(), configFile: false, redis: false });
    const forbidden = await bare.app.request('/forbidden');
    expect(forbidden.status).toBe(403);
    expect(await errorOf(forbidden)).toEqual({ code: 'FORBIDDEN', message: 'no' });
  });

  it('a body that is not JSON is 400 MALFORMED_JSON, and the body is in no log line', async () => {
    const res = await server.app.request('/echo', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: `{"name": ${MARKER}`,
    });
    expect(res.status).toBe(400);
    expect((await errorOf(res)).code).toBe('MALFORMED_JSON');
    expect(logs.text()).not.toContain(MARKER);
  });
});

describe('the body limit', () => {
  it('answers 413 PAYLOAD_TOO_LARGE (JSON, Connection: close) above the limit, with or without a length', async () => {
    const big = JSON.stringify({ name: 'x'.repeat(70 * 1024) });
    const withLength = await server.app.request('/echo', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': String(big.length) },
      body: big,
    });
    expect(withLength.status).toBe(413);
    expect(withLength.headers.get('connection')).toBe('close');
    expect((await errorOf(withLength)).code).toBe('PAYLOAD_TOO_LARGE');

    const chunks = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 70; i++) controller.enqueue(new TextEncoder().encode('x'.repeat(1024)));
        controller.close();
      },
    });
    const streamed = await server.app.request('/echo', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: chunks,
      duplex: 'half',
    });
    expect(streamed.status).toBe(413);
    expect((await errorOf(streamed)).code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('lets a body under the limit through', async () => {
    const res = await server.app.request('/echo', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'x'.repeat(1000) }),
    });
    expect(res.status).toBe(200);
  });

  it('refuses a limit that is not a positive whole number', async () => {
    await expect(createServer({ configFile: false, redis: false, bodyLimit: -1 })).rejects.toBeInstanceOf(ConfigError);
  });
});

describe('no log line carries a value', () => {
  it('a 5xx whose server message quotes the value is logged with its SQLSTATE only', async () => {
    const res = await server.app.request(`/raise?v=${MARKER}`);
    expect(res.status).toBe(500);
    const body = await res.text();
    expect(body).not.toContain(MARKER);
    const line = logs.lines.find((l) => l.includes('request failed') && l.includes('P0001'));
    expect(line, 'the failure is logged with its SQLSTATE').toBeDefined();
    // The route is the pattern the request matched (never the URL, which may carry values).
    expect(line).toContain('GET /raise');
    expect(logs.text()).not.toContain(MARKER);
  });

  it('a class-22 failure (the value quoted by the server) reaches neither the body nor the log', async () => {
    const res = await server.app.request(`/cast?v=abc${MARKER}`);
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(await res.text()).not.toContain(MARKER);
    expect(logs.text()).not.toContain(MARKER);
  });
});
