import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  adminQuery,
  pauseCluster,
  resumeCluster,
  startCluster,
  startReplica,
  startServerAgain,
  stopCluster,
  stopServer,
  type Cluster,
} from '../harness/cluster.js';
import { waitFor } from '../helpers/pg.js';
import { startRedis, type TestRedis } from '../helpers/redis-server.js';
import { call, startService, type ServiceProcess } from '../helpers/service.js';
import type { JsonBody } from '../helpers/service.js';

let primary: Cluster | undefined;
let replica: Cluster | undefined;
let redis: TestRedis | undefined;
let service: ServiceProcess | undefined;
const appName = `spfn-test-ready-${process.pid}`;
/** The default probeTimeout, and what a loaded test machine may add to it. */
const PROBE_TIMEOUT_MS = 2000;
const MARGIN_MS = 500;

beforeAll(async () => {
  primary = await startCluster({ name: 'ready-primary' });
  replica = await startReplica(primary, { name: 'ready-replica' });
  redis = await startRedis();
  service = await startService({
    DATABASE_URL: primary.url,
    DATABASE_READ_URL: replica.url,
    REDIS_URL: redis.url,
    DB_APPLICATION_NAME: appName,
    DB_CONNECT_TIMEOUT: '2',
  });
}, 120_000);

afterAll(async () => {
  if (service) {
    service.child.kill('SIGTERM');
    await Promise.race([service.exited, new Promise((r) => setTimeout(r, 15_000))]);
    await service.kill();
  }
  await redis?.stop();
  await stopCluster(replica);
  await stopCluster(primary);
}, 60_000);

async function ready(): Promise<{ status: number; body: JsonBody }> {
  return call(service!, 'GET', '/health/ready');
}

describe('readiness against a throwaway cluster and a private Redis', () => {
  it('is ready with the primary, the replica and Redis up, per part', async () => {
    const res = await ready();
    expect(res.status).toBe(200);
    expect(res.body.checks.database.primary).toMatchObject({ name: 'primary', status: 'up' });
    expect(res.body.checks.database.replicas).toMatchObject([{ name: 'replica:0', status: 'up' }]);
    expect(res.body.checks.redis).toMatchObject({ status: 'up', clients: [{ name: 'write', healthy: true }] });
  });

  it('carries the read-your-writes token in a header and honours it on the next request', async () => {
    // Replay stopped: the replica answers, but with data older than any new write.
    await adminQuery(replica!, 'select pg_wal_replay_pause()');
    try {
      const created = await call(service!, 'POST', '/users', { email: 'ryw@example.com', name: 'RYW' });
      expect(created.status).toBe(201);
      const token = created.headers.get('x-read-token');
      expect(token).toMatch(/^1\.[0-9A-F]+\/[0-9A-F]+\.\d+$/i);

      const stale = await call(service!, 'GET', `/users/${created.body.id}`);
      expect(stale.status).toBe(404);
      const fresh = await call(service!, 'GET', `/users/${created.body.id}`, undefined, { 'x-read-token': token! });
      expect(fresh.status).toBe(200);
      expect(fresh.body.email).toBe('ryw@example.com');
    } finally {
      await adminQuery(replica!, 'select pg_wal_replay_resume()');
    }
    expect((await call(service!, 'GET', '/users?size=1')).headers.get('x-read-token')).toBeNull();
  });

  it('shows Redis down, and ready again when it returns', async () => {
    await redis!.stop();
    const down = await ready();
    expect(down.status).toBe(503);
    expect(down.body.status).toBe('not_ready');
    expect(down.body.checks.redis.status).toBe('down');
    expect(down.body.checks.redis.clients[0].healthy).toBe(false);
    expect(down.body.checks.database.primary.status).toBe('up');

    await redis!.restart();
    expect(await waitFor(async () => (await ready()).status === 200, 20_000, 200)).toBe(true);
  });

  it('goes 503 when the database stops and 200 when it is back', async () => {
    await stopServer(primary!, 'fast');
    const down = await ready();
    expect(down.status).toBe(503);
    expect(down.body.checks.database.primary.status).toBe('down');
    expect(down.body.checks.database.primary.error).toEqual(expect.any(String));
    expect(JSON.stringify(down.body)).not.toMatch(/password/i);

    await startServerAgain(primary!);
    expect(await waitFor(async () => (await ready()).status === 200, 30_000, 200)).toBe(true);
    const back = await call(service!, 'POST', '/users', { email: 'back@example.com', name: 'Back' });
    expect(back.status).toBe(201);
  });

  it('answers within the probe timeout with the pool exhausted, showing the pool as down with its counters', async () => {
    const max = (await ready()).body.checks.database.primary.pool.max as number;
    const holding = Array.from({ length: max }, () => call(service!, 'GET', '/demo/slow?ms=5000'));
    try {
      expect(
        await waitFor(async () => {
          const res = await call(service!, 'GET', '/metrics');
          return String(res.body).includes(`spfn_db_pool_active_connections{pool="primary"} ${max}`);
        }, 10_000),
      ).toBe(true);
      const started = performance.now();
      const res = await ready();
      const tookMs = performance.now() - started;
      console.info(`/health/ready with the pool exhausted answered in ${tookMs.toFixed(0)} ms (probeTimeout 2000)`);
      expect(tookMs).toBeLessThan(PROBE_TIMEOUT_MS + MARGIN_MS);
      expect(res.status).toBe(503);
      expect(res.body.checks.database.primary).toMatchObject({
        status: 'down',
        error: expect.stringMatching(/No connection free/),
        pool: { active: max, idle: 0, max },
      });
      expect(res.body.checks.migrations.status).toEqual(expect.any(String));
      expect(res.body.checks.redis.status).toBe('up');
    } finally {
      await Promise.all(holding);
    }
    expect(await waitFor(async () => (await ready()).status === 200, 10_000, 200)).toBe(true);
  });

  it('answers within the probe timeout with the primary frozen (SIGSTOP), each part with its status', async () => {
    pauseCluster(primary!);
    try {
      for (let i = 0; i < 3; i++) {
        const started = performance.now();
        const res = await ready();
        const tookMs = performance.now() - started;
        console.info(`/health/ready with the primary frozen answered in ${tookMs.toFixed(0)} ms (probeTimeout 2000)`);
        expect(tookMs).toBeLessThan(PROBE_TIMEOUT_MS + MARGIN_MS);
        expect(res.status).toBe(503);
        expect(res.body.checks.database.primary.status).toBe('down');
        expect(res.body.checks.migrations).toMatchObject({ status: 'unknown', error: expect.any(String) });
        expect(res.body.checks.redis.status).toBe('up');
        expect(res.body.checks.shutdown.status).toBe('serving');
      }
    } finally {
      resumeCluster(primary!);
    }
    expect(await waitFor(async () => (await ready()).status === 200, 30_000, 200)).toBe(true);
  });
});
