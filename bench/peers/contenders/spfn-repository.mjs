// @spfn/core (the built package in dist/): the repository, and transaction() around three repository calls.
const { closeDatabase, getRepository, initDatabase, transaction } = await import(
  process.env.PEERS_SPFN_DB ?? '../../../dist/db/index.js'
);
import { repositoryTx3 } from '../../workloads.mjs';
import { items } from './schema.mjs';

export async function open({ url, pool }) {
  await initDatabase({ url, pool: { max: pool }, healthCheck: { enabled: false }, applicationName: 'spfn-bench' });
  const repo = getRepository(items);
  return {
    select: (id) => repo.findById(id),
    insert: (name) => repo.save({ name, qty: 1 }),
    update: (id) => repo.update(id, { qty: 2 }),
    tx3: repositoryTx3(transaction, repo),
    // The same with every statement inside the transaction (ADR 0009: the first read no longer runs before BEGIN).
    tx3in: repositoryTx3(transaction, repo, { deferReads: false }),
    close: () => closeDatabase(),
  };
}
