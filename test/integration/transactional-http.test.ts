import { EventEmitter } from 'node:events';
import { sql } from 'drizzle-orm';
import { integer, pgTable, text } from 'drizzle-orm/pg-core';
import { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  closeDatabase,
  dbEvents,
  getDatabase,
  getTransaction,
  initDatabase,
  runWithTransaction,
  Transactional,
} from '@spfn/core/db';
import { itPostgresOnly, openTestBackend, type TestBackend } from '../helpers/backend.js';

const rows = pgTable('rows', { name: text('name').primaryKey(), n: integer('n').notNull().default(0) });

let b: TestBackend;

async function names(): Promise<string[]> {
  return (await b.exec<{ name: string }>('select name from rows order by name')).map((r) => r.name);
}

/** Backends of this file left idle in a transaction; PGlite's one session is checked by its next statement. */
async function idleInTransaction(): Promise<number> {
  if (b.kind === 'pglite') {
    const [row] = await b.exec<{ open: boolean }>(`select txid_current_if_assigned() is not null as open`);
    return row!.open ? 1 : 0;
  }
  const [row] = await b.exec<{ n: number }>(
    `select count(*)::int as n from pg_stat_activity where application_name = $1 and state like 'idle in transaction%'`,
    [b.server!.appName],
  );
  return row!.n;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function app(): Hono {
  const a = new Hono();
  a.post('/ok', Transactional(), async (c) => {
    await getDatabase().insert(rows).values({ name: 'ok' });
    return c.json({ txId: c.get('txId') }, 201);
  });
  a.post('/throws', Transactional(), async () => {
    await getDatabase().insert(rows).values({ name: 'throws' });
    throw new Error('boom');
  });
  a.post('/not-found', Transactional(), async () => {
    await getDatabase().insert(rows).values({ name: 'nf' });
    throw new HTTPException(404, { message: 'no such thing' });
  });
  a.post('/conflict', Transactional(), async () => {
    await getDatabase().insert(rows).values({ name: 'conf' });
    throw new HTTPException(409, { message: 'already there' });
  });
  a.post('/duplicate', Transactional(), async () => {
    await getDatabase().insert(rows).values({ name: 'dup' });
    await getDatabase().insert(rows).values({ name: 'dup' });
    return new Response('unreachable');
  });
  a.post('/timeout', Transactional({ timeout: 200 }), async (c) => {
    await getDatabase()
      .insert(rows)
      .values({ name: `X-${c.req.query('i') ?? ''}` });
    await sleep(400);
    await getDatabase()
      .insert(rows)
      .values({ name: `M-${c.req.query('i') ?? ''}` });
    return c.text('late');
  });
  a.post('/sleep', Transactional({ timeout: 300 }), async () => {
    await getDatabase().insert(rows).values({ name: 'S' });
    await getDatabase().execute(sql`select pg_sleep(5)`);
    return new Response('unreachable');
  });
  return a;
}

beforeAll(async () => {
  b = await openTestBackend('http');
  await initDatabase({ ...b.options, pool: { max: 10 } });
  await b.exec('create table rows (name text primary key, n int not null default 0)');
});

beforeEach(async () => {
  await b.exec('truncate rows');
});

afterAll(async () => {
  await closeDatabase();
  await b.finish();
});

describe('Transactional()', () => {
  it('commits on success and exposes the txId', async () => {
    const res = await app().request('/ok', { method: 'POST' });
    expect(res.status).toBe(201);
    const body = (await res.json()) as { txId: string };
    expect(body.txId).toMatch(/^[0-9a-f-]{36}$/);
    expect(await names()).toEqual(['ok']);
  });

  it('rolls back when the handler throws (Hono records the error)', async () => {
    const res = await app().request('/throws', { method: 'POST' });
    expect(res.status).toBe(500);
    expect(await names()).toEqual([]);
  });

  it("the handler's own HTTP errors pass through unchanged, and roll back", async () => {
    const nf = await app().request('/not-found', { method: 'POST' });
    expect(nf.status).toBe(404);
    expect(await nf.text()).toBe('no such thing');
    const conf = await app().request('/conflict', { method: 'POST' });
    expect(conf.status).toBe(409);
    expect(await conf.text()).toBe('already there');
    expect(await names()).toEqual([]);
  });

  it('a database error becomes its typed error and status', async () => {
    const a = app();
    let seen: unknown;
    a.onError((err, c) => {
      seen = err;
      return c.json({ code: (err as { code?: string }).code }, 409);
    });
    const res = await a.request('/duplicate', { method: 'POST' });
    expect(res.status).toBe(409);
    expect((seen as { code: string }).code).toBe('UNIQUE_VIOLATION');
    // With Hono's default error handler the status comes from the error itself.
    const plain = await app().request('/duplicate', { method: 'POST' });
    expect(plain.status).toBe(409);
    expect(((await plain.json()) as { error: { code: string } }).error.code).toBe('UNIQUE_VIOLATION');
    expect(await names()).toEqual([]);
  });

  it('a slow transaction is logged and emitted with txId, route and duration', async () => {
    const a = new Hono();
    a.get('/slow/:id', Transactional({ slowThreshold: 50 }), async (c) => {
      await getDatabase().execute(sql`select pg_sleep(0.08)`);
      return c.text('done');
    });
    const slow: { txId: string; route?: string | undefined; durationMs: number }[] = [];
    const off = dbEvents.on('transaction:slow', (e) => slow.push(e));
    expect((await a.request('/slow/1')).status).toBe(200);
    off();
    expect(slow).toHaveLength(1);
    expect(slow[0]!.route).toBe('GET /slow/:id');
    expect(slow[0]!.txId).toMatch(/^[0-9a-f-]{36}$/);
    expect(slow[0]!.durationMs).toBeGreaterThanOrEqual(50);
  });

  it("the seed's middleware form — getDatabase().transaction() + runWithTransaction(tx, next) — commits and rolls back", async () => {
    const a = new Hono();
    a.use('*', async (c, next) => {
      await getDatabase().transaction(async (tx) => {
        await runWithTransaction(tx, () => next());
        if (c.error) throw c.error;
      });
    });
    a.post('/good', async (c) => {
      await getDatabase().insert(rows).values({ name: 'seed-good' });
      return c.json({ inTransaction: getTransaction() !== undefined }, 201);
    });
    a.post('/bad', async () => {
      await getDatabase().insert(rows).values({ name: 'seed-bad' });
      throw new Error('boom');
    });
    const good = await a.request('/good', { method: 'POST' });
    expect(good.status).toBe(201);
    expect(await good.json()).toEqual({ inTransaction: true });
    a.onError((_err, c) => c.json({ error: { code: 'X', message: 'x' } }, 500));
    expect((await a.request('/bad', { method: 'POST' })).status).toBe(500);
    expect(await names()).toEqual(['seed-good']);
  });

  itPostgresOnly('no cancel of a running statement: PGlite runs it on the JS thread')(
    'a statement running at the deadline is cancelled',
    async () => {
      const started = performance.now();
      const res = await app().request('/sleep', { method: 'POST' });
      const elapsed = performance.now() - started;
      expect(res.status).toBe(504);
      expect(elapsed).toBeLessThan(3000);
      const running = await b.exec(
        `select pid from pg_stat_activity where application_name = $1 and query like '%pg_sleep%' and state = 'active'`,
        [b.server!.appName],
      );
      expect(running).toHaveLength(0);
      expect(await names()).toEqual([]);
      expect(await idleInTransaction()).toBe(0);
    },
  );

  it('a statement ending past the deadline: 504, nothing kept', async () => {
    const a = new Hono();
    a.post('/late', Transactional({ timeout: 100 }), async () => {
      await getDatabase().insert(rows).values({ name: 'before' });
      await getDatabase().execute(sql`select pg_sleep(0.3)`);
      await getDatabase().insert(rows).values({ name: 'after' });
      return new Response('committed');
    });
    const res = await a.request('/late', { method: 'POST' });
    expect(res.status).toBe(504);
    // On the server its statement_timeout may answer a moment before the timer: that is the deadline too.
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('TRANSACTION_TIMEOUT');
    expect(await names()).toEqual([]);
    expect(await idleInTransaction()).toBe(0);
  });
});

describe('timeouts really roll back', () => {
  it('X before and M after the deadline: 0 rows of either over 200 runs (50 on PGlite), no idle-in-transaction backend', async () => {
    const a = app();
    const latencies: number[] = [];
    const statuses = new Map<number, number>();
    // PGlite's one session serializes the requests (200 ms each): 50 runs keep the file under 15 s there; the
    // 200-run figure for PGlite comes from transactions.test.ts.
    const runs = b.kind === 'pglite' ? 50 : 200;
    const concurrency = 10;
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < runs) {
          const i = next++;
          const started = performance.now();
          const res = await a.request(`/timeout?i=${i}`, { method: 'POST' });
          latencies.push(performance.now() - started);
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        }
      }),
    );
    // The handlers are still sleeping: wait for them to try their late insert.
    await sleep(500);
    const [counts] = await b.exec<{ x: number; m: number }>(
      `select count(*) filter (where name like 'X-%')::int as x, count(*) filter (where name like 'M-%')::int as m from rows`,
    );
    latencies.sort((p, q) => p - q);
    const p50 = latencies[Math.floor(runs / 2)]!;
    const p99 = latencies[Math.floor(runs * 0.99)]!;
    console.log(
      `[${b.kind}] timeout 200 ms over ${runs} runs (c${concurrency}): X rows ${counts!.x}, M rows ${counts!.m}, ` +
        `statuses ${JSON.stringify(Object.fromEntries(statuses))}, response p50 ${p50.toFixed(0)} ms, p99 ${p99.toFixed(0)} ms, max ${latencies.at(-1)!.toFixed(0)} ms`,
    );
    expect(statuses.get(504)).toBe(runs);
    expect(counts).toEqual({ x: 0, m: 0 });
    expect(await idleInTransaction()).toBe(0);
    expect(p50).toBeGreaterThanOrEqual(190);
  });
});

describe('ambient context isolation', () => {
  it('200 concurrent requests, half transactional: no query outside a transaction runs on its backend, no context lost', async () => {
    type Sample = { pid: number; xid: string | null; at: number };
    const txRecords: { pid: number; xids: Set<string | null>; pids: Set<number>; from: number; to: number }[] = [];
    const plainSamples: Sample[] = [];
    const probe = async (): Promise<Sample> => {
      const [row] = await getDatabase().execute<{ pid: number; xid: string | null }>(
        sql`select pg_backend_pid() as pid, txid_current_if_assigned()::text as xid`,
      );
      return { pid: row!.pid, xid: row!.xid, at: performance.now() };
    };
    const hops = async (samples: Sample[]): Promise<void> => {
      samples.push(await probe());
      await new Promise<void>((resolve) => setTimeout(() => void probe().then((s) => (samples.push(s), resolve())), 1));
      await Promise.resolve().then(async () => samples.push(await probe()));
      const emitter = new EventEmitter();
      const viaEvent = new Promise<void>((resolve) =>
        emitter.once('go', () => void probe().then((s) => (samples.push(s), resolve()))),
      );
      setImmediate(() => emitter.emit('go'));
      await viaEvent;
    };
    const a = new Hono();
    a.post('/tx', Transactional(), async (c) => {
      // The connection is taken by the first statement (lazily): from its answer on, the backend is this
      // transaction's, and a plain statement answered later on the same backend would have run inside it.
      await getDatabase().execute(sql`select txid_current()`);
      const from = performance.now();
      const samples: Sample[] = [];
      await hops(samples);
      txRecords.push({
        pid: samples[0]!.pid,
        pids: new Set(samples.map((s) => s.pid)),
        xids: new Set(samples.map((s) => s.xid)),
        from,
        to: performance.now(),
      });
      return c.text('ok');
    });
    a.post('/plain', async (c) => {
      const samples: Sample[] = [];
      await hops(samples);
      plainSamples.push(...samples);
      return c.text('ok');
    });
    const responses = await Promise.all(
      Array.from({ length: 200 }, async (_, i) => a.request(i % 2 ? '/tx' : '/plain', { method: 'POST' })),
    );
    expect(responses.every((r) => r.status === 200)).toBe(true);
    expect(txRecords).toHaveLength(100);
    expect(plainSamples).toHaveLength(400);
    for (const r of txRecords) {
      expect(r.pids.size, 'every hop of a transaction ran on its backend').toBe(1);
      expect(r.xids.size, 'and in the same transaction').toBe(1);
      expect([...r.xids][0]).not.toBeNull();
    }
    for (const s of plainSamples) expect(s.xid, 'plain queries run outside any transaction').toBeNull();
    const overlapping = plainSamples.filter((s) =>
      txRecords.some((r) => r.pid === s.pid && s.at > r.from && s.at < r.to),
    );
    expect(overlapping).toHaveLength(0);
  });
});
