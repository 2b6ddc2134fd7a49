import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatabaseManager } from '@spfn/core/db';
import { createTestDatabase, expectNoLeaksThenDrop, waitFor, type TestDatabase } from '../helpers/pg.js';

const POOL_MAX = 4;
let t: TestDatabase;
let manager: DatabaseManager;

beforeAll(async () => {
  t = await createTestDatabase('overload');
  manager = new DatabaseManager({
    url: t.url,
    applicationName: t.appName,
    pool: { max: POOL_MAX, acquireTimeout: 20_000 },
    healthCheck: { enabled: false },
    transaction: { timeout: 0 },
  });
  await manager.init();
});

afterAll(async () => {
  await manager.close();
  await expectNoLeaksThenDrop(t);
});

async function sessions(): Promise<{ total: number; inTransaction: number }> {
  const rows = await t.sql<{ state: string | null }[]>`
    select state from pg_stat_activity where application_name = ${t.appName}`;
  return { total: rows.length, inTransaction: rows.filter((r) => r.state?.startsWith('idle in transaction')).length };
}

/** Runs `count` calls of `fn`, `concurrency` at a time; returns the failures. */
async function hammer(count: number, concurrency: number, fn: (i: number) => Promise<unknown>): Promise<unknown[]> {
  let next = 0;
  const failures: unknown[] = [];
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        await fn(i).catch((err: unknown) => failures.push(err));
      }
    }),
  );
  return failures;
}

describe(`a lasting overload (64 callers, pool of ${POOL_MAX})`, () => {
  it('every caller gets a connection, transactions keep their session, and the counts return to baseline', async () => {
    const db = manager.getDatabase();
    let transactions = 0;
    let plain = 0;
    const failures = await hammer(4000, 64, async (i) => {
      if (i % 4 === 3) {
        await manager.transaction(async (tx) => {
          const [a] = await tx.execute<{ pid: number; x: string }>(
            sql`select pg_backend_pid() as pid, txid_current()::text as x`,
          );
          const [b] = await tx.execute<{ pid: number; x: string }>(
            sql`select pg_backend_pid() as pid, txid_current()::text as x`,
          );
          if (a?.pid !== b?.pid || a?.x !== b?.x) throw new Error('the transaction moved to another session');
        });
        transactions++;
      } else {
        const [row] = await db.execute<{ n: number }>(sql`select ${i}::int as n`);
        if (row?.n !== i) throw new Error(`wrong answer ${row?.n} for ${i}`);
        plain++;
      }
    });
    expect(failures).toEqual([]);
    expect({ plain, transactions }).toEqual({ plain: 3000, transactions: 1000 });
    expect(manager.pools.primary.counts()).toEqual({ active: 0, idle: POOL_MAX, waiting: 0, max: POOL_MAX });
    const s = await sessions();
    expect(s.inTransaction).toBe(0);
    expect(s.total).toBeLessThanOrEqual(POOL_MAX);
  }, 120_000);

  it('transactions asked for during a flood of plain statements all get a connection', async () => {
    const db = manager.getDatabase();
    let flooding = true;
    let plain = 0;
    const flood = Promise.all(
      Array.from({ length: 60 }, async () => {
        while (flooding) {
          await db.execute(sql`select pg_sleep(0.002)`);
          plain++;
        }
      }),
    );
    // Wait until every connection carries plain statements.
    while (manager.pools.primary.counts().active < POOL_MAX) await new Promise((r) => setTimeout(r, 5));
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, () => manager.transaction(async (tx) => tx.execute(sql`select 1 as one`))),
    );
    flooding = false;
    await flood;
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    expect(plain).toBeGreaterThan(0);
    expect(manager.pools.primary.counts()).toEqual({ active: 0, idle: POOL_MAX, waiting: 0, max: POOL_MAX });
    expect((await sessions()).total).toBeLessThanOrEqual(POOL_MAX);
  }, 120_000);
});

describe('idle timeout and max lifetime never end a connection a transaction holds', () => {
  it('a transaction idle past the idle timeout keeps its session; idle connections close afterwards', async () => {
    const m = new DatabaseManager({
      url: t.url,
      applicationName: t.appName,
      pool: { max: 2, idleTimeout: 1, maxLifetime: 1 },
      healthCheck: { enabled: false },
      transaction: { timeout: 0 },
    });
    try {
      await m.init();
      const pids = await m.transaction(async (tx) => {
        const [a] = await tx.execute<{ pid: number }>(sql`select pg_backend_pid() as pid`);
        await new Promise((r) => setTimeout(r, 2600));
        const [b] = await tx.execute<{ pid: number }>(sql`select pg_backend_pid() as pid`);
        return [a?.pid, b?.pid];
      });
      expect(pids[0]).toBeDefined();
      expect(pids[1]).toBe(pids[0]);
      // Nobody uses the pool now: its connections close after the idle timeout (max lifetime 1 s as well).
      const closed = await waitFor(
        async () =>
          (await t.sql`select 1 from pg_stat_activity where application_name = ${t.appName} and pid = ${pids[0]!}`)
            .length === 0,
        5000,
      );
      expect(closed, 'the idle connection was closed').toBe(true);
      const [row] = await m.getDatabase().execute<{ one: number }>(sql`select 1 as one`);
      expect(row?.one).toBe(1);
    } finally {
      await m.close();
    }
  }, 30_000);
});
