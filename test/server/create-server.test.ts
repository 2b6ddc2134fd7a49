import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getDatabase, getDatabaseManager, PendingMigrationsError, transaction } from '@spfn/core/db';
import { ConfigError } from '@spfn/core/errors';
import { register } from 'prom-client';
import { createServer, type Readiness, type ServerConfig } from '@spfn/core/server';
import { createTestDatabase, waitFor, type TestDatabase } from '../helpers/pg.js';
import { parsePrometheus } from '../helpers/prometheus.js';

let db: TestDatabase;
let dir: string;

const SEED = `import type { ServerConfig } from '@spfn/core/server';

export default {
  database: {
    pool: { max: 50, idleTimeout: 60 },
    healthCheck: { enabled: true, interval: 30000, reconnect: true, maxRetries: 5, retryInterval: 10000 },
  },
} satisfies ServerConfig;
`;

beforeAll(async () => {
  db = await createTestDatabase('create_server');
  dir = mkdtempSync(join(tmpdir(), 'spfn-server-config-'));
  writeFileSync(join(dir, 'server.config.ts'), SEED);
});

afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  if (db) {
    expect(await waitFor(async () => (await db.leaks()).length === 0, 5000)).toBe(true);
    await db.drop();
  }
});

describe('createServer', () => {
  it('loads the seed server.config.ts as written and merges options > file > environment > defaults', async () => {
    const previous = { max: process.env.DB_POOL_MAX, interval: process.env.DB_HEALTH_CHECK_INTERVAL };
    process.env.DB_POOL_MAX = '7'; // the file wins over the environment
    process.env.DB_HEALTH_CHECK_INTERVAL = '1234';
    const cwd = process.cwd();
    process.chdir(dir); // found without being named: ./server.config.ts
    const app = new Hono().get('/hello', (c) => c.json({ hello: 'world' }));
    try {
      const server = await createServer({
        app,
        database: { url: db.url, applicationName: db.appName, pool: { idleTimeout: 5 } },
        port: 0,
      } satisfies ServerConfig);
      const config = getDatabaseManager().config;
      expect(config.pool.max).toBe(50);
      expect(config.pool.idleTimeout).toBe(5);
      expect(config.healthCheck).toEqual({
        enabled: true,
        interval: 30000,
        reconnect: true,
        maxRetries: 5,
        retryInterval: 10000,
      });
      expect(server.config.port).toBe(0);
      expect(server.config.shutdownTimeout).toBe(10_000);

      expect(await (await server.app.request('/hello')).json()).toEqual({ hello: 'world' });
      expect((await server.app.request('/health')).status).toBe(200);
      expect((await server.app.request('/nothing-here')).status).toBe(404);
      const ready = await server.app.request('/health/ready');
      expect(ready.status).toBe(200);

      await transaction(async () => {
        await getDatabase().execute('select 1');
      });
      const res = await server.app.request('/metrics');
      expect(res.headers.get('content-type')).toBe(register.contentType);
      const parsed = parsePrometheus(await res.text());
      expect(parsed.sum('spfn_db_transactions_total', { outcome: 'commit' })).toBeGreaterThanOrEqual(1);
      expect(parsed.sum('spfn_db_pool_max_connections', { pool: 'primary' })).toBe(50);

      const first = server.shutdown('test');
      expect(server.shutdown('again')).toBe(first);
      const report = await first;
      expect(report).toMatchObject({ reason: 'test', abortedRequests: 0, abortedTransactions: 0 });
      expect(() => getDatabase()).toThrow(/not initialized/i);
    } finally {
      process.chdir(cwd);
      if (previous.max === undefined) delete process.env.DB_POOL_MAX;
      else process.env.DB_POOL_MAX = previous.max;
      if (previous.interval === undefined) delete process.env.DB_HEALTH_CHECK_INTERVAL;
      else process.env.DB_HEALTH_CHECK_INTERVAL = previous.interval;
    }
  });

  it('answers 503 for new requests while shutting down', async () => {
    const server = await createServer({
      configFile: false,
      database: { url: db.url, applicationName: db.appName },
      app: new Hono().get('/x', (c) => c.text('x')),
    });
    const closing = server.shutdown();
    const res = await server.app.request('/x');
    expect(res.status).toBe(503);
    expect(res.headers.get('connection')).toBe('close');
    await closing;
  });

  it('refuses a config file that is missing or does not export an object, naming it', async () => {
    await expect(createServer({ configFile: join(dir, 'nope.config.ts') })).rejects.toThrow(ConfigError);
    const bad = join(dir, 'bad.config.ts');
    writeFileSync(bad, 'export default 42 as number;\n');
    const err = await createServer({ configFile: bad }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).variable).toBe(bad);
    expect(getDatabaseManager().initialized).toBe(false);
  });

  it('refuses an invalid PORT with a ConfigError and leaves no database open', async () => {
    const err = await createServer({ configFile: false, port: 70000, database: { url: db.url } }).catch((e) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect(getDatabaseManager().initialized).toBe(false);
  });

  it('refuses a production start with pending migrations, runs them with AUTO_MIGRATE, and reports them', async () => {
    const fresh = await createTestDatabase('create_server_migr');
    const folder = join(process.cwd(), 'examples/service/server/db/migrations');
    const database = { url: fresh.url, applicationName: fresh.appName, migrations: { folder } };
    const savedEnv = process.env.NODE_ENV;
    try {
      process.env.NODE_ENV = 'production';
      const refused = await createServer({ configFile: false, database }).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(PendingMigrationsError);
      expect((refused as PendingMigrationsError).pending).toEqual(['0000_users_posts']);
      expect(getDatabaseManager().initialized).toBe(false);
      process.env.NODE_ENV = savedEnv;

      // Outside production it starts, but is not ready until the schema is current.
      const lagging = await createServer({ configFile: false, database });
      const notReady = await lagging.app.request('/health/ready');
      expect(notReady.status).toBe(503);
      expect(((await notReady.json()) as Readiness).checks.migrations).toEqual({
        status: 'pending',
        pending: 1,
        names: ['0000_users_posts'],
      });
      await lagging.shutdown();

      process.env.NODE_ENV = 'production';
      const migrated = await createServer({
        configFile: false,
        database: { ...database, migrations: { folder, auto: true } },
      });
      const ready = await migrated.app.request('/health/ready');
      expect(ready.status).toBe(200);
      expect(((await ready.json()) as Readiness).checks.migrations).toEqual({ status: 'up', pending: 0 });
      await migrated.shutdown();
      expect((await fresh.sql`select count(*)::int as n from drizzle.__drizzle_migrations`)[0]!.n).toBe(1);
    } finally {
      process.env.NODE_ENV = savedEnv;
      expect(await waitFor(async () => (await fresh.leaks()).length === 0, 5000)).toBe(true);
      await fresh.drop();
    }
  });
});
