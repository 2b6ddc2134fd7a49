import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq, sql } from 'drizzle-orm';
import { integer, pgTable, text } from 'drizzle-orm/pg-core';
import { DatabaseManager, getReadToken, withReadSession, type DatabaseManagerOptions } from '@spfn/core/db';
import {
  adminQuery,
  leakedBackends,
  startCluster,
  startReplica,
  stopCluster,
  waitReplayed,
  type Cluster,
} from '../harness/cluster.js';

const APPLY_DELAY_MS = 2000;
const PAIRS = 1000;
const CONCURRENCY = 10;
const APP = `spfn-fault-lag-${process.pid}`;

const notes = pgTable('notes', { id: integer('id').primaryKey(), body: text('body').notNull() });

type Mode = 'lsn' | 'sticky' | 'none';

describe('read-your-writes on a lagging replica (recovery_min_apply_delay = 2s)', () => {
  let primary: Cluster;
  let replica: Cluster;
  let nextId = 1;

  beforeAll(async () => {
    primary = await startCluster({ name: 'lag-primary' });
    replica = await startReplica(primary, { name: 'lag-replica', applyDelayMs: APPLY_DELAY_MS });
    await adminQuery(primary, 'create table notes (id int primary key, body text not null)');
    await waitReplayed(primary, replica);
  });

  afterAll(async () => {
    await stopCluster(replica);
    await stopCluster(primary);
  });

  function open(mode: Mode, extra: Partial<DatabaseManagerOptions> = {}): DatabaseManager {
    return new DatabaseManager({
      url: primary.url,
      readUrls: [replica.url],
      applicationName: APP,
      readConsistency: mode,
      connectRetries: 0,
      healthCheck: { interval: 1000 },
      ...extra,
    });
  }

  /** One write then one read of that row through the public API; true when the read missed the write. */
  async function pair(manager: DatabaseManager): Promise<boolean> {
    const id = nextId++;
    await manager
      .getDatabase('write')
      .insert(notes)
      .values({ id, body: `n${id}` });
    const rows = await manager.getDatabase('read').select().from(notes).where(eq(notes.id, id));
    return rows.length === 0;
  }

  async function pairs(manager: DatabaseManager, inSessions: boolean): Promise<{ stale: number; ms: number }> {
    let stale = 0;
    let left = PAIRS;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (left-- > 0) {
          const missed = inSessions ? await withReadSession(() => pair(manager)) : await pair(manager);
          if (missed) stale++;
        }
      }),
    );
    return { stale, ms: performance.now() - started };
  }

  async function readPort(manager: DatabaseManager): Promise<number> {
    const rows = await manager.getDatabase('read').execute<{ port: number }>(sql`select inet_server_port() as port`);
    return Number(rows[0]!.port);
  }

  for (const mode of ['lsn', 'sticky', 'none'] as const) {
    it(`${PAIRS} write-then-read pairs with readConsistency=${mode}`, async () => {
      const manager = open(mode);
      try {
        await manager.init();
        const requests = await pairs(manager, true);
        const script = await pairs(manager, false);
        console.log(
          `[figure] readConsistency=${mode}: ${requests.stale}/${PAIRS} stale reads in request sessions ` +
            `(${((PAIRS / requests.ms) * 1000).toFixed(0)} pairs/s), ${script.stale}/${PAIRS} in the process session ` +
            `(${((PAIRS / script.ms) * 1000).toFixed(0)} pairs/s); ${CONCURRENCY} concurrent`,
        );
        if (mode === 'none') {
          // Proves the test can fail: without read-your-writes the lagging replica answers.
          expect(requests.stale).toBeGreaterThan(PAIRS / 2);
          expect(script.stale).toBeGreaterThan(PAIRS / 2);
        } else {
          expect(requests.stale).toBe(0);
          expect(script.stale).toBe(0);
        }
        // A session that has not written reads from the replica.
        expect(await withReadSession(() => readPort(manager))).toBe(replica.port);
      } finally {
        await manager.close();
      }
      expect(await leakedBackends(primary, APP)).toEqual([]);
      expect(await leakedBackends(replica, APP)).toEqual([]);
    });
  }

  it('lsn mode returns to the replica once it has replayed the write, and honours transactions', async () => {
    const manager = open('lsn');
    try {
      await manager.init();
      await withReadSession(async () => {
        await pair(manager);
        expect(await readPort(manager)).toBe(primary.port);
        await waitReplayed(primary, replica, APPLY_DELAY_MS * 5);
        expect(await readPort(manager)).toBe(replica.port);
      });
      const id = nextId++;
      await withReadSession(async () => {
        await manager.transaction(async (tx) => {
          await tx.insert(notes).values({ id, body: 'in tx' });
        });
        const rows = await manager.getDatabase('read').select().from(notes).where(eq(notes.id, id));
        expect(rows).toHaveLength(1);
      });
    } finally {
      await manager.close();
    }
  });

  for (const mode of ['lsn', 'sticky'] as const) {
    it(`carries the write position to the next request with a token (${mode})`, async () => {
      const manager = open(mode);
      try {
        await manager.init();
        const id = nextId++;
        const token = await withReadSession(async () => {
          await manager.getDatabase('write').insert(notes).values({ id, body: 'token' });
          return getReadToken(manager);
        });
        expect(token).toMatch(/^1\.([0-9A-F]+\/[0-9A-F]+|-)\.\d+$/);
        const read = (): Promise<unknown[]> =>
          Promise.resolve(manager.getDatabase('read').select().from(notes).where(eq(notes.id, id)));
        const withToken = await withReadSession(read, { token });
        const withoutToken = await withReadSession(read);
        const garbage = await withReadSession(read, { token: '1.zz/zz.abc' });
        console.log(
          `[figure] token (${mode}): next request with token saw ${withToken.length}/1 rows, ` +
            `without token ${withoutToken.length}/1 (stale replica), malformed token ${garbage.length}/1`,
        );
        expect(withToken).toHaveLength(1);
        expect(withoutToken).toHaveLength(0);
        expect(await withReadSession(() => getReadToken(manager))).toBeUndefined();
      } finally {
        await manager.close();
      }
    });
  }

  it('a read whose write position cannot be fetched goes to the primary, never fails untyped', async () => {
    // A role that may not call pg_current_wal_lsn(): the lsn mode's fetch of the primary's position fails with a
    // server error (42501) after a write; the read must still see the write, from the primary.
    await adminQuery(
      primary,
      "do $$ begin if not exists (select from pg_roles where rolname = 'spfn_no_lsn') then create role spfn_no_lsn login; end if; end $$",
    );
    await adminQuery(primary, 'grant select, insert on notes to spfn_no_lsn');
    await adminQuery(primary, 'revoke execute on function pg_current_wal_lsn() from public');
    await waitReplayed(primary, replica, APPLY_DELAY_MS * 5);
    const asRole = (url: string): string => url.replace('postgres://postgres@', 'postgres://spfn_no_lsn@');
    const manager = open('lsn', { url: asRole(primary.url), readUrls: [asRole(replica.url)] });
    try {
      await manager.init();
      const id = nextId++;
      const rows = await withReadSession(async () => {
        await manager.getDatabase('write').insert(notes).values({ id, body: 'no lsn' });
        return manager.getDatabase('read').select().from(notes).where(eq(notes.id, id));
      });
      expect(rows).toHaveLength(1);
    } finally {
      await manager.close();
      await adminQuery(primary, 'grant execute on function pg_current_wal_lsn() to public');
    }
  });

  it('measures the cost of tracking writes (lsn vs none)', async () => {
    const results: Record<string, number> = {};
    for (const mode of ['none', 'lsn', 'none', 'lsn'] as const) {
      const manager = open(mode);
      try {
        await manager.init();
        const started = performance.now();
        let left = 1000;
        await Promise.all(
          Array.from({ length: CONCURRENCY }, async () => {
            while (left-- > 0) {
              const id = nextId++;
              await manager.getDatabase('write').insert(notes).values({ id, body: 'w' });
            }
          }),
        );
        results[mode] = Math.max(results[mode] ?? 0, 1000 / ((performance.now() - started) / 1000));
      } finally {
        await manager.close();
      }
    }
    console.log(
      `[figure] 1000 inserts, ${CONCURRENCY} concurrent: lsn ${results.lsn!.toFixed(0)}/s vs none ${results.none!.toFixed(0)}/s ` +
        `(ratio ${(results.lsn! / results.none!).toFixed(2)}; writes are only stamped, the WAL position is fetched by the next replica read)`,
    );
    expect(results.lsn).toBeGreaterThan(0);
  });
});
