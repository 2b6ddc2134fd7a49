// @spfn/core's prepared custom queries (prepare()): built once, joining the ambient transaction and the replica
// routing; the transaction cell runs them inside transaction().
import { eq, sql } from 'drizzle-orm';
import { items } from './schema.mjs';

const { closeDatabase, initDatabase, prepare, transaction } = await import(
  process.env.PEERS_SPFN_DB ?? '../../../dist/db/index.js'
);

export async function open({ url, pool }) {
  await initDatabase({ url, pool: { max: pool }, healthCheck: { enabled: false }, applicationName: 'spfn-bench' });
  const select = prepare((db, p) =>
    db
      .select()
      .from(items)
      .where(eq(items.id, p('id'))),
  );
  const update = prepare((db, p) =>
    db
      .update(items)
      .set({ qty: 2, updatedAt: sql`now()` })
      .where(eq(items.id, p('id')))
      .returning(),
  );
  const insert = prepare((db, p) =>
    db
      .insert(items)
      .values({ name: p('name'), qty: 1 })
      .returning(),
  );
  return {
    select: (id) => select.execute({ id }),
    insert: (name) => insert.execute({ name }),
    update: (id) => update.execute({ id }),
    tx3: (id, name) =>
      transaction(async () => {
        await select.execute({ id });
        await update.execute({ id });
        await insert.execute({ name });
      }),
    close: () => closeDatabase(),
  };
}
