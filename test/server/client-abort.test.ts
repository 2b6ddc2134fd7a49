import http from 'node:http';
import { sql } from 'drizzle-orm';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getDatabase, Transactional, type TransactionalOptions } from '@spfn/core/db';
import { createServer, errorHandler, type SpfnServer } from '@spfn/core/server';
import { createTestDatabase, expectNoLeaksThenDrop, waitFor, type TestDatabase } from '../helpers/pg.js';

let db: TestDatabase;
let server: SpfnServer;
let port: number;

function app(): Hono {
  const a = new Hono();
  a.onError(errorHandler());
  // Writes a row, then works for 3 s in the same transaction.
  const work = (options: TransactionalOptions) =>
    [
      Transactional({ timeout: 10_000, ...options }),
      async (c: { req: { query(k: string): string | undefined }; json(v: unknown): Response }) => {
        await getDatabase().execute(sql`insert into marks (label) values (${c.req.query('label') ?? ''})`);
        await getDatabase().execute(sql`select pg_sleep(3)`);
        return c.json({ done: true });
      },
    ] as const;
  a.get('/default', ...work({}));
  a.get('/rollback', ...work({ onClientAbort: 'rollback' }));
  a.get('/complete', ...work({ onClientAbort: 'complete' }));
  return a;
}

beforeAll(async () => {
  db = await createTestDatabase('client_abort');
  await db.sql`create table marks (label text not null)`;
  server = await createServer({
    app: app(),
    configFile: false,
    redis: false,
    port: 0,
    host: '127.0.0.1',
    database: { url: db.url, applicationName: db.appName, healthCheck: { enabled: false } },
  });
  port = (await server.listen()).port;
});

afterAll(async () => {
  await server?.shutdown();
  await expectNoLeaksThenDrop(db);
});

/** Sends the request and destroys the socket `afterMs` later, before any answer. */
function hangUp(path: string, afterMs: number): Promise<void> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent: false });
    req.on('error', () => resolve());
    req.on('response', () => resolve());
    setTimeout(() => {
      req.destroy();
      resolve();
    }, afterMs);
  });
}

async function sleeping(): Promise<number> {
  const rows = await db.sql`select 1 from pg_stat_activity
    where application_name = ${db.appName} and state = 'active' and query like '%pg_sleep%'`;
  return rows.length;
}

async function labels(label: string): Promise<number> {
  const rows = await db.sql`select 1 from marks where label = ${label}`;
  return rows.length;
}

describe('a client that goes away during a Transactional() request', () => {
  for (const path of ['/default', '/rollback']) {
    it(`${path}: the running statement is cancelled and the transaction rolls back at once`, async () => {
      const label = `gone${path.slice(1)}`;
      await hangUp(`${path}?label=${label}`, 500);
      const abortedAt = performance.now();
      expect(await waitFor(async () => (await sleeping()) === 0, 2000, 20), 'the pg_sleep was cancelled').toBe(true);
      const stoppedAfter = performance.now() - abortedAt;
      expect(stoppedAfter).toBeLessThan(2000);
      // Past the moment it would have committed: nothing was.
      await new Promise((r) => setTimeout(r, 3000));
      expect(await labels(label)).toBe(0);
      expect(server.inFlight).toBe(0);
      console.info(`${path}: statement cancelled ${stoppedAfter.toFixed(0)} ms after the client went away, 0 rows`);
    });
  }

  it("'complete': the work runs on and commits", async () => {
    await hangUp('/complete?label=kept', 500);
    expect(await waitFor(async () => (await labels('kept')) === 1, 6000, 50)).toBe(true);
  });
});
