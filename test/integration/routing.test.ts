import { eq, relations, sql } from 'drizzle-orm';
import { bigint, pgTable, text } from 'drizzle-orm/pg-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeDatabase, getDatabase, getRepository, initDatabase, transaction, dbEvents } from '@spfn/core/db';
import { createTestDatabase, type TestDatabase, expectNoLeaksThenDrop } from '../helpers/pg.js';

const users = pgTable('users', {
  id: bigint('id', { mode: 'number' }).primaryKey(),
  name: text('name').notNull(),
});
const posts = pgTable('posts', {
  id: bigint('id', { mode: 'number' }).primaryKey(),
  authorId: bigint('author_id', { mode: 'number' })
    .notNull()
    .references(() => users.id),
  title: text('title').notNull(),
});
const usersRelations = relations(users, ({ many }) => ({ posts: many(posts) }));
const postsRelations = relations(posts, ({ one }) => ({
  author: one(users, { fields: [posts.authorId], references: [users.id] }),
}));
const schema = { users, posts, usersRelations, postsRelations };

let primary: TestDatabase;
let replicaA: TestDatabase;
let replicaB: TestDatabase;

async function seed(db: TestDatabase, label: string): Promise<void> {
  await db.sql`create table users (id bigint primary key, name text not null)`;
  await db.sql`create table posts (id bigint primary key, author_id bigint not null references users(id), title text not null)`;
  await db.sql`insert into users values (1, ${label})`;
  await db.sql`insert into posts values (1, 1, ${`${label}-post`})`;
}

beforeAll(async () => {
  // Three databases stand in for a primary and two replicas; each says which one it is.
  [primary, replicaA, replicaB] = await Promise.all([
    createTestDatabase('route_p'),
    createTestDatabase('route_a'),
    createTestDatabase('route_b'),
  ]);
  await Promise.all([seed(primary, 'primary'), seed(replicaA, 'replica-a'), seed(replicaB, 'replica-b')]);
  await initDatabase({
    url: primary.url,
    readUrls: `${replicaA.url},${replicaB.url}`,
    applicationName: primary.appName,
    healthCheck: { enabled: false },
    readConsistency: 'none',
    schema,
  });
});

afterAll(async () => {
  await closeDatabase();
  await expectNoLeaksThenDrop(primary, replicaA, replicaB);
});

describe('read routing', () => {
  it('reads go to the replicas in turn; writes go to the primary', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 6; i++) {
      const [row] = await getDatabase('read').select().from(users).where(eq(users.id, 1));
      seen.add(row!.name);
    }
    expect(seen).toEqual(new Set(['replica-a', 'replica-b']));
    const [written] = await getDatabase('write').select().from(users).where(eq(users.id, 1));
    expect(written!.name).toBe('primary');
  });

  it('repository findAll() reads from the replicas, findMany() too; inside a transaction from the primary', async () => {
    const repo = getRepository(users);
    const seen = new Set<string>();
    for (let i = 0; i < 4; i++) for (const row of await repo.findAll()) seen.add(row.name);
    expect(seen).toEqual(new Set(['replica-a', 'replica-b']));
    expect((await repo.findAll({ where: { id: 1 }, limit: 1 }))[0]!.name).toMatch(/^replica-[ab]$/);
    const inTx = await transaction(async () => repo.findAll());
    expect(inTx.map((u) => u.name)).toEqual(['primary']);
  });

  it('inside a transaction, reads run in the transaction on the primary', async () => {
    const name = await transaction(async () => {
      const [row] = await getDatabase('read').select().from(users).where(eq(users.id, 1));
      return row!.name;
    });
    expect(name).toBe('primary');
  });

  it('the relational query API works on primary and replicas with options.schema', async () => {
    const db = getDatabase<typeof schema>('read');
    const user = await db.query.users.findFirst({ where: eq(users.id, 1), with: { posts: true } });
    expect(user?.posts).toHaveLength(1);
    expect(user!.posts[0]!.title).toMatch(/^replica-[ab]-post$/);
    const onPrimary = await getDatabase<typeof schema>('write').query.posts.findFirst({ with: { author: true } });
    expect(onPrimary?.author.name).toBe('primary');
  });

  it("tx.query in a transaction (and in a savepoint) reads through that transaction's own session", async () => {
    const seen = await transaction(async (tx) => {
      const db = tx as unknown as ReturnType<typeof getDatabase<typeof schema>>;
      await db.insert(posts).values({ id: 9001, authorId: 1, title: 'in-tx-post' });
      const mine = await db.query.posts.findMany({ where: eq(posts.title, 'in-tx-post'), with: { author: true } });
      const nested = await db.transaction(async (sp) =>
        sp.query.posts.findFirst({ where: eq(posts.title, 'in-tx-post') }),
      );
      return { mine, nested, again: db.query === db.query };
    }).catch((err: unknown) => err);
    expect(seen).toMatchObject({ mine: [{ title: 'in-tx-post', author: { name: 'primary' } }], again: true });
    expect((seen as { nested?: { title: string } }).nested?.title).toBe('in-tx-post');
    // Another transaction's builders are its own: the first one committed the post, this one rolls back its own.
    const rolledBack = new Error('roll back');
    await expect(
      transaction(async (tx) => {
        const db = tx as unknown as ReturnType<typeof getDatabase<typeof schema>>;
        await db.insert(posts).values({ id: 9002, authorId: 1, title: 'rolled-back-post' });
        expect(await db.query.posts.findMany({ where: eq(posts.title, 'rolled-back-post') })).toHaveLength(1);
        throw rolledBack;
      }),
    ).rejects.toBe(rolledBack);
    const after = await getDatabase<typeof schema>('write').query.posts.findMany({
      where: eq(posts.title, 'rolled-back-post'),
    });
    expect(after).toEqual([]);
    await getDatabase('write').delete(posts).where(eq(posts.title, 'in-tx-post'));
  });

  it('a query error on a replica comes out typed; reads survive terminated replica backends', async () => {
    // Break replica A's copy of the table: the read fails there (not a replica outage, so no retry) …
    await replicaA.sql`alter table users rename to users_gone`;
    await replicaB.sql`alter table users rename to users_gone`;
    const errors: string[] = [];
    const off = dbEvents.on('query:error', (e) => errors.push(e.code));
    const err = await getDatabase('read')
      .select()
      .from(users)
      .catch((e: unknown) => e);
    off();
    expect((err as { sqlState?: string }).sqlState).toBe('42P01');
    expect(errors).toContain('QUERY_ERROR');
    await replicaA.sql`alter table users_gone rename to users`;
    await replicaB.sql`alter table users_gone rename to users`;
    // … while a replica that went away is skipped for the primary.
    await replicaA.sql`select pg_terminate_backend(pid) from pg_stat_activity where datname = ${replicaA.name} and pid <> pg_backend_pid()`;
    const rows = await Promise.all(Array.from({ length: 4 }, () => getDatabase('read').select().from(users)));
    expect(rows.every((r) => r.length === 1)).toBe(true);
    const raw = await getDatabase('read').execute<{ one: number }>(sql`select 1 as one`);
    expect(raw[0]?.one).toBe(1);
  });
});
