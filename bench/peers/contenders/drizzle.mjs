// Drizzle on postgres.js, the query built on every call.
import { eq, sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import { items } from './schema.mjs';

export async function open({ url, pool }) {
  const client = postgres(url, { max: pool, onnotice: () => undefined });
  const db = drizzle(client);
  const select = (d, id) => d.select().from(items).where(eq(items.id, id));
  const update = (d, id) =>
    d
      .update(items)
      .set({ qty: 2, updatedAt: sql`now()` })
      .where(eq(items.id, id))
      .returning();
  const insert = (d, name) => d.insert(items).values({ name, qty: 1 }).returning();
  return {
    select: (id) => select(db, id),
    insert: (name) => insert(db, name),
    update: (id) => update(db, id),
    tx3: (id, name) =>
      db.transaction(async (tx) => {
        await select(tx, id);
        await update(tx, id);
        await insert(tx, name);
      }),
    close: () => client.end(),
  };
}
