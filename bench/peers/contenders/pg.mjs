// Raw node-postgres: pg.Pool with named (prepared) statements; the transaction on one checked-out client.
import pg from 'pg';

const SELECT = { name: 'sel', text: 'select * from bench_items where id = $1' };
const INSERT = { name: 'ins', text: 'insert into bench_items (name, qty) values ($1, $2) returning *' };
const UPDATE = { name: 'upd', text: 'update bench_items set qty = $1, updated_at = now() where id = $2 returning *' };

export async function open({ url, pool }) {
  const p = new pg.Pool({ connectionString: url, max: pool });
  const q = (client, s, values) => client.query({ ...s, values });
  return {
    select: (id) => q(p, SELECT, [id]),
    insert: (name) => q(p, INSERT, [name, 1]),
    update: (id) => q(p, UPDATE, [2, id]),
    tx3: async (id, name) => {
      const c = await p.connect();
      try {
        await c.query('begin');
        await q(c, SELECT, [id]);
        await q(c, UPDATE, [2, id]);
        await q(c, INSERT, [name, 1]);
        await c.query('commit');
      } catch (err) {
        await c.query('rollback');
        throw err;
      } finally {
        c.release();
      }
    },
    close: () => p.end(),
  };
}
