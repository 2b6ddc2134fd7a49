// The statements and the 3-statement transaction (tx3: select by id, update by id, insert) that the benchmarks share
// — bench/peers' contenders, transaction-gc, transaction-alloc and layer-cost — written once, so that every bench
// measures the same work on bench_items.
import { eq, sql } from 'drizzle-orm';
import { items } from './peers/contenders/schema.mjs';

/**
 * The bench's statements as this package's prepare()d queries: select by id, update by id and insert, the two
 * writes returning the row. `prepare` is the package's (from the build being measured); `table` defaults to
 * bench_items.
 */
export function preparedStatements(prepare, table = items) {
  return {
    select: prepare((db, p) =>
      db
        .select()
        .from(table)
        .where(eq(table.id, p('id'))),
    ),
    update: prepare((db, p) =>
      db
        .update(table)
        .set({ qty: 2, updatedAt: sql`now()` })
        .where(eq(table.id, p('id')))
        .returning(),
    ),
    insert: prepare((db, p) =>
      db
        .insert(table)
        .values({ name: p('name'), qty: 1 })
        .returning(),
    ),
  };
}

/** tx3 through the repository, in the package's `transaction()` (`options`: its transaction options). */
export const repositoryTx3 = (transaction, repo, options) => (id, name) =>
  transaction(async () => {
    await repo.findById(id);
    await repo.update(id, { qty: 2 });
    await repo.save({ name, qty: 1 });
  }, options);

/** tx3 through {@link preparedStatements}, in the package's `transaction()`. */
export const preparedTx3 = (transaction, statements) => (id, name) =>
  transaction(async () => {
    await statements.select.execute({ id });
    await statements.update.execute({ id });
    await statements.insert.execute({ name });
  });

/** tx3 in raw postgres.js: `sql.begin` and tagged templates (prepared by default) — the reference. */
export const rawTx3 = (sqlClient) => (id, name) =>
  sqlClient.begin(async (t) => {
    await t`select * from bench_items where id = ${id}`;
    await t`update bench_items set qty = ${2}, updated_at = now() where id = ${id} returning *`;
    await t`insert into bench_items (name, qty) values (${name}, ${1}) returning *`;
  });
