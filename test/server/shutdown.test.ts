import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, waitFor, type TestDatabase } from '../helpers/pg.js';
import { startService, type ServiceProcess } from '../helpers/service.js';
import type { JsonBody } from '../helpers/service.js';

let db: TestDatabase;
const started: ServiceProcess[] = [];

beforeAll(async () => {
  db = await createTestDatabase('shutdown');
});

afterAll(async () => {
  await Promise.all(started.map((s) => s.kill()));
  if (db) await db.drop();
});

async function service(env: Record<string, string>, script?: string): Promise<ServiceProcess> {
  const s = await startService({ DATABASE_URL: db.url, DB_APPLICATION_NAME: db.appName, ...env }, { script });
  started.push(s);
  return s;
}

async function sleepingBackends(): Promise<number> {
  const rows = await db.sql`
    select pid from pg_stat_activity
    where application_name = ${db.appName} and state = 'active' and query like '%pg_sleep%'`;
  return rows.length;
}

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
  });
}

async function slow(s: ServiceProcess, query: string): Promise<{ status: number; body: JsonBody } | { error: string }> {
  try {
    const res = await fetch(`${s.url}/demo/slow?${query}`);
    return { status: res.status, body: await res.json() };
  } catch (err) {
    return { error: String((err as Error).cause ?? err) };
  }
}

describe('graceful shutdown of the example service', () => {
  it('lets 20 in-flight requests finish on SIGTERM, refuses new connections and exits 0', async () => {
    const grace = 10_000;
    const s = await service({ SHUTDOWN_TIMEOUT: String(grace) });
    let finished = 0;
    const requests = Array.from({ length: 20 }, () =>
      slow(s, 'ms=2500').then((r) => {
        finished++;
        return r;
      }),
    );
    expect(await waitFor(async () => (await sleepingBackends()) === 20, 20_000, 50)).toBe(true);

    const signalledAt = performance.now();
    s.child.kill('SIGTERM');
    expect(await waitFor(() => refused(s.port), 2000, 20)).toBe(true);
    const refusedAfter = performance.now() - signalledAt;
    // Refused while the 20 were still running: the port closed first, the requests went on.
    expect(finished).toBe(0);

    const results = await Promise.all(requests);
    const answeredAfter = performance.now() - signalledAt;
    for (const r of results) {
      expect(r).toMatchObject({ status: 200, body: { sleptMs: 2500 } });
    }
    const exit = await s.exited;
    expect(exit.code).toBe(0);
    expect(exit.at - signalledAt).toBeLessThan(grace + 2000);
    expect(await waitFor(async () => (await db.leaks()).length === 0, 2000)).toBe(true);
    expect(s.output()).toContain('shutdown complete');
    console.info(
      `SIGTERM with 20 requests in flight: refused new connections after ${refusedAfter.toFixed(0)} ms, ` +
        `all 20 answered 200 after ${answeredAfter.toFixed(0)} ms, exit 0 after ${(exit.at - signalledAt).toFixed(0)} ms`,
    );
  });

  it('aborts what is still running when the grace period ends and rolls its transactions back', async () => {
    const grace = 1000;
    const s = await service({ SHUTDOWN_TIMEOUT: String(grace) });
    const requests = [1, 2, 3].map((i) => slow(s, `ms=30000&email=grace${i}@example.com`));
    expect(await waitFor(async () => (await sleepingBackends()) === 3, 20_000, 50)).toBe(true);

    const signalledAt = performance.now();
    s.child.kill('SIGTERM');
    const results = await Promise.all(requests);
    for (const r of results) {
      // The abort answers 504 when the socket is still open; a reset connection is the other allowed outcome.
      if ('status' in r) expect(r.status).toBe(504);
    }
    const exit = await s.exited;
    expect(exit.code).toBe(0);
    expect(exit.at - signalledAt).toBeLessThan(grace + 2000);
    expect(await waitFor(async () => (await db.leaks()).length === 0, 2000)).toBe(true);
    console.info(
      `grace ${grace} ms over 3 requests of 30 s: ${results.filter((r) => 'status' in r && r.status === 504).length} ` +
        `answered 504, exit 0 after ${(exit.at - signalledAt).toFixed(0)} ms`,
    );
    const written = await db.sql`select email from users where email like 'grace%'`;
    expect(written).toEqual([]);
    expect(s.output()).toMatch(/grace period over/);
  });

  it('exits at once on a second signal', async () => {
    const s = await service({ SHUTDOWN_TIMEOUT: '30000' });
    const request = slow(s, 'ms=20000');
    expect(await waitFor(async () => (await sleepingBackends()) === 1, 20_000, 50)).toBe(true);
    s.child.kill('SIGTERM');
    expect(await waitFor(() => refused(s.port), 2000, 20)).toBe(true);
    const secondAt = performance.now();
    s.child.kill('SIGTERM');
    const exit = await s.exited;
    expect(exit.code).toBe(1);
    expect(exit.at - secondAt).toBeLessThan(1500);
    expect(await request).toHaveProperty('error');
    await db.sql`select pg_terminate_backend(pid) from pg_stat_activity where application_name = ${db.appName}`;
  });

  it('shuts down with a non-zero exit code after an uncaught exception or an unhandled rejection', async () => {
    for (const [path, kind] of [
      ['/crash', 'uncaughtException'],
      ['/reject', 'unhandledRejection'],
    ] as const) {
      const s = await service({}, 'test/fixtures/crash-service.mjs');
      expect((await fetch(`${s.url}${path}`)).status).toBe(200);
      const exit = await s.exited;
      expect(exit.code).toBe(1);
      expect(s.output()).toContain(kind);
      expect(s.output()).toContain('shutdown complete');
      expect(await waitFor(async () => (await db.leaks()).length === 0, 2000)).toBe(true);
    }
  });
});
