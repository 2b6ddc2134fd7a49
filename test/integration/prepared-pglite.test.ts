import { eq } from 'drizzle-orm';
import { bigint, pgTable, text } from 'drizzle-orm/pg-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeDatabase, getDatabase, initDatabase, prepare, transaction } from '@spfn/core/db';

const notes = pgTable('notes', { id: bigint('id', { mode: 'number' }).primaryKey(), body: text('body').notNull() });
const noteById = prepare((db, p) =>
  db
    .select()
    .from(notes)
    .where(eq(notes.id, p('id'))),
);
const addNote = prepare((db, p) =>
  db
    .insert(notes)
    .values({ id: p('id'), body: p('body') })
    .returning(),
);

beforeAll(async () => {
  await initDatabase({ embedded: true, pgliteDataDir: 'memory://' });
  await getDatabase().execute('create table notes (id bigint primary key, body text not null)');
});

afterAll(async () => {
  await closeDatabase();
});

describe('prepare() on the embedded PGlite', () => {
  it('runs, and joins a transaction that rolls back', async () => {
    expect(await addNote.execute({ id: 1, body: 'kept' })).toEqual([{ id: 1, body: 'kept' }]);
    const failure = new Error('roll back');
    await expect(
      transaction(async () => {
        await addNote.execute({ id: 2, body: 'dropped' });
        expect(await noteById.execute({ id: 2 })).toHaveLength(1);
        throw failure;
      }),
    ).rejects.toBe(failure);
    expect(await noteById.execute({ id: 2 })).toEqual([]);
    expect(await noteById.execute({ id: 1 })).toEqual([{ id: 1, body: 'kept' }]);
  });
});
