import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq, sql } from 'drizzle-orm';
import { integer, pgTable, text } from 'drizzle-orm/pg-core';
import { DatabaseManager } from '@spfn/core/db';
import { toDatabaseError } from '@spfn/core/errors';
import {
  adminQuery,
  startCluster,
  startPgBouncer,
  stopCluster,
  type Bouncer,
  type Cluster,
} from '../harness/cluster.js';

const APP = `spfn-fault-bouncer-${process.pid}`;
const accounts = pgTable('accounts', {
  id: integer('id').primaryKey(),
  owner: text('owner').notNull(),
  balance: integer('balance').notNull(),
});

describe('behind PgBouncer in transaction mode (PgBouncer 1.18, 2 server connections)', () => {
  let cluster: Cluster;
  let bouncer: Bouncer | undefined;

  beforeAll(async () => {
    cluster = await startCluster({ name: 'bouncer-pg' });
    await adminQuery(cluster, 'create table accounts (id int primary key, owner text not null, balance int not null)');
    bouncer = await startPgBouncer(cluster, { poolMode: 'transaction', poolSize: 2 });
  });

  afterAll(async () => {
    await bouncer?.stop();
    await stopCluster(cluster);
  });

  async function workload(manager: DatabaseManager, base: number): Promise<{ ok: number; failed: string[] }> {
    const db = manager.getDatabase();
    let ok = 0;
    const failed: string[] = [];
    await Promise.all(
      Array.from({ length: 100 }, async (_, i) => {
        const id = base + i;
        try {
          await db.insert(accounts).values({ id, owner: `o${id}`, balance: 100 });
          await manager.transaction(async (tx) => {
            await tx
              .update(accounts)
              .set({ balance: sql`${accounts.balance} - 10` })
              .where(eq(accounts.id, id));
            const [row] = await tx.select().from(accounts).where(eq(accounts.id, id));
            if (row?.balance !== 90) throw new Error(`balance ${row?.balance}`);
          });
          const rows = await db.select().from(accounts).where(eq(accounts.id, id));
          if (rows[0]?.owner === `o${id}` && rows[0]?.balance === 90) ok++;
          else failed.push('wrong row');
        } catch (err) {
          failed.push(toDatabaseError(err).code);
        }
      }),
    );
    return { ok, failed };
  }

  it('works with prepared statements off (DB_PREPARE=false)', async () => {
    const manager = new DatabaseManager({
      url: bouncer!.url,
      prepare: false,
      applicationName: APP,
      connectRetries: 0,
      pool: { max: 10 },
      healthCheck: { interval: 60_000 },
    });
    try {
      await manager.init();
      const off = await workload(manager, 0);
      console.log(
        `[figure] PgBouncer transaction mode, prepare off: ${off.ok}/100 insert+transaction+read sequences ok, failures ${JSON.stringify(off.failed)}`,
      );
      expect(off.failed).toEqual([]);
      expect(off.ok).toBe(100);
    } finally {
      await manager.close();
    }
    const rows = await adminQuery<{ n: number }>(cluster, 'select count(*)::int as n from accounts where balance = 90');
    expect(rows[0]!.n).toBe(100);
  });
});
