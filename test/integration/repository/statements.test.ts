import { bigint, pgTable, text } from 'drizzle-orm/pg-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clearRepositoryCache, closeDatabase, dbEvents, getRepository, initDatabase } from '@spfn/core/db';
import { createTestDatabase, type TestDatabase, expectNoLeaksThenDrop } from '../../helpers/pg.js';

const keyed = pgTable('keyed', { id: bigint('id', { mode: 'number' }).primaryKey(), name: text('name').notNull() });
// `id` here is neither the primary key nor unique: several rows may share it.
const loose = pgTable('loose', { id: bigint('id', { mode: 'number' }).notNull(), name: text('name').notNull() });

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase('repo_stmts');
  await db.sql`create table keyed (id bigint primary key, name text not null)`;
  await db.sql`create table loose (id bigint not null, name text not null)`;
  await db.sql`insert into keyed values (1, 'a')`;
  await db.sql`insert into loose values (1, 'a'), (1, 'b')`;
  // Every statement is "slow", so each one is reported with its SQL text.
  await initDatabase({
    url: db.url,
    applicationName: db.appName,
    healthCheck: { enabled: false },
    monitoring: { enabled: true, slowThreshold: 0 },
  });
  clearRepositoryCache();
});

afterAll(async () => {
  await closeDatabase();
  await expectNoLeaksThenDrop(db);
});

async function sqlOf(run: () => Promise<unknown>): Promise<string[]> {
  const seen: string[] = [];
  const listener = (e: { operation: string; sql?: string | undefined }): void => {
    if (e.operation === 'query' && e.sql) seen.push(e.sql);
  };
  dbEvents.on('query:slow', listener);
  try {
    await run();
  } finally {
    dbEvents.off('query:slow', listener);
  }
  return seen;
}

describe('findById statements', () => {
  it('send no LIMIT when id is the primary key (at most one row can match)', async () => {
    const statements = await sqlOf(async () =>
      expect(await getRepository(keyed).findById(1)).toEqual({ id: 1, name: 'a' }),
    );
    expect(statements).toHaveLength(1);
    expect(statements[0]).not.toMatch(/\blimit\b/i);
  });

  it('keep LIMIT 1 when id is not unique, and return one row', async () => {
    let row: unknown;
    const statements = await sqlOf(async () => {
      row = await getRepository(loose).findById(1);
    });
    expect(statements[0]).toMatch(/\blimit\b/i);
    expect(row).toMatchObject({ id: 1 });
  });
});
