import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeDatabase, DatabaseManager, getDatabase, initDatabase, dbEvents } from '@spfn/core/db';
import { ConnectionError, DatabaseNotInitializedError, PoolTimeoutError } from '@spfn/core/errors';
import { closedPort, createTestDatabase, waitFor, type TestDatabase, expectNoLeaksThenDrop } from '../helpers/pg.js';

let t: TestDatabase;

beforeAll(async () => {
  t = await createTestDatabase('lifecycle');
});

afterAll(async () => {
  await closeDatabase();
  await expectNoLeaksThenDrop(t);
});

describe('default instance lifecycle', () => {
  it('getDatabase before init throws DatabaseNotInitializedError', () => {
    expect(() => getDatabase()).toThrow(DatabaseNotInitializedError);
  });

  it('init twice, and twice at once, returns the same instances', async () => {
    const options = { url: t.url, applicationName: t.appName, healthCheck: { enabled: false } };
    const [a, b] = await Promise.all([initDatabase(options), initDatabase(options)]);
    expect(a.write).toBe(b.write);
    const c = await initDatabase(options);
    expect(c.write).toBe(a.write);
    expect(getDatabase()).toBe(a.write);
    expect(getDatabase('read')).toBe(a.read);
    const rows = await getDatabase().execute<{ one: number }>(sql`select 1 as one`);
    expect(rows[0]?.one).toBe(1);
    // One pool: the concurrent init did not open a second set of connections.
    const backends = await t.leaks();
    expect(backends.length).toBeGreaterThan(0);
    expect(backends.length).toBeLessThanOrEqual(10);
  });

  it('close twice is safe; getDatabase after close throws', async () => {
    await Promise.all([closeDatabase(), closeDatabase()]);
    await closeDatabase();
    expect(() => getDatabase()).toThrow(DatabaseNotInitializedError);
    expect(await waitFor(async () => (await t.leaks()).length === 0, 5000)).toBe(true);
  });

  it('can init again after close', async () => {
    const { write } = await initDatabase({ url: t.url, applicationName: t.appName, healthCheck: { enabled: false } });
    const rows = await write.execute<{ two: number }>(sql`select 2 as two`);
    expect(rows[0]?.two).toBe(2);
    await closeDatabase();
  });
});

describe('connection failures', () => {
  it('a closed port gives ConnectionError within connect timeout plus retries, and leaves nothing open', async () => {
    const port = await closedPort();
    const errors: string[] = [];
    const off = dbEvents.on('connection:error', (e) => errors.push(e.code));
    const manager = new DatabaseManager({
      url: `postgres://postgres:hunter2@127.0.0.1:${port}/nowhere`,
      connectRetries: 2,
      connectRetryDelay: 50,
      pool: { connectTimeout: 2 },
    });
    const started = performance.now();
    const err = await manager.init().catch((e: unknown) => e);
    const elapsed = performance.now() - started;
    off();
    expect(err).toBeInstanceOf(ConnectionError);
    expect((err as Error).message).toContain('127.0.0.1');
    expect((err as Error).message).not.toContain('hunter2');
    expect(errors).toHaveLength(3);
    // 3 attempts × at most the 2 s connect timeout + 50 + 100 ms of backoff.
    expect(elapsed).toBeLessThan(3 * 2000 + 150 + 2000);
    expect(() => manager.getDatabase()).toThrow(DatabaseNotInitializedError);
    await manager.close();
  });

  it('a failed init can be retried once the cause is fixed', async () => {
    const port = await closedPort();
    const manager = new DatabaseManager({ connectRetries: 0, healthCheck: { enabled: false } });
    await expect(manager.init({ url: `postgres://postgres@127.0.0.1:${port}/x` })).rejects.toBeInstanceOf(
      ConnectionError,
    );
    const { write } = await manager.init({ url: t.url, applicationName: t.appName });
    expect((await write.execute<{ ok: number }>(sql`select 1 as ok`))[0]?.ok).toBe(1);
    await manager.close();
  });
});

describe('array types', () => {
  it('arrays parse on every connection, also after a pool reset, and a cold reserve does not hang', async () => {
    const manager = new DatabaseManager({
      url: t.url,
      applicationName: t.appName,
      healthCheck: { enabled: false },
      pool: { max: 6, acquireTimeout: 3000 },
    });
    const db = (await manager.init()).write;
    const check = async (): Promise<void> => {
      const rows = await Promise.all(
        Array.from({ length: 6 }, () =>
          db.execute<{ a: number[]; t: string[] }>(sql`select array[1,2]::int[] as a, array['x']::text[] as t`),
        ),
      );
      for (const [row] of rows) expect(row).toEqual({ a: [1, 2], t: ['x'] });
    };
    await check();
    await manager.pools.primary.reset?.();
    // The first statements after the reset open connections through reserve() (transactions), then plain ones.
    await Promise.all(Array.from({ length: 3 }, () => manager.transaction(async (tx) => tx.execute(sql`select 1`))));
    await check();
    await manager.close();
  });
});

describe('pool acquire timeout', () => {
  it('pool of 2 held busy: the 3rd caller gets PoolTimeoutError near the acquire timeout, then the pool recovers', async () => {
    const manager = new DatabaseManager({
      url: t.url,
      applicationName: t.appName,
      pool: { max: 2, acquireTimeout: 500 },
      healthCheck: { enabled: false },
      transaction: { timeout: 0 },
    });
    const db = (await manager.init()).write;
    const timeouts: number[] = [];
    const off = dbEvents.on('pool:timeout', (e) => timeouts.push(e.waiting));
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const holders = [1, 2].map(() =>
      manager.transaction(async (tx) => {
        await tx.execute(sql`select 1`);
        await held;
      }),
    );
    await waitFor(() => manager.pools.primary.counts().active === 2, 5000, 10);

    const started = performance.now();
    // A transaction takes its connection with its first statement (ADR 0009).
    const third = await manager.transaction(async (tx) => tx.execute(sql`select 1`)).catch((e: unknown) => e);
    const waited = performance.now() - started;
    expect(third).toBeInstanceOf(PoolTimeoutError);
    const e = third as PoolTimeoutError;
    expect(e.active).toBe(2);
    expect(e.idle).toBe(0);
    expect(e.waiting).toBeGreaterThanOrEqual(1);
    expect(e.max).toBe(2);
    expect(waited).toBeGreaterThanOrEqual(450);
    expect(waited).toBeLessThan(3000);

    // A plain query also waits when every connection is held by a transaction.
    const plain = await db.execute(sql`select 1`).catch((err: unknown) => err);
    expect((plain as { cause?: unknown }).cause ?? plain).toBeInstanceOf(PoolTimeoutError);
    expect(timeouts.length).toBeGreaterThanOrEqual(2);
    off();

    release();
    await Promise.all(holders);
    expect(manager.pools.primary.counts()).toMatchObject({ active: 0, waiting: 0 });
    const rows = await Promise.all([1, 2, 3, 4].map(() => db.execute<{ ok: number }>(sql`select 1 as ok`)));
    expect(rows.every((r) => r[0]?.ok === 1)).toBe(true);
    await manager.close();
  });

  it('a connection handed out after the caller gave up is returned, not leaked', async () => {
    const manager = new DatabaseManager({
      url: t.url,
      applicationName: t.appName,
      pool: { max: 1, acquireTimeout: 200 },
      healthCheck: { enabled: false },
      transaction: { timeout: 0 },
    });
    const db = (await manager.init()).write;
    // A long plain statement keeps the only connection busy; reserve() waits inside postgres.js.
    const slow = Promise.resolve(db.execute(sql`select pg_sleep(0.6)`));
    await new Promise((r) => setTimeout(r, 50));
    await expect(manager.transaction(async (tx) => tx.execute(sql`select 1`))).rejects.toBeInstanceOf(PoolTimeoutError);
    await slow;
    // The late connection went back: a transaction now gets it.
    await expect(manager.transaction(async (tx) => (await tx.execute(sql`select 7 as n`))[0])).resolves.toEqual({
      n: 7,
    });
    expect(manager.pools.primary.counts().active).toBe(0);
    await manager.close();
  });
});
