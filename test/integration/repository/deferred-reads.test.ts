import { sql } from 'drizzle-orm';
import { bigint, integer, pgTable, text } from 'drizzle-orm/pg-core';
import { Hono } from 'hono';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Transactional,
  clearRepositoryCache,
  closeDatabase,
  getDatabase,
  DatabaseManager,
  getDatabaseManager,
  getRepository,
  initDatabase,
  transaction,
} from '@spfn/core/db';
import { TransactionTimeoutError } from '@spfn/core/errors';
import { createTestDatabase, expectNoLeaksThenDrop, urlFor, waitFor, type TestDatabase } from '../../helpers/pg.js';

// Reads before the first write (ADR 0009): under READ COMMITTED, repository reads that come before a transaction's
// first other statement run outside it, on a shared connection; BEGIN goes with the first other statement. What the
// server sees is checked from another connection (pg_stat_activity, txid), never from the layer's own counters.
// PostgreSQL only: the embedded database has one session, so there a transaction's reads always run inside it (no
// deferral; the backend matrix runs the same repository calls in transactions on PGlite).

const items = pgTable('dr_items', {
  id: bigint('id', { mode: 'number' }).primaryKey(),
  name: text('name').notNull(),
  qty: integer('qty').notNull(),
});
const locked = pgTable('dr_locked', {
  id: bigint('id', { mode: 'number' }).primaryKey(),
  qty: integer('qty').notNull(),
});

const POOL_MAX = 4;
let t: TestDatabase;

async function init(url = t.url): Promise<void> {
  await initDatabase({
    url,
    applicationName: t.appName,
    pool: { max: POOL_MAX, acquireTimeout: 10_000 },
    healthCheck: { enabled: false },
    transaction: { timeout: 0 },
  });
  clearRepositoryCache();
}

beforeAll(async () => {
  t = await createTestDatabase('deferred_reads');
  await t.sql`create table dr_items (id bigint primary key, name text not null, qty int not null)`;
  await t.sql`insert into dr_items select g, 'item ' || g, 0 from generate_series(1, 100) g`;
  await t.sql`create table dr_locked (id bigint primary key, qty int not null)`;
  await t.sql`insert into dr_locked values (1, 0)`;
  await init();
});

afterAll(async () => {
  await closeDatabase();
  await expectNoLeaksThenDrop(t);
});

/** Backends of this file's pool inside a transaction, as the server sees them. */
async function inTransaction(): Promise<number> {
  const rows = await t.sql<{ n: number }[]>`
    select count(*)::int as n from pg_stat_activity
    where application_name = ${t.appName} and state like 'idle in transaction%'`;
  return rows[0]!.n;
}

describe('reads before the first write run outside the transaction (READ COMMITTED)', () => {
  it('a transaction that only reads through the repository opens no transaction on the server and holds no connection', async () => {
    const repo = getRepository(items);
    const manager = getDatabaseManager();
    const seen = await transaction(async () => {
      const row = await repo.findById(7);
      const some = await repo.findMany({ where: { qty: 0 }, limit: 3 });
      const n = await repo.count({ qty: 0 });
      const there = await repo.exists({ id: 8 });
      // While the callback still runs: no backend of ours is inside a transaction, no lane is held.
      return { row, some: some.length, n, there, open: await inTransaction(), active: manager.poolStats()[0]!.active };
    });
    expect(seen).toEqual({ row: { id: 7, name: 'item 7', qty: 0 }, some: 3, n: 100, there: true, open: 0, active: 0 });
  });

  it('the first write begins the transaction: later reads run in it and see its writes; nothing is visible outside before commit', async () => {
    const repo = getRepository(items);
    const result = await transaction(async () => {
      const before = await repo.findById(9);
      const openBefore = await inTransaction();
      await repo.update(9, { qty: 5 });
      const openAfter = await inTransaction();
      const inside = await repo.findById(9);
      const [outside] = await t.sql<{ qty: number }[]>`select qty from dr_items where id = 9`;
      const [xid] = await getDatabase().execute<{ xid: string | null }>(
        sql`select txid_current_if_assigned()::text as xid`,
      );
      return { before: before!.qty, openBefore, openAfter, inside: inside!.qty, outside: outside!.qty, xid: xid!.xid };
    });
    expect(result.before).toBe(0);
    expect(result.openBefore).toBe(0);
    expect(result.openAfter).toBe(1);
    expect(result.inside, 'a read after the write runs in the transaction').toBe(5);
    expect(result.outside, 'not visible outside before commit').toBe(0);
    expect(result.xid, 'the write ran in a real transaction').not.toBeNull();
    const [after] = await t.sql<{ qty: number }[]>`select qty from dr_items where id = 9`;
    expect(after!.qty).toBe(5);
  });

  it('a failure after a deferred read rolls back every write, and onCommit hooks only run on commit', async () => {
    const repo = getRepository(items);
    const fired: string[] = [];
    const { onCommit, onRollback } = await import('@spfn/core/db');
    await expect(
      transaction(async () => {
        onCommit(() => fired.push('commit'));
        onRollback(() => fired.push('rollback'));
        const row = await repo.findById(10);
        await repo.update(10, { qty: row!.qty + 1 });
        await repo.save({ id: 1000, name: 'new', qty: 1 });
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(fired).toEqual(['rollback']);
    const rows = await t.sql`select id, qty from dr_items where id in (10, 1000) order by id`;
    expect(rows).toEqual([{ id: '10', qty: 0 }]);
    await transaction(async () => {
      onCommit(() => fired.push('commit'));
      await repo.findById(10);
    });
    expect(fired).toEqual(['rollback', 'commit']);
  });

  it('deferReads: false runs the first read inside the transaction', async () => {
    const repo = getRepository(items);
    const open = await transaction(
      async () => {
        await repo.findById(11);
        return inTransaction();
      },
      { deferReads: false },
    );
    expect(open).toBe(1);
  });

  it('a read with the caller’s own SQL condition runs inside the transaction', async () => {
    const repo = getRepository(items);
    const open = await transaction(async () => {
      await repo.findOne(sql`${items.id} = ${12}`);
      return inTransaction();
    });
    expect(open).toBe(1);
  });

  it('REPEATABLE READ keeps one snapshot from the first read: a commit from outside stays invisible', async () => {
    const repo = getRepository(items);
    const seen = await transaction(
      async () => {
        const first = await repo.findById(13);
        await t.sql`update dr_items set qty = 42 where id = 13`;
        const second = await repo.findById(13);
        return [first!.qty, second!.qty];
      },
      { isolationLevel: 'repeatable read' },
    );
    expect(seen).toEqual([0, 0]);
    // Under READ COMMITTED each statement sees the latest commit, inside a transaction or not.
    await t.sql`update dr_items set qty = 0 where id = 13`;
    const rc = await transaction(async () => {
      const first = await repo.findById(13);
      await t.sql`update dr_items set qty = 43 where id = 13`;
      const second = await repo.findById(13);
      return [first!.qty, second!.qty];
    });
    expect(rc).toEqual([0, 43]);
  });

  it('Transactional(): a read-only request sends no BEGIN; a request that writes commits', async () => {
    const repo = getRepository(items);
    const app = new Hono();
    let openDuring = -1;
    app.get('/items/:id', Transactional(), async (c) => {
      const row = await repo.findById(Number(c.req.param('id')));
      openDuring = await inTransaction();
      return c.json(row);
    });
    app.post('/items/:id', Transactional(), async (c) => {
      const row = await repo.findById(Number(c.req.param('id')));
      const saved = await repo.update(row!.id, { qty: row!.qty + 1 });
      return c.json(saved);
    });
    const read = await app.request('/items/14');
    expect(read.status).toBe(200);
    expect(await read.json()).toEqual({ id: 14, name: 'item 14', qty: 0 });
    expect(openDuring).toBe(0);
    const write = await app.request('/items/14', { method: 'POST' });
    expect(write.status).toBe(200);
    expect(((await write.json()) as { qty: number }).qty).toBe(1);
  });
});

/**
 * Takes dr_locked's ACCESS EXCLUSIVE lock in a transaction of `holder` for `ms`, and resolves once the server shows it
 * granted; `released` settles when the lock is released.
 */
async function lockFor(holder: postgres.Sql, ms: number): Promise<{ released: Promise<unknown> }> {
  const held = holder.begin(async (tx) => {
    await tx`lock table dr_locked in access exclusive mode`;
    await new Promise((r) => setTimeout(r, ms));
  });
  await waitFor(async () => {
    const rows = await t.sql`select 1 from pg_locks where relation = 'dr_locked'::regclass and granted`;
    return rows.length > 0;
  });
  // Wrapped: an async function returning the promise itself would wait for it.
  return { released: held };
}

describe('the deadline of a transaction whose read runs outside it', () => {
  it('a deferred read blocked at the deadline: TransactionTimeoutError at once, the read is cancelled on the server, no write survives', async () => {
    const repo = getRepository(locked);
    // Another session holds the table's ACCESS EXCLUSIVE lock: the read waits for it.
    const holder = postgres(t.url, { max: 1, onnotice: () => undefined });
    try {
      const { released: held } = await lockFor(holder, 1500);
      const started = performance.now();
      const outcome = await transaction(
        async () => {
          const row = await repo.findById(1);
          await repo.update(1, { qty: row!.qty + 1 });
        },
        { timeout: 200 },
      ).then(
        () => 'committed',
        (err: unknown) => err,
      );
      const tookMs = performance.now() - started;
      expect(outcome).toBeInstanceOf(TransactionTimeoutError);
      expect(tookMs, 'the caller is told at the deadline, not when the lock is released').toBeLessThan(1400);
      // The read no longer waits on the server: our backend is idle again (its cancel landed).
      const waiting = await t.sql`
        select pid from pg_stat_activity where application_name = ${t.appName} and wait_event_type = 'Lock'`;
      expect(waiting).toHaveLength(0);
      await held;
      const [row] = await t.sql<{ qty: number }[]>`select qty from dr_locked where id = 1`;
      expect(row!.qty).toBe(0);
    } finally {
      await holder.end();
    }
  });

  it('cancelling deferred reads at their deadline never hits another caller’s statement', async () => {
    // A cancel request stops whatever its backend runs when it lands. Deferred reads here wait on a lock that is
    // released around their deadlines, so many of them end just as their cancel is sent, while plain reads of
    // other callers are pipelined on the same connections: a cancel sent for a read that shares its connection
    // (or that lands after it ended) would stop one of theirs.
    const blocked = getRepository(locked);
    const others = getRepository(items);
    const holder = postgres(t.url, { max: 1, onnotice: () => undefined });
    const failures: unknown[] = [];
    const outcomes: Record<string, number> = {};
    let plainDone = 0;
    try {
      for (let round = 0; round < 5; round++) {
        const { released: held } = await lockFor(holder, 400);
        let stop = false;
        const plain = Array.from({ length: 6 }, async () => {
          while (!stop) {
            await others.findById(1 + (plainDone % 100)).then(
              () => plainDone++,
              (err: unknown) => failures.push(err),
            );
          }
        });
        const results = await Promise.all(
          Array.from({ length: 16 }, (_, i) =>
            transaction(() => blocked.findById(1), { timeout: 330 + 10 * i }).then(
              () => 'committed',
              (err: unknown) => (err instanceof TransactionTimeoutError ? 'timeout' : String(err)),
            ),
          ),
        );
        await held;
        stop = true;
        await Promise.all(plain);
        for (const r of results) outcomes[r] = (outcomes[r] ?? 0) + 1;
      }
    } finally {
      await holder.end();
    }
    console.log(`[deferred cancel] outcomes ${JSON.stringify(outcomes)}, plain reads ${plainDone}`);
    expect(Object.keys(outcomes).every((k) => k === 'committed' || k === 'timeout')).toBe(true);
    expect(failures, 'no plain read was cancelled or failed').toEqual([]);
    expect(plainDone).toBeGreaterThan(0);
    expect(await inTransaction()).toBe(0);
  });
});

describe('the pool cancels a plain statement only when no other statement shares its connection', () => {
  type Watch = { lane?: unknown; query?: { active?: boolean } };
  type InternalPool = {
    query(text: string, params: unknown[], mode: 'array', prepare: boolean, watch?: Watch): Promise<unknown[]>;
    cancelShared(watch: Watch, settled: Promise<unknown>): Promise<boolean>;
  };

  it('alone on its connection it is cancelled (57014); with a statement behind it, it is left to finish', async () => {
    const m = new DatabaseManager({
      url: t.url,
      applicationName: t.appName,
      pool: { max: 1 },
      healthCheck: { enabled: false },
    });
    try {
      await m.init();
      const pool = m.pools.primary as unknown as InternalPool;
      const alone: Watch = {};
      const sleeping = pool.query('select pg_sleep(5)', [], 'array', false, alone);
      expect(await waitFor(() => alone.query?.active === true, 2000, 5)).toBe(true);
      await new Promise((r) => setTimeout(r, 50));
      const started = performance.now();
      const cancelled = await pool.cancelShared(
        alone,
        sleeping.catch(() => undefined),
      );
      expect(cancelled).toBe(true);
      await expect(sleeping).rejects.toMatchObject({ code: '57014' });
      expect(performance.now() - started).toBeLessThan(4000);

      const first: Watch = {};
      const slow = pool.query('select pg_sleep(0.3), 1 as n', [], 'array', false, first);
      const behind = pool.query('select 2 as n', [], 'array', false);
      expect(await waitFor(() => first.query?.active === true, 2000, 5)).toBe(true);
      expect(
        await pool.cancelShared(
          first,
          slow.catch(() => undefined),
        ),
      ).toBe(false);
      expect((await slow)[0]).toEqual(['', 1]);
      expect(await behind).toEqual([[2]]);

      // A cancel that lands after its statement ended must not stop the next one: the connection takes nothing
      // new until the request landed. 30 statements ending around the moment their cancel is sent.
      const hit: unknown[] = [];
      for (let i = 0; i < 30; i++) {
        const watch: Watch = {};
        const short = pool.query('select pg_sleep(0.02)', [], 'array', false, watch);
        await new Promise((r) => setTimeout(r, 10 + (i % 15)));
        const cancelling = pool.cancelShared(
          watch,
          short.catch(() => undefined),
        );
        const next = pool.query('select pg_sleep(0.05), 3 as n', [], 'array', false);
        await short.catch(() => undefined);
        await cancelling;
        await next.catch((err: unknown) => hit.push(err));
      }
      expect(hit).toEqual([]);
    } finally {
      await m.close();
    }
  });
});

describe('the connection is taken by the first statement', () => {
  it('a transaction that times out while its first statement waits for a connection gives the wait up', async () => {
    const { dbEvents } = await import('@spfn/core/db');
    const m = new DatabaseManager({
      url: t.url,
      applicationName: t.appName,
      pool: { max: 1, acquireTimeout: 800 },
      healthCheck: { enabled: false },
    });
    const poolTimeouts: unknown[] = [];
    const onTimeout = (e: unknown): void => void poolTimeouts.push(e);
    dbEvents.on('pool:timeout', onTimeout);
    try {
      await m.init();
      let release!: () => void;
      const holding = m.transaction(async (tx) => {
        await tx.execute(sql`select 1`);
        await new Promise<void>((r) => (release = r));
      });
      await waitFor(() => m.pools.primary.counts().active === 1, 2000, 5);
      const waiting = m
        .transaction(async (tx) => tx.execute(sql`select 2`), { timeout: 150 })
        .then(
          () => 'committed',
          (err: unknown) => err,
        );
      await waitFor(() => m.pools.primary.counts().waiting === 1, 2000, 5);
      expect(await waiting).toBeInstanceOf(TransactionTimeoutError);
      expect(m.pools.primary.counts().waiting, 'the wait was given up').toBe(0);
      // Past the acquire timeout: the withdrawn wait raised no pool timeout of its own.
      await new Promise((r) => setTimeout(r, 1000));
      expect(poolTimeouts).toEqual([]);
      release();
      await holding;
      expect(m.pools.primary.counts()).toEqual({ active: 0, idle: 1, waiting: 0, max: 1 });
    } finally {
      dbEvents.off('pool:timeout', onTimeout);
      await m.close();
    }
  });
});

describe('the server decides what a transaction without an isolation level is', () => {
  it('with default_transaction_isolation = serializable, reads are not deferred', async () => {
    await closeDatabase();
    const name = `${t.name}_ser`;
    const admin = postgres(urlFor('postgres'), { max: 1, onnotice: () => undefined });
    await admin.unsafe(`create database "${name}"`);
    const other = postgres(urlFor(name), { max: 1, onnotice: () => undefined });
    try {
      await other`create table dr_items (id bigint primary key, name text not null, qty int not null)`;
      await other`insert into dr_items values (1, 'item 1', 0)`;
      await other.unsafe(`alter database "${name}" set default_transaction_isolation = 'serializable'`);
      await init(urlFor(name));
      const repo = getRepository(items);
      const open = await transaction(async () => {
        await repo.findById(1);
        const rows = await other<{ n: number }[]>`
          select count(*)::int as n from pg_stat_activity
          where application_name = ${t.appName} and datname = ${name} and state like 'idle in transaction%'`;
        return rows[0]!.n;
      });
      expect(open).toBe(1);
    } finally {
      await closeDatabase();
      await other.end();
      await admin.unsafe(`drop database if exists "${name}" with (force)`);
      await admin.end();
      await init();
    }
  });
});
