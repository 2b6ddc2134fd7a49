import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import { DatabaseManager, dbEvents, type DatabaseEvents } from '@spfn/core/db';
import {
  adminQuery,
  leakedBackends,
  startCluster,
  startReplica,
  startServerAgain,
  stopCluster,
  stopServer,
  waitAccepting,
  waitReplayed,
  type Cluster,
} from '../harness/cluster.js';
import { waitFor } from '../helpers/pg.js';

/** Probe timeout = interval: 1 s leaves room for a shared, loaded 2-core machine. */
const INTERVAL = 1000;
const APP = `spfn-fault-replicas-${process.pid}`;

function options(primary: Cluster, replicas: Cluster[]) {
  return {
    url: primary.url,
    readUrls: replicas.map((r) => r.url),
    applicationName: APP,
    readConsistency: 'none' as const,
    connectRetries: 0,
    pool: { max: 10, connectTimeout: 2, acquireTimeout: 5000 },
    healthCheck: { interval: INTERVAL, retryInterval: 100, maxRetries: 3 },
  };
}

async function serverPort(manager: DatabaseManager): Promise<number> {
  const rows = await manager.getDatabase('read').execute<{ port: number }>(sql`select inet_server_port() as port`);
  return Number(rows[0]!.port);
}

describe('replica sets and health (real streaming replicas)', () => {
  let primary: Cluster;
  let r0: Cluster;
  let r1: Cluster;

  beforeAll(async () => {
    primary = await startCluster({ name: 'rs-primary' });
    [r0, r1] = await Promise.all([
      startReplica(primary, { name: 'rs-r0', settings: ['max_standby_streaming_delay = 0'] }),
      startReplica(primary, { name: 'rs-r1' }),
    ]);
    await adminQuery(primary, 'create table items (id int primary key, v text)');
    await adminQuery(primary, "insert into items select g, 'x' from generate_series(1, 100) g");
    await waitReplayed(primary, r0);
    await waitReplayed(primary, r1);
  });

  afterAll(async () => {
    await Promise.all([stopCluster(r0), stopCluster(r1)]);
    await stopCluster(primary);
  });

  it('shares reads across replicas, drops a stopped replica, falls back to the primary, takes it back', async () => {
    const events: string[] = [];
    const offDown = dbEvents.on('replica:down', (e: DatabaseEvents['replica:down']) => {
      events.push(`down:${e.pool}:${e.healthyReplicas}`);
    });
    const offUp = dbEvents.on('replica:up', (e: DatabaseEvents['replica:up']) => {
      events.push(`up:${e.pool}:${e.healthyReplicas}`);
    });
    const manager = new DatabaseManager(options(primary, [r0, r1]));
    try {
      await manager.init();
      const seen = new Map<number, number>();
      for (let i = 0; i < 20; i++) {
        const port = await serverPort(manager);
        seen.set(port, (seen.get(port) ?? 0) + 1);
      }
      expect(seen.get(r0.port)).toBe(10);
      expect(seen.get(r1.port)).toBe(10);

      // Read load: 20 readers; r1 is stopped in the middle.
      let stop = false;
      let failed = 0;
      let ok = 0;
      const byPort = new Map<number, number[]>();
      const readers = Array.from({ length: 20 }, async () => {
        while (!stop) {
          try {
            const port = await serverPort(manager);
            ok++;
            const list = byPort.get(port) ?? [];
            list.push(performance.now());
            byPort.set(port, list);
          } catch {
            failed++;
            await new Promise((r) => setTimeout(r, 10));
          }
        }
      });
      let inFlightAtStop = 0;
      let stoppedAt = 0;
      let stopDone = 0;
      let detectedMs = 0;
      let lastOnR1 = 0;
      let reused = false;
      let reuseMs = 0;
      try {
        await new Promise((r) => setTimeout(r, 500));
        inFlightAtStop = manager.pools.replicas[1]!.counts().active;
        stoppedAt = performance.now();
        await stopServer(r1, 'fast');
        stopDone = performance.now();
        await waitFor(() => !manager.health().replicas[1]!.healthy, 5000, 10);
        detectedMs = performance.now() - stoppedAt;
        await new Promise((r) => setTimeout(r, INTERVAL * 2));
        lastOnR1 = Math.max(...(byPort.get(r1.port) ?? [0]));
        const report = manager.health();
        expect(report.replicas[1]!.healthy).toBe(false);
        expect(report.replicas[0]!.healthy).toBe(true);
        expect(report.healthy).toBe(true);

        await startServerAgain(r1);
        const backAt = performance.now();
        reused = await waitFor(() => (byPort.get(r1.port) ?? []).some((t) => t > backAt), INTERVAL * 2 + 5000, 20);
        reuseMs = performance.now() - backAt;
      } finally {
        stop = true;
        await Promise.all(readers);
      }
      console.log(
        `[figure] replica stopped under 20 readers: ${ok} reads ok, ${failed} failed (in flight at stop: ${inFlightAtStop}); ` +
          `out of rotation ${detectedMs.toFixed(0)} ms after stop began (stop took ${(stopDone - stoppedAt).toFixed(0)} ms), ` +
          `last read served by it ${(lastOnR1 - stoppedAt).toFixed(0)} ms after stop began; used again ${reuseMs.toFixed(0)} ms after restart ` +
          `(health interval ${INTERVAL} ms)`,
      );
      expect(failed).toBeLessThanOrEqual(inFlightAtStop);
      expect(lastOnR1 - stopDone).toBeLessThan(INTERVAL);
      expect(reused).toBe(true);
      expect(events).toContain('down:replica:1:1');
      expect(events).toContain('up:replica:1:2');

      // None healthy: reads go to the primary, replica:down reports 0 healthy, no error.
      await Promise.all([stopServer(r0, 'fast'), stopServer(r1, 'fast')]);
      expect(await waitFor(() => manager.health().replicas.every((r) => !r.healthy), 5000, 20)).toBe(true);
      expect(await serverPort(manager)).toBe(primary.port);
      expect(events.some((e) => e.endsWith(':0') && e.startsWith('down:'))).toBe(true);
      const health = manager.health();
      expect(health.replicas.every((r) => r.consecutiveFailures >= 1)).toBe(true);

      await Promise.all([startServerAgain(r0), startServerAgain(r1)]);
      expect(await waitFor(() => manager.health().replicas.every((r) => r.healthy), 10_000, 20)).toBe(true);
      expect(await serverPort(manager)).not.toBe(primary.port);
      expect(events.filter((e) => e.startsWith('up:')).length).toBeGreaterThanOrEqual(3);
    } finally {
      offDown();
      offUp();
      await manager.close();
    }
    expect(await leakedBackends(primary, APP)).toEqual([]);
    expect(await leakedBackends(r0, APP)).toEqual([]);
    expect(await leakedBackends(r1, APP)).toEqual([]);
  });

  it('retries on the primary a read cancelled by a recovery conflict', async () => {
    await waitAccepting(r0);
    const manager = new DatabaseManager(options(primary, [r0]));
    try {
      await manager.init();
      await waitReplayed(primary, r0);
      // The conflict needs the lock to be replayed while the read runs; on a loaded machine replay can come late,
      // so a read that was not cancelled (answered by the replica) is tried again, at most 3 times.
      let answeredBy = 0;
      let attempts = 0;
      while (attempts < 3 && answeredBy !== primary.port) {
        attempts++;
        // Drizzle queries are lazy: Promise.resolve starts this one now.
        const read = Promise.resolve(
          manager
            .getDatabase('read')
            .execute<{ port: number; n: number }>(
              sql`select inet_server_port() as port, count(*)::int as n, pg_sleep(3) from items`,
            ),
        );
        const running = await waitFor(
          async () =>
            (
              await adminQuery<{ n: number }>(
                r0,
                "select count(*)::int as n from pg_stat_activity where application_name = $1 and state = 'active' and query like '%pg_sleep%'",
                [APP],
              )
            )[0]!.n === 1,
          10_000,
          20,
        );
        expect(running).toBe(true);
        // An exclusive lock replayed on the replica cancels the read at once (max_standby_streaming_delay = 0).
        const admin = postgres(primary.url, { max: 1, onnotice: () => undefined });
        try {
          await admin.begin(async (tx) => {
            await tx`lock table items in access exclusive mode`;
          });
        } finally {
          await admin.end({ timeout: 1 });
        }
        const rows = await read;
        answeredBy = Number(rows[0]!.port);
        expect(rows[0]!.n).toBe(100);
      }
      const conflicts = await adminQuery<{ n: number }>(
        r0,
        'select confl_lock::int as n from pg_stat_database_conflicts where datname = current_database()',
      );
      console.log(
        `[figure] recovery conflict: read answered by port ${answeredBy} (primary ${primary.port}, replica ${r0.port}) ` +
          `after ${attempts} attempt(s); replica reports ${conflicts[0]!.n} lock conflict(s)`,
      );
      expect(answeredBy).toBe(primary.port);
      expect(manager.health().replicas[0]!.healthy).toBe(true);
    } finally {
      await manager.close();
    }
    expect(await leakedBackends(r0, APP)).toEqual([]);
  });
});
