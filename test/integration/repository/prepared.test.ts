import { eq, sql } from 'drizzle-orm';
import { bigint, pgTable, text } from 'drizzle-orm/pg-core';
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import {
  closeDatabase,
  getDatabase,
  getRepository,
  initDatabase,
  prepare,
  Repository,
  transaction,
} from '@spfn/core/db';
import { InvalidQueryError, UniqueViolationError } from '@spfn/core/errors';
import { createTestDatabase, type TestDatabase, expectNoLeaksThenDrop } from '../../helpers/pg.js';

const users = pgTable('users', {
  id: bigint('id', { mode: 'number' }).primaryKey(),
  name: text('name').notNull(),
});

let primary: TestDatabase;
let replicaA: TestDatabase;
let replicaB: TestDatabase;

async function seed(db: TestDatabase, label: string): Promise<void> {
  await db.sql`create table users (id bigint primary key, name text not null)`;
  await db.sql`insert into users values (1, ${label})`;
}

const options = (): Parameters<typeof initDatabase>[0] => ({
  url: primary.url,
  readUrls: `${replicaA.url},${replicaB.url}`,
  applicationName: primary.appName,
  healthCheck: { enabled: false },
  readConsistency: 'none',
});

// Built at module load, before initDatabase(), as an application would.
const userById = prepare((db, p) =>
  db
    .select()
    .from(users)
    .where(eq(users.id, p('id'))),
);
const renameUser = prepare((db, p) =>
  db
    .update(users)
    .set({ name: p('name') })
    .where(eq(users.id, p('id')))
    .returning(),
);
const insertUser = prepare((db, p) =>
  db
    .insert(users)
    .values({ id: p('id'), name: p('name') })
    .returning(),
);
const backendPid = prepare((db, p) =>
  db
    .select({ pid: sql<number>`pg_backend_pid()`.mapWith(Number) })
    .from(users)
    .where(eq(users.id, p('id'))),
);

class UserRepository extends Repository<typeof users> {
  readonly #byName = prepare((db, p) =>
    db
      .select()
      .from(users)
      .where(eq(users.name, p('name'))),
  );

  async findByName(name: string) {
    const [row] = await this.#byName.execute({ name });
    return row ?? null;
  }
}

beforeAll(async () => {
  // Three databases stand in for a primary and two replicas; each says which one it is.
  [primary, replicaA, replicaB] = await Promise.all([
    createTestDatabase('prep_p'),
    createTestDatabase('prep_a'),
    createTestDatabase('prep_b'),
  ]);
  await Promise.all([seed(primary, 'primary'), seed(replicaA, 'replica-a'), seed(replicaB, 'replica-b')]);
  await initDatabase(options());
});

afterAll(async () => {
  await closeDatabase();
  await expectNoLeaksThenDrop(primary, replicaA, replicaB);
});

describe('prepare()', () => {
  it('types the rows as Drizzle does and names its placeholders', async () => {
    const rows = await userById.execute({ id: 1 });
    expectTypeOf(rows).toEqualTypeOf<{ id: number; name: string }[]>();
    expect(rows).toHaveLength(1);
    expect(userById.placeholders).toEqual(['id']);
    expect(renameUser.placeholders).toEqual(['name', 'id']);
  });

  it('outside a transaction, a read goes to the replicas in turn and a write to the primary', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 4; i++) seen.add((await userById.execute({ id: 1 }))[0]!.name);
    expect(seen).toEqual(new Set(['replica-a', 'replica-b']));

    const [renamed] = await renameUser.execute({ id: 1, name: 'primary' });
    expect(renamed).toEqual({ id: 1, name: 'primary' });
    const onPrimary = prepare(
      (db, p) =>
        db
          .select()
          .from(users)
          .where(eq(users.id, p('id'))),
      { role: 'write' },
    );
    expect((await onPrimary.execute({ id: 1 }))[0]!.name).toBe('primary');
  });

  it('inside a transaction, reads and writes run on the transaction’s connection and roll back with it', async () => {
    const failure = new Error('roll back');
    let sawInside: string | undefined;
    await expect(
      transaction(async () => {
        const [{ pid: txPid }] = (await getDatabase().execute(sql`select pg_backend_pid() as pid`)) as unknown as [
          { pid: number },
        ];
        const [own] = await backendPid.execute({ id: 1 });
        expect(own!.pid).toBe(txPid);
        await insertUser.execute({ id: 2, name: 'uncommitted' });
        // A read inside the transaction sees the transaction's own write (a replica would not have it).
        sawInside = (await userById.execute({ id: 2 }))[0]?.name;
        throw failure;
      }),
    ).rejects.toBe(failure);
    expect(sawInside).toBe('uncommitted');
    const [row] = await prepare(
      (db, p) =>
        db
          .select()
          .from(users)
          .where(eq(users.id, p('id'))),
      {
        role: 'write',
      },
    ).execute({ id: 2 });
    expect(row).toBeUndefined();
  });

  it('works in a custom repository method, inside and outside a transaction', async () => {
    const repo = getRepository(users, UserRepository);
    // Only the primary has a user named "primary": outside a transaction the read goes to a replica.
    expect(await repo.findByName('primary')).toBeNull();
    const found = await transaction(async () => {
      await repo.save({ id: 3, name: 'carol' });
      return repo.findByName('carol');
    });
    expect(found).toEqual({ id: 3, name: 'carol' });
  });

  it('refuses a missing or unknown placeholder, an unknown option and a builder that returns no query', async () => {
    await expect(userById.execute({})).rejects.toThrow(InvalidQueryError);
    await expect(userById.execute({})).rejects.toThrow(/"id"/);
    await expect(userById.execute({ id: 1, idd: 2 })).rejects.toThrow(/Unknown placeholder "idd"/);
    expect(() => prepare((db) => db.select().from(users), { rol: 'read' } as never)).toThrow(InvalidQueryError);
    expect(() => prepare((db) => db.select().from(users), { role: 'replica' } as never)).toThrow(InvalidQueryError);
    await expect(prepare(() => ({}) as never).execute()).rejects.toThrow(InvalidQueryError);
  });

  it('maps database errors to typed errors', async () => {
    await expect(insertUser.execute({ id: 1, name: 'duplicate' })).rejects.toBeInstanceOf(UniqueViolationError);
  });

  it('builds the query again after the database is re-initialised', async () => {
    await closeDatabase();
    await initDatabase(options());
    expect((await renameUser.execute({ id: 1, name: 'primary' }))[0]!.name).toBe('primary');
    expect(['replica-a', 'replica-b']).toContain((await userById.execute({ id: 1 }))[0]!.name);
  });
});
