// Raw postgres.js: tagged templates (prepared by default), sql.begin for the transaction.
import postgres from 'postgres';
import { rawTx3 } from '../../workloads.mjs';

export async function open({ url, pool }) {
  const sql = postgres(url, { max: pool, onnotice: () => undefined });
  const tx3 = rawTx3(sql);
  return {
    select: (id) => sql`select * from bench_items where id = ${id}`,
    insert: (name) => sql`insert into bench_items (name, qty) values (${name}, ${1}) returning *`,
    update: (id) => sql`update bench_items set qty = ${2}, updated_at = now() where id = ${id} returning *`,
    tx3,
    // The reference for contenders' tx3in (every statement inside the transaction): the same transaction.
    tx3in: tx3,
    close: () => sql.end(),
  };
}
