// A short tour of the public API on the embedded PostgreSQL (or DATABASE_URL when set).
import { sql } from 'drizzle-orm';
import { pgTable, text, bigint } from 'drizzle-orm/pg-core';
import { initDatabase, getDatabase, transaction, closeDatabase } from '@spfn/core/db';

const notes = pgTable('demo_notes', {
  id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
  body: text('body').notNull(),
});

const say = (...args) => console.log('demo:', ...args);

say('connecting (embedded PGlite unless DATABASE_URL is set)…');
await initDatabase({ pgliteDataDir: process.env.PGLITE_DATA_DIR ?? 'memory://' });
const db = getDatabase();
await db.execute(
  sql`create table if not exists demo_notes (id bigint generated always as identity primary key, body text not null)`,
);
say('created table demo_notes');
await transaction(async (tx) => {
  await tx.insert(notes).values([{ body: 'hello' }, { body: 'world' }]);
});
say('inserted two rows in one transaction');
const rows = await getDatabase('read').select().from(notes);
say('read back:', rows.map((r) => `${r.id}:${r.body}`).join(', '));
await db.execute(sql`drop table demo_notes`);
await closeDatabase();
say('closed; bye');
