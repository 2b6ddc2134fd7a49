// Kysely with its PostgresDialect on a pg.Pool.
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';

export async function open({ url, pool }) {
  const db = new Kysely({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url, max: pool }) }) });
  const select = (d, id) => d.selectFrom('bench_items').selectAll().where('id', '=', id).execute();
  const update = (d, id) =>
    d
      .updateTable('bench_items')
      .set({ qty: 2, updated_at: sql`now()` })
      .where('id', '=', id)
      .returningAll()
      .execute();
  const insert = (d, name) => d.insertInto('bench_items').values({ name, qty: 1 }).returningAll().execute();
  return {
    select: (id) => select(db, id),
    insert: (name) => insert(db, name),
    update: (id) => update(db, id),
    tx3: (id, name) =>
      db.transaction().execute(async (trx) => {
        await select(trx, id);
        await update(trx, id);
        await insert(trx, name);
      }),
    close: () => db.destroy(),
  };
}
