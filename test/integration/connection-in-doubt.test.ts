import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  closeDatabase,
  createDatabaseFromEnv,
  getDatabaseHealth,
  getDatabaseManager,
  initDatabase,
  transaction,
} from '@spfn/core/db';
import { QueryTimeoutError, TransactionTimeoutError } from '@spfn/core/errors';
import { adminQuery, resumeCluster, startCluster, stopCluster, type Cluster } from '../harness/cluster.js';
import { captureLogs } from '../helpers/log-capture.js';
import { createTestDatabase, expectNoLeaksThenDrop, waitFor, type TestDatabase } from '../helpers/pg.js';
import { destroyedConnections } from '../helpers/prometheus.js';

const POOL_MAX = 10;
const RUNNER = new URL('../../dist/transaction/runner.js', import.meta.url).href;
const ROUNDS = 400;
let t: TestDatabase;
const logs = captureLogs('debug');

beforeAll(async () => {
  t = await createTestDatabase('doubt');
  await initDatabase({
    url: t.url,
    applicationName: t.appName,
    pool: { max: POOL_MAX, acquireTimeout: 5000 },
    healthCheck: { enabled: false },
  });
});

afterAll(async () => {
  await closeDatabase();
  await expectNoLeaksThenDrop(t);
});

/** The database metrics go to prom-client's default registry (no `metrics.registry` given). */
const destroyedCount = (): Promise<number> => destroyedConnections();

/** Backends of this file in a transaction (open or aborted) or more of them than the pool may hold. */
async function sessions(): Promise<{ total: number; inTransaction: number }> {
  const rows = await t.sql<{ state: string | null }[]>`
    select state from pg_stat_activity where application_name = ${t.appName}`;
  return { total: rows.length, inTransaction: rows.filter((r) => r.state?.startsWith('idle in transaction')).length };
}

/** Runs `count` calls of `fn`, `concurrency` at a time. */
async function hammer(count: number, concurrency: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) await fn(next++);
    }),
  );
}

/** How a statement of the racing test ended, from the error its callback got. */
function statementEnd(e: unknown): string {
  // The server's own words are on the innermost cause: "… due to statement timeout" or "… due to user request".
  const cause = e instanceof Error ? e.cause : undefined;
  let inner = cause;
  while (inner instanceof Error && inner.cause instanceof Error) inner = inner.cause;
  const text = inner instanceof Error ? inner.message : '';
  if (e instanceof TransactionTimeoutError) {
    if (cause === undefined) return 'past the deadline: result thrown away, or never sent';
    if (text.includes('statement timeout')) return 'its own statement_timeout';
    if (text.includes('user request')) return 'cancelled at the deadline';
    // The deadline passed before BEGIN, pipelined with the statement, answered: the session is ended instead of
    // cancelled (docs/adr/0007).
    if (text.includes('CONNECTION_DESTROYED')) return 'session ended at the deadline, BEGIN unanswered';
  }
  if (e instanceof QueryTimeoutError && !text.includes('statement timeout'))
    return 'cancelled from outside before the deadline';
  return `unexpected: ${String(e)}${text ? ` (${text})` : ''}`;
}

async function expectBaseline(): Promise<void> {
  const settled = await waitFor(async () => (await sessions()).inTransaction === 0, 5000);
  expect(settled, 'no idle-in-transaction backend').toBe(true);
  const { total } = await sessions();
  expect(total).toBeLessThanOrEqual(POOL_MAX);
  const { primary } = getDatabaseHealth();
  expect({ active: primary.active, waiting: primary.waiting, idle: primary.idle }).toEqual({
    active: 0,
    waiting: 0,
    idle: POOL_MAX,
  });
  // Still answering, on every connection of the pool at once.
  const answers = await Promise.all(
    Array.from({ length: POOL_MAX }, () => transaction(async (tx) => (await tx.execute(sql`select 1 as one`))[0])),
  );
  expect(answers).toEqual(Array.from({ length: POOL_MAX }, () => ({ one: 1 })));
}

describe('a connection in doubt is ended without speaking SQL on it', () => {
  it(`${ROUNDS} BEGINs the server rejects leave no session behind`, async () => {
    const before = await destroyedCount();
    let rejected = 0;
    // A statement_timeout out of the server's range: the timeouts sent with BEGIN (ahead of the first statement,
    // docs/adr/0007) fail and leave an aborted transaction, where the server refuses every statement but ROLLBACK.
    // transaction() refuses such a timeout before any SQL (docs/adr/1002), so the runner beneath it is driven
    // directly (the same module instance as the package's).
    type Tx = { execute(query: unknown): Promise<unknown> };
    const { runTransaction } = (await import(RUNNER)) as {
      runTransaction: (host: unknown, prepare: boolean, fn: (tx: Tx) => unknown, options: object) => Promise<unknown>;
    };
    const manager = getDatabaseManager();
    await hammer(ROUNDS, POOL_MAX * 2, async () => {
      const err = await runTransaction(manager, manager.config.prepare, (tx) => tx.execute(sql`select 1`), {
        timeout: 3_000_000_000,
      }).catch((e: unknown) => e);
      if (err instanceof Error && !(err instanceof TransactionTimeoutError)) rejected++;
    });
    expect(rejected).toBe(ROUNDS);
    expect((await destroyedCount()) - before).toBe(ROUNDS);
    await expectBaseline();
  }, 120_000);

  it(`${ROUNDS} timeouts whose cancel races the statement's own end leave no session behind`, async () => {
    const before = await destroyedCount();
    const failedRollbacks = logs.lines.filter((l) => l.includes('rollback failed')).length;
    let timedOut = 0;
    // Cancels from outside as well, aimed at whatever the file's backends run: some land on a ROLLBACK. Sweeps with a
    // random pause between them: back to back, on a fast run, they cancelled all 400 statements before any deadline
    // (each sleeps about as long as its deadline), and no timeout was left to race.
    let racing = true;
    const canceller = (async () => {
      while (racing) {
        await t.sql`select pg_cancel_backend(pid) from pg_stat_activity
          where application_name = ${t.appName} and state = 'active'`;
        await sleep(Math.random() * 40);
      }
    })();
    // How each statement ended, as its callback saw it: the race's two sides are the statement's own end (it
    // finished, or its statement_timeout fired) and a cancel (the timer's, or the outside one).
    const ended = new Map<string, number>();
    let callbacks = 0;
    let settled = 0;
    // The statement ends at about the deadline: the cancel lands on the statement, on nothing, or on the ROLLBACK.
    await hammer(ROUNDS, POOL_MAX, async (i) => {
      const ms = 20 + (i % 5);
      const err = await transaction(
        async (tx) => {
          callbacks++;
          let end = 'finished';
          try {
            await tx.execute(sql`select pg_sleep(${ms / 1000})`);
          } catch (e) {
            end = statementEnd(e);
            throw e;
          } finally {
            ended.set(end, (ended.get(end) ?? 0) + 1);
            settled++;
          }
        },
        { timeout: 22 },
      ).catch((e: unknown) => e);
      if (err instanceof TransactionTimeoutError) timedOut++;
    });
    racing = false;
    await canceller;
    // A callback may still be running after its caller got the timeout.
    expect(await waitFor(() => settled === callbacks, 5000)).toBe(true);
    const destroyed = (await destroyedCount()) - before;
    const rollbacksHit = logs.lines.filter((l) => l.includes('rollback failed')).length - failedRollbacks;
    console.info(
      `${ROUNDS} racing timeouts: ${timedOut} timed out, ${rollbacksHit} ROLLBACKs hit by the cancel, ` +
        `${destroyed} connections ended in doubt; statements: ${JSON.stringify(Object.fromEntries(ended))}`,
    );
    expect(timedOut).toBeGreaterThan(0);
    // Whichever side won, a statement stopped at the deadline is the transaction's timeout; only a cancel from
    // outside before the deadline is the statement's own QueryTimeoutError.
    expect([...ended.keys()].filter((k) => k.startsWith('unexpected'))).toEqual([]);
    await expectBaseline();
  }, 120_000);
});

describe('a ROLLBACK with no answer (the backend frozen, on a throwaway cluster)', () => {
  let cluster: Cluster | undefined;
  afterAll(async () => {
    if (cluster) resumeCluster(cluster);
    await stopCluster(cluster);
  }, 60_000);

  it('ends the session from another connection and returns the pool to its baseline', async () => {
    cluster = await startCluster({ name: 'doubt' });
    const appName = `spfn-test-doubt-frozen-${process.pid}`;
    const db = await createDatabaseFromEnv({
      url: cluster.url,
      applicationName: appName,
      pool: { max: 4, acquireTimeout: 5000 },
      healthCheck: { enabled: false },
    });
    const frozen: number[] = [];
    const before = await destroyedCount();
    try {
      // Each transaction freezes its own backend and fails: the ROLLBACK never answers, the session cannot be
      // trusted, and its own socket cannot end it (the backend does not read).
      const results = await Promise.allSettled(
        Array.from({ length: 4 }, () =>
          db.transaction(async (tx) => {
            const [row] = await tx.execute<{ pid: number }>(sql`select pg_backend_pid() as pid`);
            frozen.push(row!.pid);
            process.kill(row!.pid, 'SIGSTOP');
            throw new Error('handler failed');
          }),
        ),
      );
      expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected', 'rejected']);
      expect(db.manager.health().primary).toMatchObject({ active: 0, waiting: 0 });
      const after = await destroyedCount();
      expect(after - before).toBe(4);
      // The termination asked for is delivered once the backends run again.
      for (const pid of frozen) process.kill(pid, 'SIGCONT');
      const gone = await waitFor(async () => {
        const rows = await adminQuery<{ n: number }>(
          cluster!,
          `select count(*)::int as n from pg_stat_activity where pid in (${frozen.join(',')})`,
        );
        return rows[0]!.n === 0;
      }, 10_000);
      expect(gone, 'the frozen backends ended').toBe(true);
      const answers = await Promise.all(
        Array.from({ length: 4 }, () => db.transaction(async (tx) => (await tx.execute(sql`select 1 as one`))[0])),
      );
      expect(answers).toEqual(Array.from({ length: 4 }, () => ({ one: 1 })));
      expect(db.manager.health().primary).toMatchObject({ active: 0, waiting: 0 });
    } finally {
      for (const pid of frozen) {
        try {
          process.kill(pid, 'SIGCONT');
        } catch {
          // already gone
        }
      }
      await db.close();
    }
  }, 90_000);
});
