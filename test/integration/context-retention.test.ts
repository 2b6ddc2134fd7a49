import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { sql } from 'drizzle-orm';
import { bigint, integer, pgTable } from 'drizzle-orm/pg-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { clearRepositoryCache, closeDatabase, getRepository, initDatabase, transaction } from '@spfn/core/db';
import { createTestDatabase, expectNoLeaksThenDrop, waitFor, type TestDatabase } from '../helpers/pg.js';

// A connection keeps the async context it was opened in for as long as it lives, and runs its callbacks in it
// (docs/adr/0010). Opened by a transaction's first statement, it used to carry that transaction as the ambient one
// and keep it (and through the callback, the request) reachable for the life of the connection. Checked with the
// garbage collector: a transaction whose statement opened a connection must be collectable while the connection
// stays open. PostgreSQL only: the embedded database has no socket.

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const items = pgTable('cr_items', {
  id: bigint('id', { mode: 'number' }).primaryKey(),
  qty: integer('qty').notNull(),
});

let t: TestDatabase;

async function collected(ref: WeakRef<object>): Promise<boolean> {
  return waitFor(async () => {
    await new Promise((resolve) => setImmediate(resolve));
    gc();
    return ref.deref() === undefined;
  }, 3000);
}

async function openConnections(): Promise<number> {
  const rows = await t.sql<{ n: number }[]>`
    select count(*)::int as n from pg_stat_activity where application_name = ${t.appName}`;
  return rows[0]!.n;
}

beforeAll(async () => {
  t = await createTestDatabase('context_retention');
  await t.sql`create table cr_items (id bigint primary key, qty int not null)`;
  await t.sql`insert into cr_items select g, 0 from generate_series(1, 10) g`;
});

beforeEach(async () => {
  // A new pool for each test: its connections are opened by the test's own transaction.
  await closeDatabase();
  await initDatabase({
    url: t.url,
    applicationName: t.appName,
    pool: { max: 1 },
    healthCheck: { enabled: false },
  });
  clearRepositoryCache();
});

afterAll(async () => {
  await closeDatabase();
  await expectNoLeaksThenDrop(t);
});

/**
 * Ends the connection that initDatabase() opened (its start-up check), so that the next statement opens one again,
 * from inside the test's transaction.
 */
async function endInitConnection(): Promise<void> {
  await t.sql`select pg_terminate_backend(pid) from pg_stat_activity where application_name = ${t.appName}`;
  expect(await waitFor(async () => (await openConnections()) === 0)).toBe(true);
}

/** Runs `fn` until it succeeds: the first attempt may still meet the session the server just ended. */
async function untilDone<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= 3) throw err;
    }
  }
}

describe('connections opened inside a transaction', () => {
  it('do not keep the transaction whose first statement opened them', async () => {
    await endInitConnection();
    let ref!: WeakRef<object>;
    await untilDone(() =>
      transaction(async (tx) => {
        ref = new WeakRef(tx);
        await tx.execute(sql`update cr_items set qty = qty + 1 where id = 1`);
      }),
    );
    expect(await openConnections()).toBeGreaterThanOrEqual(1);
    expect(await collected(ref), 'the transaction handle was collected').toBe(true);
    expect(await openConnections(), "the pool's connection is still open").toBeGreaterThanOrEqual(1);
  });

  it('do not keep the transaction whose read, run before BEGIN (ADR 0009), opened them', async () => {
    await endInitConnection();
    let ref!: WeakRef<object>;
    const found = await untilDone(() =>
      transaction(async (tx) => {
        ref = new WeakRef(tx);
        return getRepository(items).findById(2);
      }),
    );
    expect(found?.id).toBe(2);
    expect(await openConnections()).toBeGreaterThanOrEqual(1);
    expect(await collected(ref), 'the transaction handle was collected').toBe(true);
    expect(await openConnections(), "the pool's connection is still open").toBeGreaterThanOrEqual(1);
  });
});
