// MikroORM 6 (PostgreSQL driver, knex + pg) with an EntitySchema. Each call forks the EntityManager, as a
// request would; findOne, a native INSERT … RETURNING, a native UPDATE, em.transactional for the transaction.
import { EntitySchema, MikroORM } from '@mikro-orm/postgresql';

const Item = new EntitySchema({
  name: 'BenchItem',
  tableName: 'bench_items',
  properties: {
    id: { type: 'bigint', primary: true, autoincrement: true },
    name: { type: 'text' },
    qty: { type: 'integer' },
    createdAt: { type: 'Date', fieldName: 'created_at', columnType: 'timestamptz', defaultRaw: 'now()' },
    updatedAt: { type: 'Date', fieldName: 'updated_at', columnType: 'timestamptz', defaultRaw: 'now()' },
  },
});

export async function open({ url, pool }) {
  const orm = await MikroORM.init({
    clientUrl: url,
    entities: [Item],
    pool: { min: 0, max: pool },
    debug: false,
    discovery: { warnWhenNoEntities: false },
  });
  const select = (em, id) => em.findOne(Item, { id });
  const update = (em, id) => em.nativeUpdate(Item, { id }, { qty: 2, updatedAt: new Date() });
  const insert = (em, name) => em.insert(Item, { name, qty: 1 });
  return {
    select: (id) => select(orm.em.fork(), id),
    insert: (name) => insert(orm.em.fork(), name),
    update: (id) => update(orm.em.fork(), id),
    tx3: (id, name) =>
      orm.em.fork().transactional(async (em) => {
        await select(em, id);
        await update(em, id);
        await insert(em, name);
      }),
    close: () => orm.close(true),
  };
}
