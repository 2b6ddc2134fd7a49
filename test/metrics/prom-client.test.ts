import { sql } from 'drizzle-orm';
import { Hono } from 'hono';
import { Counter, Registry, register } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeDatabase, DatabaseManager, getDatabase, initDatabase, transaction } from '@spfn/core/db';
import { ConfigError, PoolTimeoutError, SerializationError, TransactionTimeoutError } from '@spfn/core/errors';
import { createServer } from '@spfn/core/server';
import { closedPort, createTestDatabase, expectNoLeaksThenDrop, type TestDatabase } from '../helpers/pg.js';
import { parsePrometheus, type Exposition } from '../helpers/prometheus.js';

let t: TestDatabase;
/** The application's own registry, as a service that already exports metrics has one. */
const registry = new Registry();
const SECRET = 'metrics-secret-value-4711';

async function scrape(r: Registry = registry): Promise<Exposition> {
  return parsePrometheus(await r.metrics());
}

function delta(before: Exposition, after: Exposition) {
  return (name: string, match?: Record<string, string>): number => after.sum(name, match) - before.sum(name, match);
}

beforeAll(async () => {
  t = await createTestDatabase('prom_client');
  await t.sql`create table items (id bigint generated always as identity primary key, name text unique not null)`;
  await initDatabase({
    url: t.url,
    applicationName: t.appName,
    healthCheck: { enabled: false },
    metrics: { registry },
  });
});

afterAll(async () => {
  await closeDatabase();
  await expectNoLeaksThenDrop(t);
});

describe('metrics in a prom-client registry', () => {
  it("registers the database metrics in the application's registry, next to its own", async () => {
    const orders = new Counter({ name: 'app_orders_total', help: 'Orders', registers: [registry] });
    orders.inc(3);
    const text = await registry.metrics();
    const parsed = parsePrometheus(text);
    expect(parsed.sum('app_orders_total')).toBe(3);
    for (const [name, type] of [
      ['spfn_db_queries_total', 'counter'],
      ['spfn_db_query_duration_seconds', 'histogram'],
      ['spfn_db_transactions_total', 'counter'],
      ['spfn_db_timeouts_total', 'counter'],
      ['spfn_db_pool_wait_seconds', 'histogram'],
      ['spfn_db_pool_active_connections', 'gauge'],
      ['spfn_db_pool_max_connections', 'gauge'],
    ] as const) {
      expect(parsed.types.get(name), name).toBe(type);
    }
    expect(parsed.sum('spfn_db_pool_max_connections', { pool: 'primary' })).toBe(10);
    // Not in prom-client's default registry: the application chose its own.
    expect(await register.getSingleMetricAsString('spfn_db_queries_total').catch(() => 'absent')).toBe('absent');
  });

  it('counts statements, failures by code, and their durations, with no SQL or value in any label', async () => {
    const before = await scrape();
    await getDatabase().execute(sql`insert into items (name) values (${SECRET})`);
    for (let i = 0; i < 4; i++) await getDatabase().execute(sql`select * from items where name = ${SECRET}`);
    await expect(getDatabase().execute(sql`insert into items (name) values (${SECRET})`)).rejects.toThrow();
    const after = await scrape();
    const moved = delta(before, after);
    expect(moved('spfn_db_queries_total', { role: 'primary', outcome: 'ok' })).toBe(5);
    expect(moved('spfn_db_queries_total', { role: 'primary', outcome: 'error' })).toBe(1);
    expect(moved('spfn_db_query_errors_total', { role: 'primary', code: 'UNIQUE_VIOLATION' })).toBe(1);
    expect(moved('spfn_db_query_duration_seconds_count', { role: 'primary' })).toBe(6);
    expect(moved('spfn_db_query_duration_seconds_sum', { role: 'primary' })).toBeGreaterThan(0);
    const text = await registry.metrics();
    expect(text).not.toContain(SECRET);
    for (const s of after.samples) {
      for (const value of Object.values(s.labels)) expect(value).not.toMatch(/select|insert|items|\s/i);
    }
  });

  it('counts transactions by outcome, statement timeouts and transaction timeouts', async () => {
    const before = await scrape();
    await transaction(async () => {
      await getDatabase().execute(sql`select 1`);
    });
    await expect(
      transaction(async () => {
        await getDatabase().execute(sql`select 1`);
        throw new Error('handler failed');
      }),
    ).rejects.toThrow('handler failed');
    await expect(
      transaction(async () => {
        await getDatabase().execute(sql`set local statement_timeout = 50`);
        await getDatabase().execute(sql`select pg_sleep(2)`);
      }),
    ).rejects.toThrow();
    await expect(
      transaction(
        async () => {
          await getDatabase().execute(sql`select pg_sleep(2)`);
        },
        { timeout: 200 },
      ),
    ).rejects.toBeInstanceOf(TransactionTimeoutError);
    let attempts = 0;
    await transaction(
      async () => {
        if (++attempts === 1) throw new SerializationError('could not serialize access', { sqlState: '40001' });
      },
      { retry: { attempts: 2, baseDelay: 1 } },
    );
    const moved = delta(before, await scrape());
    expect(moved('spfn_db_transaction_retries_total')).toBe(1);
    expect(moved('spfn_db_transactions_total', { outcome: 'commit' })).toBe(2);
    expect(moved('spfn_db_transactions_total', { outcome: 'rollback' })).toBe(3); // the retried attempt too
    expect(moved('spfn_db_transactions_total', { outcome: 'timeout' })).toBe(1);
    expect(moved('spfn_db_transaction_duration_seconds_count')).toBe(6);
    expect(moved('spfn_db_timeouts_total', { kind: 'query' })).toBe(1);
    expect(moved('spfn_db_timeouts_total', { kind: 'transaction' })).toBe(1);
    expect(moved('spfn_db_query_errors_total', { code: 'QUERY_TIMEOUT' })).toBeGreaterThanOrEqual(1);
  });

  it('records pool waits, acquire timeouts and live pool gauges of a second manager in the same registry', async () => {
    const small = new DatabaseManager({
      url: t.url,
      applicationName: t.appName,
      pool: { max: 1, acquireTimeout: 300 },
      healthCheck: { enabled: false },
      metrics: { registry },
    });
    await small.init();
    try {
      const before = await scrape();
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      // A transaction takes its connection with its first statement (ADR 0009): the holder runs one, then waits.
      let holding!: () => void;
      const taken = new Promise<void>((r) => (holding = r));
      const holder = small.transaction(async (tx) => {
        await tx.execute(sql`select 1`);
        holding();
        await held;
      });
      await taken;
      // Every connection is taken: the next transaction queues, and the gauges show it while it waits.
      const waiter = small.transaction(async (tx) => tx.execute(sql`select 1`));
      await new Promise((r) => setTimeout(r, 50));
      const during = await scrape();
      expect(delta(before, during)('spfn_db_pool_waiting_requests', { pool: 'primary' })).toBe(1);
      expect(delta(before, during)('spfn_db_pool_active_connections', { pool: 'primary' })).toBe(1);
      await new Promise((r) => setTimeout(r, 50));
      release();
      await Promise.all([holder, waiter]);
      const afterWait = await scrape();
      expect(delta(before, afterWait)('spfn_db_pool_wait_seconds_count', { pool: 'primary' })).toBe(1);
      expect(delta(before, afterWait)('spfn_db_pool_wait_seconds_sum', { pool: 'primary' })).toBeGreaterThan(0.05);

      let releaseAgain!: () => void;
      const heldAgain = new Promise<void>((r) => (releaseAgain = r));
      let holdingAgain!: () => void;
      const takenAgain = new Promise<void>((r) => (holdingAgain = r));
      const holderAgain = small.transaction(async (tx) => {
        await tx.execute(sql`select 1`);
        holdingAgain();
        await heldAgain;
      });
      await takenAgain;
      await expect(small.transaction(async (tx) => tx.execute(sql`select 1`))).rejects.toBeInstanceOf(PoolTimeoutError);
      releaseAgain();
      await holderAgain;
      const moved = delta(before, await scrape());
      expect(moved('spfn_db_timeouts_total', { kind: 'pool_acquire' })).toBe(1);
    } finally {
      await small.close();
    }
    // A closed manager's pools leave the gauges.
    expect((await scrape()).sum('spfn_db_pool_max_connections', { pool: 'primary' })).toBe(10);
  });

  it('exports the same values as JSON and survives a registry that was cleared', async () => {
    const json = await registry.getMetricsAsJSON();
    const histogram = json.find((m) => m.name === 'spfn_db_query_duration_seconds');
    const count = histogram?.values.find(
      (v) => (v as { metricName?: string }).metricName === 'spfn_db_query_duration_seconds_count',
    );
    expect(count?.labels).toEqual({ role: 'primary' });
    expect(count?.value).toBeGreaterThan(0);

    const queries = (await scrape()).sum('spfn_db_queries_total');
    registry.clear();
    await closeDatabase();
    await initDatabase({
      url: t.url,
      applicationName: t.appName,
      healthCheck: { enabled: false },
      metrics: { registry },
    });
    await getDatabase().execute(sql`select 1`);
    // The metrics are back, with the counts they had: counters never go down while the process lives.
    expect((await scrape()).sum('spfn_db_queries_total')).toBe(queries + 1);
  });
});

describe('the metrics and tracing options', () => {
  it('accepts them and refuses a misspelt key or a value of the wrong kind, naming the key', () => {
    expect(() => new DatabaseManager({ metrics: { registry, defaultMetrics: false }, tracing: false })).not.toThrow();
    const misspelt = (() => new DatabaseManager({ metrics: { registy: registry } } as never)) as () => unknown;
    expect(misspelt).toThrow(ConfigError);
    expect(misspelt).toThrow(/metrics\.registy/);
    expect(() => new DatabaseManager({ metrics: { registry: {} as Registry } })).toThrow(/metrics\.registry.*Registry/);
    expect(() => new DatabaseManager({ tracing: true as never })).toThrow(/tracing/);
    expect(() => new DatabaseManager({ tracing: { tracerProvider: 'global' as never } })).toThrow(
      /tracing\.tracerProvider/,
    );
  });
});

describe('a registry that already holds a metric of ours', () => {
  it('is refused with a ConfigError naming metrics.registry, leaving nothing open', async () => {
    const taken = new Registry();
    new Counter({ name: 'spfn_db_queries_total', help: 'someone else', registers: [taken] });
    const manager = new DatabaseManager({ url: t.url, applicationName: t.appName, metrics: { registry: taken } });
    const err = await manager.init().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).variable).toBe('metrics.registry');
    expect(manager.initialized).toBe(false);
  });
});

describe('replica metrics', () => {
  it('counts replica reads, and reads sent to the primary because the replica was behind or down', async () => {
    // A second database stands in for a replica (as in the routing tests): it answers reads, never writes.
    const replica = await createTestDatabase('prom_client_replica');
    const own = new Registry();
    const common = {
      url: t.url,
      applicationName: t.appName,
      healthCheck: { enabled: false },
      metrics: { registry: own },
    };
    const sticky = new DatabaseManager({
      ...common,
      readUrls: replica.url,
      readConsistency: 'sticky',
      stickyWindow: 300,
    });
    const down = new DatabaseManager({
      ...common,
      readUrls: `postgres://postgres@127.0.0.1:${await closedPort()}/none`,
    });
    try {
      const { write, read } = await sticky.init();
      const before = await scrape(own);
      await read.execute(sql`select 1`);
      await read.execute(sql`select 1`);
      // After a write, reads of the same session stay on the primary for the sticky window.
      await write.execute(sql`insert into items (name) values ('replica-fallback')`);
      await read.execute(sql`select 1`);
      const afterSticky = delta(before, await scrape(own));
      expect(afterSticky('spfn_db_queries_total', { role: 'replica', outcome: 'ok' })).toBe(2);
      expect(afterSticky('spfn_db_replica_fallbacks_total', { reason: 'behind' })).toBe(1);
      expect((await scrape(own)).sum('spfn_db_pool_max_connections', { pool: 'replica:0' })).toBe(10);

      // A replica unreachable at start-up is out of the rotation: its reads go to the primary.
      const unreachable = await down.init();
      await unreachable.read.execute(sql`select 1`);
      const moved = delta(before, await scrape(own));
      expect(moved('spfn_db_replica_fallbacks_total', { reason: 'replicas_down' })).toBe(1);
      expect((await scrape(own)).sum('spfn_db_pool_healthy', { pool: 'replica:0' })).toBe(1); // sticky's replica (1) plus the unreachable one (0)
    } finally {
      await Promise.all([sticky.close(), down.close()]);
      await expectNoLeaksThenDrop(replica);
    }
  });
});

describe('the server /metrics', () => {
  it("serves the application's registry: its metrics, ours, HTTP counts and Node's default metrics when asked", async () => {
    const own = new Registry();
    const signups = new Counter({ name: 'app_signups_total', help: 'Sign-ups', registers: [own] });
    const app = new Hono().get('/signup', (c) => {
      signups.inc();
      return c.json({ ok: true });
    });
    await closeDatabase(); // the server initialises the default database with its own registry
    const server = await createServer({
      configFile: false,
      app,
      database: { url: t.url, applicationName: t.appName, healthCheck: { enabled: false } },
      metrics: { registry: own, defaultMetrics: true },
    });
    try {
      await server.app.request('/signup');
      await server.app.request('/signup');
      await getDatabase().execute(sql`select 1`);
      const res = await server.app.request('/metrics');
      expect(res.headers.get('content-type')).toBe(own.contentType);
      const parsed = parsePrometheus(await res.text());
      expect(parsed.sum('app_signups_total')).toBe(2);
      expect(parsed.sum('spfn_http_requests_total', { method: 'GET', status: '200' })).toBe(2);
      expect(parsed.sum('spfn_http_request_duration_seconds_count', { method: 'GET' })).toBe(2);
      expect(parsed.types.get('spfn_http_requests_in_flight')).toBe('gauge');
      expect(parsed.sum('spfn_db_queries_total', { outcome: 'ok' })).toBeGreaterThanOrEqual(1);
      expect(parsed.types.get('process_cpu_user_seconds_total')).toBe('counter');
      expect(parsed.types.get('nodejs_eventloop_lag_seconds')).toBe('gauge');
    } finally {
      await server.shutdown();
    }
  });

  it("uses prom-client's default registry when given none, so metrics registered there are served too", async () => {
    const jobs = new Counter({ name: 'app_default_jobs_total', help: 'Jobs' });
    jobs.inc();
    const server = await createServer({
      configFile: false,
      database: { url: t.url, applicationName: t.appName, healthCheck: { enabled: false } },
    });
    try {
      const parsed = parsePrometheus(await (await server.app.request('/metrics')).text());
      expect(parsed.sum('app_default_jobs_total')).toBe(1);
      expect(parsed.types.get('spfn_db_queries_total')).toBe('counter');
      expect(parsed.sum('spfn_db_pool_max_connections', { pool: 'primary' })).toBe(10);
      // Node's default metrics only when asked.
      expect(parsed.types.has('process_cpu_user_seconds_total')).toBe(false);
    } finally {
      await server.shutdown();
    }
    // An application that clears the default registry (common between tests) gets our metrics back with the
    // next server, the HTTP counts it had included.
    const served = parsePrometheus(await register.metrics()).sum('spfn_http_requests_total');
    expect(served).toBeGreaterThan(0);
    register.clear();
    const again = await createServer({
      configFile: false,
      database: { url: t.url, applicationName: t.appName, healthCheck: { enabled: false } },
    });
    try {
      const parsed = parsePrometheus(await (await again.app.request('/metrics')).text());
      expect(parsed.sum('app_default_jobs_total')).toBe(0);
      expect(parsed.types.get('spfn_db_queries_total')).toBe('counter');
      expect(parsed.sum('spfn_http_requests_total')).toBe(served); // this scrape counts once answered
    } finally {
      await again.shutdown();
      register.clear();
    }
  });
});
