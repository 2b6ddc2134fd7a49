// @spfn/core (the built package in dist/): the repository, and transaction() around three repository calls.
const { closeDatabase, getRepository, initDatabase, transaction } = await import(
  process.env.PEERS_SPFN_DB ?? '../../../dist/db/index.js'
);
import { items } from './schema.mjs';

export async function open({ url, pool }) {
  await initDatabase({ url, pool: { max: pool }, healthCheck: { enabled: false }, applicationName: 'spfn-bench' });
  const repo = getRepository(items);
  return {
    select: (id) => repo.findById(id),
    insert: (name) => repo.save({ name, qty: 1 }),
    update: (id) => repo.update(id, { qty: 2 }),
    tx3: (id, name) =>
      transaction(async () => {
        await repo.findById(id);
        await repo.update(id, { qty: 2 });
        await repo.save({ name, qty: 1 });
      }),
    // The same with every statement inside the transaction (ADR 0009: the first read no longer runs before BEGIN).
    tx3in: (id, name) =>
      transaction(
        async () => {
          await repo.findById(id);
          await repo.update(id, { qty: 2 });
          await repo.save({ name, qty: 1 });
        },
        { deferReads: false },
      ),
    close: () => closeDatabase(),
  };
}
