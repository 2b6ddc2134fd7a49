// @spfn/core's prepared custom queries (prepare()): built once, joining the ambient transaction and the replica
// routing; the transaction cell runs them inside transaction().
import { preparedStatements, preparedTx3 } from '../../workloads.mjs';

const { closeDatabase, initDatabase, prepare, transaction } = await import(
  process.env.PEERS_SPFN_DB ?? '../../../dist/db/index.js'
);

export async function open({ url, pool }) {
  await initDatabase({ url, pool: { max: pool }, healthCheck: { enabled: false }, applicationName: 'spfn-bench' });
  const statements = preparedStatements(prepare);
  const { select, update, insert } = statements;
  return {
    select: (id) => select.execute({ id }),
    insert: (name) => insert.execute({ name }),
    update: (id) => update.execute({ id }),
    tx3: preparedTx3(transaction, statements),
    close: () => closeDatabase(),
  };
}
