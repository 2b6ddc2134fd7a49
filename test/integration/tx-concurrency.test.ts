import { sql } from 'drizzle-orm';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatabaseManager, getDatabase, initDatabase, closeDatabase, transaction, Transactional } from '@spfn/core/db';
import { SerializationError, DeadlockError } from '@spfn/core/errors';
import { createTestDatabase, type TestDatabase, expectNoLeaksThenDrop } from '../helpers/pg.js';

let t: TestDatabase;

beforeAll(async () => {
  t = await createTestDatabase('txconc');
  await t.sql`create table accounts (id int primary key, balance int not null check (balance >= 0))`;
  await t.sql`insert into accounts select g, 1000 from generate_series(1, 20) g`;
  await t.sql`create table log (id bigint generated always as identity primary key, note text not null)`;
});

afterAll(async () => {
  await closeDatabase();
  await expectNoLeaksThenDrop(t);
});

describe('serialization retry: the bank invariant', () => {
  it('10 workers × 200 SERIALIZABLE transfers between 20 accounts keep the total, none negative', async () => {
    const manager = new DatabaseManager({
      url: t.url,
      applicationName: t.appName,
      healthCheck: { enabled: false },
      pool: { max: 10 },
    });
    const db = (await manager.init()).write;
    let attempts = 0;
    let gaveUp = 0;
    let insufficient = 0;
    let committed = 0;
    const worker = async (w: number): Promise<void> => {
      for (let i = 0; i < 200; i++) {
        const from = ((w * 7 + i * 3) % 20) + 1;
        const to = ((w * 11 + i * 5 + 1) % 20) + 1;
        if (from === to) continue;
        const amount = ((w + i) % 50) + 1;
        try {
          await manager.transaction(
            async () => {
              attempts++;
              const [row] = await db.execute<{ balance: number }>(sql`select balance from accounts where id = ${from}`);
              if (row!.balance < amount) {
                insufficient++;
                return;
              }
              await db.execute(sql`update accounts set balance = balance - ${amount} where id = ${from}`);
              await db.execute(sql`update accounts set balance = balance + ${amount} where id = ${to}`);
            },
            { isolationLevel: 'serializable', retry: { attempts: 30, baseDelay: 2, maxDelay: 50 } },
          );
          committed++;
        } catch (err) {
          if (err instanceof SerializationError || err instanceof DeadlockError) gaveUp++;
          else throw err;
        }
      }
    };
    await Promise.all(Array.from({ length: 10 }, (_, w) => worker(w)));
    const [sum] = await t.sql<{ total: number; negative: number }[]>`
      select sum(balance)::int as total, count(*) filter (where balance < 0)::int as negative from accounts`;
    const transfers = committed + gaveUp;
    console.log(
      `bank: ${transfers} transfers, ${attempts} attempts, ${attempts - transfers} retries, ` +
        `${gaveUp} gave up after 30 attempts, ${insufficient} skipped for insufficient funds; total ${sum!.total}`,
    );
    expect(sum!.total).toBe(20 * 1000);
    expect(sum!.negative).toBe(0);
    expect(committed).toBeGreaterThan(1500);
    expect(attempts).toBeGreaterThanOrEqual(transfers);
    await manager.close();
  });

  it('when attempts run out the original typed error is rethrown', async () => {
    const manager = new DatabaseManager({ url: t.url, applicationName: t.appName, healthCheck: { enabled: false } });
    const db = (await manager.init()).write;
    let calls = 0;
    const err = await manager
      .transaction(
        async () => {
          calls++;
          // Provoke a real 40001: a concurrent serializable writer commits between our read and write.
          await db.execute(sql`select balance from accounts where id = 1`);
          await manager.transaction(
            async () => db.execute(sql`update accounts set balance = balance + 0 where id = 1`),
            { propagation: 'requires_new', isolationLevel: 'serializable' },
          );
          await db.execute(sql`update accounts set balance = balance + 0 where id = 1`);
        },
        { isolationLevel: 'serializable', retry: 3 },
      )
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SerializationError);
    expect((err as SerializationError).sqlState).toBe('40001');
    expect(calls).toBe(3);
    await manager.close();
  });
});

describe('nesting never takes a second connection', () => {
  it('a pool of 2 serves 10 concurrent requests that nest transactions, without deadlock', async () => {
    await initDatabase({
      url: t.url,
      applicationName: t.appName,
      healthCheck: { enabled: false },
      pool: { max: 2, acquireTimeout: 20_000 },
    });
    const app = new Hono();
    app.post('/nest/:n', Transactional(), async (c) => {
      const pid = async (): Promise<number> =>
        (await getDatabase().execute<{ pid: number }>(sql`select pg_backend_pid() as pid`))[0]!.pid;
      const pids = [await pid()];
      await transaction(async () => {
        pids.push(await pid());
        await transaction(
          async () => {
            pids.push(await pid());
            await getDatabase().execute(sql`insert into log (note) values (${`req-${c.req.param('n')}`})`);
            await new Promise((r) => setTimeout(r, 20));
          },
          { propagation: 'nested' },
        );
      });
      return c.json({ pids });
    });
    const responses = await Promise.all(
      Array.from({ length: 10 }, async (_, n) => app.request(`/nest/${n}`, { method: 'POST' })),
    );
    const bodies = (await Promise.all(responses.map((r) => r.json()))) as { pids: number[] }[];
    expect(responses.every((r) => r.status === 200)).toBe(true);
    for (const b of bodies) expect(new Set(b.pids).size).toBe(1);
    const [{ n }] = (await t.sql<
      { n: number }[]
    >`select count(*)::int as n from log where note like 'req-%'`) as unknown as [{ n: number }];
    expect(n).toBe(10);
    const [{ backends }] = (await t.sql<{ backends: number }[]>`
      select count(*)::int as backends from pg_stat_activity where application_name = ${t.appName}`) as unknown as [
      { backends: number },
    ];
    expect(backends).toBeLessThanOrEqual(2);
    await closeDatabase();
  });
});
