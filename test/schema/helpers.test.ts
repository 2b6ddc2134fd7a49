import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DatabaseManager,
  foreignKey,
  optionalForeignKey,
  runMigrations,
  toDatabaseError,
  updatedAtTriggerSql,
} from '@spfn/core/db';
import { ConfigError, ForeignKeyViolationError, InvalidQueryError, NotNullViolationError } from '@spfn/core/errors';
import { createTestDatabase, type TestDatabase } from '../helpers/pg.js';
import { ddlFor, writeMigrations } from '../migrations/folder.js';
import { comments, posts, users } from './fixture-schema.js';

const OLD = '2000-01-01T00:00:00.000Z';

let tdb: TestDatabase;
let manager: DatabaseManager;
let folder: string;

beforeAll(async () => {
  tdb = await createTestDatabase('schema_helpers');
  folder = mkdtempSync(join(tmpdir(), 'spfn-schema-'));
  writeMigrations(folder, [
    { tag: '0000_tables', sql: await ddlFor({ users, posts, comments }) },
    { tag: '0001_triggers', sql: updatedAtTriggerSql(users) + updatedAtTriggerSql(posts) },
  ]);
  manager = new DatabaseManager({ url: tdb.url, applicationName: tdb.appName, healthCheck: { enabled: false } });
  await manager.init();
  await runMigrations({ manager, migrationsFolder: folder });
});

afterAll(async () => {
  await manager?.close();
  expect(await tdb.leaks()).toEqual([]);
  await tdb?.drop();
  rmSync(folder, { recursive: true, force: true });
});

async function newUser(email: string): Promise<number> {
  const [row] = await manager.getDatabase().insert(users).values({ email }).returning({ id: users.id });
  return row!.id;
}

async function updatedAtOf(table: 'users' | 'posts', id: number): Promise<Date> {
  const [row] = await tdb.sql<{ updated_at: Date }[]>`select updated_at from ${tdb.sql(table)} where id = ${id}`;
  return row!.updated_at;
}

describe('id()', () => {
  it('is a bigint identity primary key read as a number, and accepts explicit ids', async () => {
    const a = await newUser('id-a@example.com');
    const b = await newUser('id-b@example.com');
    expect(typeof a).toBe('number');
    expect(b).toBeGreaterThan(a);
    const [col] = await tdb.sql`
      select data_type, is_identity, identity_generation from information_schema.columns
      where table_name = 'users' and column_name = 'id'`;
    expect(col).toEqual({ data_type: 'bigint', is_identity: 'YES', identity_generation: 'BY DEFAULT' });
    const [explicit] = await manager
      .getDatabase()
      .insert(users)
      .values({ id: 1_000_000, email: 'id-explicit@example.com' })
      .returning();
    expect(explicit!.id).toBe(1_000_000);
  });
});

describe('timestamps() and the updatedAt trigger', () => {
  it('fills createdAt/updatedAt on insert and Drizzle updates set updatedAt', async () => {
    const id = await newUser('ts-drizzle@example.com');
    await tdb.sql`update users set updated_at = ${OLD} where id = ${id}`;
    const [row] = await manager
      .getDatabase()
      .update(users)
      .set({ email: 'ts-drizzle-2@example.com' })
      .where(eq(users.id, id))
      .returning();
    expect(row!.createdAt).toBeInstanceOf(Date);
    expect(row!.updatedAt.getTime()).toBeGreaterThan(Date.parse(OLD));
  });

  it('sets updated_at on a raw SQL update', async () => {
    const id = await newUser('ts-raw@example.com');
    await tdb.sql`update users set updated_at = ${OLD} where id = ${id}`;
    expect((await updatedAtOf('users', id)).toISOString()).toBe(OLD);
    await tdb.sql`update users set email = 'ts-raw-2@example.com' where id = ${id}`;
    expect((await updatedAtOf('users', id)).getTime()).toBeGreaterThan(Date.parse(OLD) + 86_400_000);
  });

  it('sets updated_at on the update branch of an upsert', async () => {
    const author = await newUser('ts-upsert@example.com');
    const [post] = await tdb.sql<{ id: number }[]>`
      insert into posts (author_id, title, updated_at) values (${author}, 'first', ${OLD}) returning id`;
    await tdb.sql`
      insert into posts (id, author_id, title) values (${post!.id}, ${author}, 'second')
      on conflict (id) do update set title = excluded.title`;
    const [row] = await tdb.sql`select title, updated_at from posts where id = ${post!.id}`;
    expect(row!.title).toBe('second');
    expect((row!.updated_at as Date).getTime()).toBeGreaterThan(Date.parse(OLD) + 86_400_000);
  });

  it('keeps a value the UPDATE assigns itself', async () => {
    const id = await newUser('ts-explicit@example.com');
    await tdb.sql`update users set email = 'ts-explicit-2@example.com', updated_at = ${OLD} where id = ${id}`;
    expect((await updatedAtOf('users', id)).toISOString()).toBe(OLD);
  });

  it('rejects a malformed table name', () => {
    expect(() => updatedAtTriggerSql('a.b.c')).toThrow(InvalidQueryError);
    expect(updatedAtTriggerSql('audit.events')).toContain('ON "audit"."events"');
  });
});

async function constraintOf(table: string, column: string) {
  const [row] = await tdb.sql<{ confdeltype: string; confupdtype: string; parent: string; is_nullable: string }[]>`
    select c.confdeltype, c.confupdtype, c.confrelid::regclass::text as parent, col.is_nullable, col.data_type
    from pg_constraint c
    join pg_attribute a on a.attrelid = c.conrelid and a.attnum = c.conkey[1]
    join information_schema.columns col on col.table_name = ${table} and col.column_name = a.attname
    where c.contype = 'f' and c.conrelid = ${table}::regclass and a.attname = ${column}`;
  return row;
}

describe('schema helpers', () => {
  it('should create proper foreign keys', async () => {
    // foreignKey('author', () => users.id): author_id bigint NOT NULL references users on delete cascade
    expect(await constraintOf('posts', 'author_id')).toEqual({
      confdeltype: 'c',
      confupdtype: 'a',
      parent: 'users',
      is_nullable: 'NO',
      data_type: 'bigint',
    });
    expect(await constraintOf('comments', 'post_id')).toMatchObject({ confdeltype: 'r', parent: 'posts' });
    expect(() => foreignKey('author_id' as 'author', () => users.id)).toThrow(ConfigError);
    expect(() => foreignKey('author_id' as 'author', () => users.id)).toThrow(/without "_id"/);
  });

  it('should create optional foreign keys', async () => {
    expect(await constraintOf('posts', 'editor_id')).toEqual({
      confdeltype: 'n',
      confupdtype: 'a',
      parent: 'users',
      is_nullable: 'YES',
      data_type: 'bigint',
    });
    const [post] = await manager
      .getDatabase()
      .insert(posts)
      .values({ authorId: await newUser('optional-fk@example.com'), title: 'no editor' })
      .returning();
    expect(post!.editorId).toBeNull();
    expect(() => optionalForeignKey('editor_id' as 'editor', () => users.id)).toThrow(ConfigError);
  });

  it('should create timestamps with defaults', async () => {
    const cols = await tdb.sql<
      { column_name: string; data_type: string; is_nullable: string; column_default: string }[]
    >`
      select column_name, data_type, is_nullable, column_default from information_schema.columns
      where table_name = 'posts' and column_name in ('created_at', 'updated_at') order by column_name`;
    expect(cols).toEqual([
      { column_name: 'created_at', data_type: 'timestamp with time zone', is_nullable: 'NO', column_default: 'now()' },
      { column_name: 'updated_at', data_type: 'timestamp with time zone', is_nullable: 'NO', column_default: 'now()' },
    ]);
    const before = Date.now();
    const [row] = await manager.getDatabase().insert(users).values({ email: 'ts-defaults@example.com' }).returning();
    expect(row!.createdAt).toBeInstanceOf(Date);
    expect(row!.updatedAt).toBeInstanceOf(Date);
    expect(Math.abs(row!.createdAt.getTime() - before)).toBeLessThan(60_000);
  });
});

describe('foreign keys', () => {
  it('cascade (the default) deletes the children of a required foreign key', async () => {
    const db = manager.getDatabase();
    const author = await newUser('fk-cascade@example.com');
    await db.insert(posts).values([
      { authorId: author, title: 'a' },
      { authorId: author, title: 'b' },
    ]);
    await db.delete(users).where(eq(users.id, author));
    const left = await db.select().from(posts).where(eq(posts.authorId, author));
    expect(left).toEqual([]);
  });

  it('an optional foreign key is set null when its parent goes', async () => {
    const db = manager.getDatabase();
    const author = await newUser('fk-author@example.com');
    const editor = await newUser('fk-editor@example.com');
    const [post] = await db.insert(posts).values({ authorId: author, editorId: editor, title: 'edited' }).returning();
    await db.delete(users).where(eq(users.id, editor));
    const [after] = await db.select().from(posts).where(eq(posts.id, post!.id));
    expect(after).toMatchObject({ authorId: author, editorId: null, title: 'edited' });
  });

  it('restrict refuses to delete a parent with children (ForeignKeyViolationError)', async () => {
    const db = manager.getDatabase();
    const author = await newUser('fk-restrict@example.com');
    const [post] = await db.insert(posts).values({ authorId: author, title: 'commented' }).returning();
    await db.insert(comments).values({ postId: post!.id, body: 'hi' });
    const err = await db
      .delete(posts)
      .where(eq(posts.id, post!.id))
      .then(
        () => undefined,
        (e: unknown) => toDatabaseError(e),
      );
    expect(err).toBeInstanceOf(ForeignKeyViolationError);
    expect(err).toMatchObject({ sqlState: '23503', table: 'comments' });
    expect(await db.select().from(posts).where(eq(posts.id, post!.id))).toHaveLength(1);
  });

  it('an omitted required foreign key is a NotNullViolationError, not a linked row', async () => {
    const db = manager.getDatabase();
    const before = await db.select({ n: sql<number>`count(*)::int` }).from(posts);
    // @ts-expect-error authorId is required by the type as well
    const orphan: typeof posts.$inferInsert = { title: 'orphan' };
    const err = await db
      .insert(posts)
      .values(orphan)
      .then(
        () => undefined,
        (e: unknown) => toDatabaseError(e),
      );
    expect(err).toBeInstanceOf(NotNullViolationError);
    expect(err).toMatchObject({ sqlState: '23502', column: 'author_id' });
    const after = await db.select({ n: sql<number>`count(*)::int` }).from(posts);
    expect(after[0]!.n).toBe(before[0]!.n);
  });

  it('a reference to a missing parent is a ForeignKeyViolationError', async () => {
    const err = await manager
      .getDatabase()
      .insert(posts)
      .values({ authorId: 987_654_321, title: 'dangling' })
      .then(
        () => undefined,
        (e: unknown) => toDatabaseError(e),
      );
    expect(err).toBeInstanceOf(ForeignKeyViolationError);
  });
});
