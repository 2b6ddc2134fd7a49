// Drizzle on postgres.js with `.prepare()`d statements. A prepared statement is bound to the database it was
// built on, so it cannot run inside db.transaction(): there is no transaction cell.
import { eq, sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import { items } from './schema.mjs';

export async function open({ url, pool }) {
  const client = postgres(url, { max: pool, onnotice: () => undefined });
  const db = drizzle(client);
  const select = db
    .select()
    .from(items)
    .where(eq(items.id, sql.placeholder('id')))
    .prepare('sel');
  const update = db
    .update(items)
    .set({ qty: 2, updatedAt: sql`now()` })
    .where(eq(items.id, sql.placeholder('id')))
    .returning()
    .prepare('upd');
  const insert = db
    .insert(items)
    .values({ name: sql.placeholder('name'), qty: 1 })
    .returning()
    .prepare('ins');
  return {
    select: (id) => select.execute({ id }),
    insert: (name) => insert.execute({ name }),
    update: (id) => update.execute({ id }),
    close: () => client.end(),
  };
}
