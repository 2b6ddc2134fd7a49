import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, expectTypeOf, it } from 'vitest';
import {
  clearRepositoryCache,
  closeDatabase,
  getRepository,
  getTransactionId,
  initDatabase,
  Repository,
  transaction,
  type CursorPage,
} from '@spfn/core/db';
import { InvalidQueryError, NotFoundError, StaleVersionError } from '@spfn/core/errors';
import { openTestBackend, type TestBackend } from '../../helpers/backend.js';
import { DDL, docs, notes, posts, tags, tokens, TOKENS_DDL, users } from './schema.js';

class PostRepository extends Repository<typeof posts> {
  findWithAuthor(id: number) {
    return this.db
      .select({ post: posts, author: users })
      .from(posts)
      .leftJoin(users, eq(posts.authorId, users.id))
      .where(eq(posts.id, id));
  }
}

let t: TestBackend;
const userRepo = () => getRepository(users);

beforeAll(async () => {
  // On disk for PGlite too: the last test closes and re-opens the database.
  t = await openTestBackend('repo', { persistent: true });
  await initDatabase(t.options);
  await t.exec(DDL);
  await t.exec(TOKENS_DDL);
});

beforeEach(async () => {
  await t.exec('truncate users, posts, notes, docs, tags restart identity cascade');
});

afterAll(async () => {
  await closeDatabase();
  await t.finish();
});

class Rollback extends Error {}

/** Runs `fn` outside any transaction, or inside one that rolls back afterwards (checking the rollback). */
const modes = {
  outside: async (fn: () => Promise<void>) => fn(),
  inside: async (fn: () => Promise<void>) => {
    const before = await t.exec('select (select count(*) from users) + (select count(*) from posts) as n');
    await expect(
      transaction(async () => {
        expect(getTransactionId()).toBeDefined();
        await fn();
        throw new Rollback();
      }),
    ).rejects.toBeInstanceOf(Rollback);
    const after = await t.exec('select (select count(*) from users) + (select count(*) from posts) as n');
    expect(after[0]!.n).toBe(before[0]!.n);
  },
};

describe('getRepository', () => {
  it('caches one instance per table and class, and clearRepositoryCache forgets them', () => {
    const a = getRepository(users);
    expect(getRepository(users)).toBe(a);
    const p = getRepository(posts, PostRepository);
    expect(p).toBeInstanceOf(PostRepository);
    expect(getRepository(posts, PostRepository)).toBe(p);
    expect(getRepository(posts)).not.toBe(p);
    clearRepositoryCache();
    expect(getRepository(users)).not.toBe(a);
  });

  it("runs the seed's PostRepository.findWithAuthor example as written", async () => {
    const author = await userRepo().save({ email: 'ada@x.io', name: 'Ada' });
    const post = await getRepository(posts).save({ authorId: author.id, title: 'Hello' });
    const rows = await getRepository(posts, PostRepository).findWithAuthor(post.id);
    expect(rows).toEqual([{ post: { id: post.id, authorId: author.id, title: 'Hello' }, author }]);
  });
});

describe.each(Object.entries(modes))('every method %s a transaction', (_mode, run) => {
  it('save / create / saveMany / findById / findByIdOrFail', async () => {
    await run(async () => {
      const a = await userRepo().save({ email: 'a@x.io', name: 'A', age: 30 });
      expect(a).toMatchObject({ id: expect.any(Number), email: 'a@x.io', status: 'active' });
      expect(a.createdAt).toBeInstanceOf(Date);
      const b = await userRepo().create({ email: 'b@x.io', name: 'B' });
      expect(b.age).toBeNull();
      expect(await userRepo().saveMany([])).toEqual([]);
      const many = await userRepo().saveMany([
        { email: 'c@x.io', name: 'C', age: 10 },
        { email: 'd@x.io', name: 'D', age: 50 },
      ]);
      expect(many.map((u) => u.email)).toEqual(['c@x.io', 'd@x.io']);
      expect(await userRepo().findById(a.id)).toEqual(a);
      expect(await userRepo().findById(999_999)).toBeNull();
      expect(await userRepo().findByIdOrFail(b.id)).toEqual(b);
      await expect(userRepo().findByIdOrFail(999_999)).rejects.toBeInstanceOf(NotFoundError);
    });
  });

  it('findOne / findMany / count / exists / findPage', async () => {
    await run(async () => {
      await userRepo().saveMany(
        Array.from({ length: 25 }, (_, i) => ({
          email: `u${i}@x.io`,
          name: `U${i}`,
          age: i,
          status: i % 2 ? 'odd' : 'even',
        })),
      );
      expect((await userRepo().findOne({ email: 'u7@x.io' }))?.age).toBe(7);
      expect(await userRepo().findAll()).toHaveLength(25);
      expect((await userRepo().findAll({ orderBy: '-age', limit: 2 })).map((u) => u.age)).toEqual([24, 23]);
      await expect(userRepo().findAll({ limit: 1_000_000 })).rejects.toBeInstanceOf(InvalidQueryError);
      expect(await userRepo().findOne({ email: 'nobody' })).toBeNull();
      const odd = await userRepo().findMany({ where: { status: 'odd', age: { gte: 10 } }, orderBy: '-age', limit: 3 });
      expect(odd.map((u) => u.age)).toEqual([23, 21, 19]);
      expect(
        (await userRepo().findMany({ where: { age: { in: [1, 2, 3] } }, orderBy: { age: 'asc' } })).map((u) => u.age),
      ).toEqual([1, 2, 3]);
      expect(await userRepo().findMany({ where: sql`${users.age} < 2`, orderBy: ['age'] })).toHaveLength(2);
      expect(await userRepo().count()).toBe(25);
      expect(await userRepo().count({ status: 'even' })).toBe(13);
      expect(await userRepo().exists({ email: 'u3@x.io' })).toBe(true);
      expect(await userRepo().exists({ email: 'u3@x.io', age: { ne: 3 } })).toBe(false);

      const page = await userRepo().findPage({ where: { status: 'even' }, sort: '-age', page: 2, size: 5 });
      expect(page.meta).toEqual({ page: 2, size: 5, total: 13, totalPages: 3 });
      expect(page.data.map((u) => u.age)).toEqual([14, 12, 10, 8, 6]);

      const seen: number[] = [];
      let cursor: string | null = null;
      for (let i = 0; i < 10; i++) {
        const next: CursorPage<typeof users.$inferSelect> = await userRepo().findPage({
          sort: '-age',
          size: 10,
          cursor,
        });
        seen.push(...next.data.map((u) => u.age!));
        cursor = next.meta.nextCursor;
        if (!next.meta.hasMore) break;
      }
      expect(seen).toEqual(Array.from({ length: 25 }, (_, i) => 24 - i));
      expect(cursor).toBeNull();
    });
  });

  it('update / updateWhere / delete / deleteWhere / upsert', async () => {
    await run(async () => {
      const a = await userRepo().save({ email: 'a@x.io', name: 'A', age: 1 });
      await userRepo().save({ email: 'b@x.io', name: 'B', age: 2 });
      const updated = await userRepo().update(a.id, { name: 'A2' });
      expect(updated).toMatchObject({ id: a.id, name: 'A2', age: 1 });
      expect(await userRepo().update(999_999, { name: 'nobody' })).toBeNull();
      const bulk = await userRepo().updateWhere({ age: { gte: 1 } }, { status: 'bulk' });
      expect(bulk).toHaveLength(2);
      expect(await userRepo().count({ status: 'bulk' })).toBe(2);
      const up = await userRepo().upsert({ email: 'a@x.io', name: 'A3' }, { target: 'email' });
      expect(up).toMatchObject({ id: a.id, name: 'A3' });
      const fresh = await userRepo().upsert({ email: 'z@x.io', name: 'Z' }, { target: 'email' });
      expect(fresh.id).not.toBe(a.id);
      expect(await getRepository(tags).upsert({ name: 'x' }, { target: 'name' })).toEqual({ name: 'x' });
      expect(await getRepository(tags).upsert({ name: 'x' }, { target: 'name' })).toEqual({ name: 'x' });
      expect((await userRepo().delete(a.id))?.id).toBe(a.id);
      expect(await userRepo().delete(a.id)).toBeNull();
      const gone = await userRepo().deleteWhere({ email: { like: '@x.io' } });
      expect(gone.map((u) => u.email).sort()).toEqual(['b@x.io', 'z@x.io']);
      expect(await userRepo().count()).toBe(0);
    });
  });
});

describe('safety of bulk writes', () => {
  it('refuses an empty filter unless { all: true }, and a typo deletes nothing', async () => {
    await userRepo().saveMany([
      { email: 'a@x.io', name: 'A' },
      { email: 'b@x.io', name: 'B' },
    ]);
    await expect(userRepo().deleteWhere({})).rejects.toBeInstanceOf(InvalidQueryError);
    await expect(userRepo().updateWhere({}, { name: 'x' })).rejects.toBeInstanceOf(InvalidQueryError);
    await expect(userRepo().deleteWhere({ emial: 'a@x.io' } as never)).rejects.toThrow(/Unknown column "emial"/);
    await expect(userRepo().deleteWhere({ email: { eqq: 'a@x.io' } } as never)).rejects.toThrow(
      /Unknown operator "eqq"/,
    );
    expect(await userRepo().count()).toBe(2);
    expect(await userRepo().updateWhere({}, { status: 'all' }, { all: true })).toHaveLength(2);
    expect(await userRepo().deleteWhere({}, { all: true })).toHaveLength(2);
    expect(await userRepo().count()).toBe(0);
  });

  it('rejects unknown columns in orderBy and data, and limits over the cap', async () => {
    await expect(userRepo().findMany({ orderBy: 'name; drop table users' as never })).rejects.toBeInstanceOf(
      InvalidQueryError,
    );
    await expect(userRepo().findMany({ limit: 1_000_001 })).rejects.toThrow(/limit on users must be an integer/);
    await expect(userRepo().findPage({ size: 0 })).rejects.toBeInstanceOf(InvalidQueryError);
    await expect(userRepo().save({ email: 'a', name: 'b', admin: true } as never)).rejects.toThrow(
      /Unknown column "admin"/,
    );
    await expect(userRepo().findPage({ cursor: 'not-a-cursor' })).rejects.toThrow(/Invalid cursor/);
    await expect(getRepository(tags).findById('x' as never)).rejects.toThrow(/needs an id column/);
    expect(await t.exec('select count(*)::int as n from users')).toEqual([{ n: 0 }]);
  });

  it('matches % and _ literally in like / ilike', async () => {
    await userRepo().saveMany([
      { email: 'a@x.io', name: '100% sure' },
      { email: 'b@x.io', name: '100 percent' },
      { email: 'c@x.io', name: 'snake_case' },
      { email: 'd@x.io', name: 'snakeXcase' },
    ]);
    expect((await userRepo().findMany({ where: { name: { like: '0%' } } })).map((u) => u.email)).toEqual(['a@x.io']);
    expect((await userRepo().findMany({ where: { name: { ilike: 'SNAKE_' } } })).map((u) => u.email)).toEqual([
      'c@x.io',
    ]);
  });
});

describe('updatedAt', () => {
  const backdate = async (table: string) => t.exec(`update ${table} set updated_at = now() - interval '1 day'`);
  const fresh = (d: Date) => Date.now() - d.getTime() < 60_000;

  it('is set by update, updateWhere and upsert', async () => {
    const a = await userRepo().save({ email: 'a@x.io', name: 'A' });
    await backdate('users');
    expect(fresh((await userRepo().findByIdOrFail(a.id)).updatedAt)).toBe(false);
    expect(fresh((await userRepo().update(a.id, { name: 'B' }))!.updatedAt)).toBe(true);
    await backdate('users');
    expect(fresh((await userRepo().updateWhere({ id: a.id }, { name: 'C' }))[0]!.updatedAt)).toBe(true);
    await backdate('users');
    expect(fresh((await userRepo().upsert({ email: 'a@x.io', name: 'D' }, { target: 'email' })).updatedAt)).toBe(true);
    await backdate('notes');
    const note = await getRepository(notes).save({ body: 'n' });
    await backdate('notes');
    expect(fresh((await getRepository(notes).delete(note.id))!.updatedAt)).toBe(true);
  });
});

describe('soft delete (deletedAt)', () => {
  it('hides deleted rows from reads, and hard deletes on request', async () => {
    const repo = getRepository(notes);
    const [a, b] = await repo.saveMany([{ body: 'a' }, { body: 'b' }]);
    const deleted = await repo.delete(a!.id);
    expect(deleted?.deletedAt).toBeInstanceOf(Date);
    expect(await repo.findById(a!.id)).toBeNull();
    expect((await repo.findById(a!.id, { withDeleted: true }))?.id).toBe(a!.id);
    expect(await repo.count()).toBe(1);
    expect(await repo.count(undefined, { withDeleted: true })).toBe(2);
    expect((await repo.findMany()).map((n) => n.id)).toEqual([b!.id]);
    expect(await repo.update(a!.id, { body: 'ghost' })).toBeNull();
    expect(await repo.delete(a!.id)).toBeNull();
    expect(await repo.deleteWhere({ body: 'b' })).toHaveLength(1);
    expect(await repo.count()).toBe(0);
    expect(await t.exec('select count(*)::int as n from notes')).toEqual([{ n: 2 }]);
    await repo.delete(a!.id, { hard: true });
    await repo.deleteWhere({ body: 'b' }, { hard: true });
    expect(await t.exec('select count(*)::int as n from notes')).toEqual([{ n: 0 }]);
  });
});

describe('columns computed in JavaScript ($defaultFn, $onUpdate)', () => {
  it('get a fresh value on every save and update, never one baked into a prepared statement', async () => {
    const repo = getRepository(tokens);
    const a = await repo.save({ label: 'a' });
    const b = await repo.save({ label: 'b' });
    expect(a.code).not.toBe(b.code);
    const a1 = await repo.update(a.id, { label: 'a1' });
    const a2 = await repo.update(a.id, { label: 'a2' });
    expect(a1?.revision).toEqual(expect.any(String));
    expect(a2?.revision).not.toBe(a1?.revision);
  });
});

describe('optimistic locking (version)', () => {
  it('increments the version and refuses a stale one', async () => {
    const repo = getRepository(docs);
    const d = await repo.save({ title: 'v1' });
    expect(d.version).toBe(1);
    const d2 = await repo.update(d.id, { title: 'v2', version: d.version });
    expect(d2?.version).toBe(2);
    const err = await repo.update(d.id, { title: 'stale', version: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StaleVersionError);
    expect((err as Error).message).not.toContain('stale');
    expect((await repo.findByIdOrFail(d.id)).title).toBe('v2');
    expect((await repo.update(d.id, { title: 'v3' }))?.version).toBe(3);
    expect(await repo.update(12345, { title: 'x', version: 1 })).toBeNull();
    expect((await repo.updateWhere({ id: d.id }, { title: 'v4' }))[0]?.version).toBe(4);
  });
});

describe('after the database is closed and opened again', () => {
  it('a cached repository rebuilds its prepared statements', async () => {
    const repo = userRepo();
    const a = await repo.save({ email: 'a@x.io', name: 'A' });
    await closeDatabase();
    await initDatabase(t.options);
    expect(await repo.findById(a.id)).toEqual(a);
  });
});

describe('types', () => {
  it('infers rows from the table and rejects unknown columns at compile time', () => {
    type User = typeof users.$inferSelect;
    type UserRepository = Repository<typeof users>;
    expectTypeOf<Parameters<UserRepository['findById']>[0]>().toEqualTypeOf<number>();
    expectTypeOf<Awaited<ReturnType<UserRepository['findById']>>>().toEqualTypeOf<User | null>();
    expectTypeOf<Awaited<ReturnType<UserRepository['findOne']>>>().toEqualTypeOf<User | null>();
    expectTypeOf<Awaited<ReturnType<UserRepository['update']>>>().toEqualTypeOf<User | null>();
    expectTypeOf<Awaited<ReturnType<UserRepository['delete']>>>().toEqualTypeOf<User | null>();
    expectTypeOf<Awaited<ReturnType<UserRepository['findAll']>>>().toEqualTypeOf<User[]>();
    expectTypeOf<Awaited<ReturnType<UserRepository['findMany']>>>().toEqualTypeOf<User[]>();
    expectTypeOf(getRepository(posts, PostRepository)).toEqualTypeOf<PostRepository>();
    const check = () => {
      // @ts-expect-error: not a column
      void userRepo().findMany({ where: { emial: 'x' } });
      // @ts-expect-error: not a column
      void userRepo().findMany({ orderBy: '-emial' });
      // @ts-expect-error: wrong value type
      void userRepo().findMany({ where: { age: { gt: 'old' } } });
    };
    expect(typeof check).toBe('function');
  });
});
