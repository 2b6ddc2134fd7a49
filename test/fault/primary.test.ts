import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { integer, pgTable, serial } from 'drizzle-orm/pg-core';
import { DatabaseManager, dbEvents, type DatabaseManagerOptions } from '@spfn/core/db';
import { ConnectionError, DatabaseError, toDatabaseError } from '@spfn/core/errors';
import {
  adminQuery,
  leakedBackends,
  pauseCluster,
  restartCluster,
  resumeCluster,
  startCluster,
  stopCluster,
  terminateBackends,
  type Cluster,
} from '../harness/cluster.js';
import { closedPort } from '../helpers/pg.js';

const INTERVAL = 500;
/** The restart test runs 20 writers on a shared 2-core machine: a 1 s probe timeout leaves room for that load. */
const RESTART_INTERVAL = 1000;
const CONNECT_TIMEOUT_S = 2;
const WRITERS = 20;
const RUN_MS = 10_000;
const APP = `spfn-fault-primary-${process.pid}`;

const writes = pgTable('writes', {
  id: serial('id').primaryKey(),
  writer: integer('writer').notNull(),
  seq: integer('seq').notNull(),
});

describe('primary faults (throwaway cluster)', () => {
  let primary: Cluster;
  const unhandled: unknown[] = [];
  const onUnhandled = (err: unknown): void => {
    unhandled.push(err);
  };

  beforeAll(async () => {
    process.on('unhandledRejection', onUnhandled);
    primary = await startCluster({ name: 'pf-primary' });
    await adminQuery(primary, 'create table writes (id serial primary key, writer int not null, seq int not null)');
  });

  afterAll(async () => {
    process.off('unhandledRejection', onUnhandled);
    await stopCluster(primary);
  });

  function options(extra: Partial<DatabaseManagerOptions> = {}): DatabaseManagerOptions {
    return {
      url: primary.url,
      applicationName: APP,
      connectRetries: 2,
      connectRetryDelay: 100,
      pool: { max: 20, connectTimeout: CONNECT_TIMEOUT_S, acquireTimeout: 5000 },
      healthCheck: { interval: INTERVAL, retryInterval: 100, maxRetries: 3 },
      ...extra,
    };
  }

  it(`restarts (fast, then immediate) under ${WRITERS} writers for ${RUN_MS / 1000} s: no acknowledged row lost or duplicated`, async () => {
    const manager = new DatabaseManager(
      options({ healthCheck: { interval: RESTART_INTERVAL, retryInterval: 100, maxRetries: 3 } }),
    );
    await manager.init();
    const db = manager.getDatabase('write');
    const acked: { writer: number; seq: number; at: number }[] = [];
    const errors = new Map<string, number>();
    let untyped = 0;
    let stop = false;
    const writers = Array.from({ length: WRITERS }, async (_, writer) => {
      let seq = 0;
      while (!stop) {
        seq++;
        try {
          await db.insert(writes).values({ writer, seq });
          acked.push({ writer, seq, at: performance.now() });
        } catch (err) {
          if (process.env.FAULT_DEBUG)
            console.log('[err]', (performance.now() - started).toFixed(0), toDatabaseError(err).message);
          // Raw Drizzle wraps driver errors; the layer's mapper gives the typed error.
          const mapped = toDatabaseError(err);
          if (!(mapped instanceof DatabaseError) || !['CONNECTION_ERROR', 'POOL_TIMEOUT'].includes(mapped.code))
            untyped++;
          const code = mapped.code;
          errors.set(code, (errors.get(code) ?? 0) + 1);
          await new Promise((r) => setTimeout(r, 10));
        }
      }
    });
    const started = performance.now();
    const figures: string[] = [];
    const firstAfterAccept: number[] = [];
    try {
      await new Promise((r) => setTimeout(r, 2000));
      for (const mode of ['fast', 'immediate'] as const) {
        const downAt = performance.now();
        const acceptedAt = await restartCluster(primary, mode);
        await new Promise((r) => setTimeout(r, RESTART_INTERVAL * 2 + 200));
        const first = acked.find((a) => a.at > acceptedAt);
        const firstMs = first ? first.at - acceptedAt : Infinity;
        figures.push(
          `${mode}: down ${(acceptedAt - downAt).toFixed(0)} ms, first acknowledged write ${firstMs.toFixed(0)} ms after the server accepted again`,
        );
        firstAfterAccept.push(firstMs);
        await new Promise((r) => setTimeout(r, 1000));
      }
      await new Promise((r) => setTimeout(r, Math.max(0, RUN_MS - (performance.now() - started))));
    } finally {
      stop = true;
      await Promise.all(writers);
      await manager.close();
    }
    const rows = await adminQuery<{ writer: number; seq: number; n: number }>(
      primary,
      'select writer, seq, count(*)::int as n from writes group by writer, seq',
    );
    const stored = new Map(rows.map((r) => [`${r.writer}:${r.seq}`, r.n]));
    const lost = acked.filter((a) => !stored.has(`${a.writer}:${a.seq}`)).length;
    const duplicated = rows.filter((r) => r.n > 1).length;
    const failed = [...errors.values()].reduce((a, b) => a + b, 0);
    console.log(
      `[figure] restart under ${WRITERS} writers, ${RUN_MS / 1000} s: ${acked.length} acknowledged, ${lost} lost, ` +
        `${duplicated} duplicated, ${failed} failed with typed errors ${JSON.stringify(Object.fromEntries(errors))}, ` +
        `${untyped} untyped, ${unhandled.length} unhandled; ${figures.join('; ')} (health interval ${RESTART_INTERVAL} ms)`,
    );
    for (const e of unhandled) console.log('[unhandled]', String((e as Error)?.stack ?? e), JSON.stringify(e));
    expect(lost).toBe(0);
    expect(duplicated).toBe(0);
    for (const ms of firstAfterAccept) expect(ms).toBeLessThanOrEqual(RESTART_INTERVAL * 2);
    expect(untyped).toBe(0);
    expect(unhandled.length).toBe(0);
    expect(acked.length).toBeGreaterThan(100);
    const leaks = await leakedBackends(primary, APP);
    if (leaks.length) console.log('[leak]', JSON.stringify(leaks));
    expect(leaks).toEqual([]);
  });

  it('fails start-up with ConnectionError after the configured retries when the primary is down', async () => {
    const port = await closedPort();
    const attempts: number[] = [];
    const off = dbEvents.on('connection:error', (e) => {
      if (e.attempt !== undefined) attempts.push(e.attempt);
    });
    const manager = new DatabaseManager({
      ...options(),
      url: `postgres://app:secret-pw@127.0.0.1:${port}/app`,
      connectRetries: 2,
      connectRetryDelay: 100,
    });
    const started = performance.now();
    let error: unknown;
    try {
      await manager.init();
    } catch (err) {
      error = err;
    } finally {
      off();
    }
    const ms = performance.now() - started;
    // Three attempts, each bounded by the connect timeout, with 100 + 200 ms between them.
    const bound = 3 * CONNECT_TIMEOUT_S * 1000 + 300;
    console.log(
      `[figure] primary down at start-up: ${(error as Error).constructor.name} after ${attempts.length} attempts in ${ms.toFixed(0)} ms (bound ${bound} ms)`,
    );
    expect(error).toBeInstanceOf(ConnectionError);
    expect(String((error as Error).message)).not.toContain('secret-pw');
    expect(attempts).toEqual([1, 2, 3]);
    expect(ms).toBeLessThan(bound);
    expect(manager.initialized).toBe(false);
    expect(() => manager.getDatabase()).toThrow();
    await manager.close();
  });

  it('recovers when every backend is terminated: the next query runs on a new connection', async () => {
    const manager = new DatabaseManager(options({ healthCheck: { interval: 60_000 } }));
    try {
      await manager.init();
      const db = manager.getDatabase('write');
      const before = await Promise.all(
        Array.from({ length: 5 }, () =>
          db.execute<{ pid: number }>(sql`select pg_backend_pid() as pid, pg_sleep(0.05)`),
        ),
      );
      const oldPids = new Set(before.map((r) => Number(r[0]!.pid)));
      const killed = await terminateBackends(primary, APP);
      const after = await db.execute<{ pid: number }>(sql`select pg_backend_pid() as pid`);
      console.log(`[figure] ${killed} backends terminated; next query succeeded on pid ${after[0]!.pid}`);
      expect(killed).toBeGreaterThanOrEqual(oldPids.size);
      expect(oldPids.has(Number(after[0]!.pid))).toBe(false);
    } finally {
      await manager.close();
    }
    expect(await leakedBackends(primary, APP)).toEqual([]);
  });

  it('a primary that stops answering (SIGSTOP) gives typed errors within the bound, never a hang, then recovers', async () => {
    const manager = new DatabaseManager(options());
    const db = manager.getDatabase.bind(manager);
    await manager.init();
    try {
      await db('write').execute(sql`select 1`);
      pauseCluster(primary);
      const started = performance.now();
      const results = await Promise.all(
        Array.from({ length: 5 }, async () => {
          try {
            await db('write').execute(sql`select 1`);
            return { ok: true, ms: performance.now() - started, error: undefined as unknown };
          } catch (err) {
            return { ok: false, ms: performance.now() - started, error: toDatabaseError(err) };
          }
        }),
      );
      // In flight on a frozen server: failed by the health check's reconnect after two unanswered probes (one
      // interval, two probe timeouts and one retry interval), plus scheduling slack on a shared machine.
      const probeTimeout = Math.min(INTERVAL, CONNECT_TIMEOUT_S * 1000);
      const inFlightBound = INTERVAL + 2 * probeTimeout + 100 + 1500;
      const slowest = Math.max(...results.map((r) => r.ms));
      // A new query opens a connection: bounded by the connect timeout.
      const next = performance.now();
      const fresh = await db('write')
        .execute(sql`select 1`)
        .then(
          () => undefined,
          (err: unknown) => toDatabaseError(err),
        );
      const freshMs = performance.now() - next;
      resumeCluster(primary);
      const resumed = performance.now();
      let recoveredMs = Infinity;
      for (;;) {
        try {
          await db('write').execute(sql`select 1`);
          recoveredMs = performance.now() - resumed;
          break;
        } catch {
          if (performance.now() - resumed > 10_000) break;
          await new Promise((r) => setTimeout(r, 50));
        }
      }
      console.log(
        `[figure] SIGSTOP: ${results.filter((r) => !r.ok).length}/5 in-flight queries failed with ` +
          `${[...new Set(results.map((r) => (r.error as Error | undefined)?.constructor.name))].join(',')} within ${slowest.toFixed(0)} ms ` +
          `(bound ${inFlightBound} ms); a new query failed with ${(fresh as Error | undefined)?.constructor.name} in ${freshMs.toFixed(0)} ms ` +
          `(connect timeout ${CONNECT_TIMEOUT_S * 1000} ms); first success ${recoveredMs.toFixed(0)} ms after SIGCONT`,
      );
      expect(results.every((r) => !r.ok && r.error instanceof ConnectionError)).toBe(true);
      expect(slowest).toBeLessThan(inFlightBound);
      expect(fresh).toBeInstanceOf(ConnectionError);
      expect(freshMs).toBeLessThan(CONNECT_TIMEOUT_S * 1000 + 1500);
      expect(recoveredMs).toBeLessThan(10_000);
    } finally {
      resumeCluster(primary);
      await manager.close();
    }
    expect(await leakedBackends(primary, APP)).toEqual([]);
  });
});
