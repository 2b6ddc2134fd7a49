// TypeORM on pg with an EntitySchema (no decorators). Single-statement calls: findOneBy, an INSERT … RETURNING *
// and an UPDATE … RETURNING * through the query builder (Repository.save would wrap each insert in a transaction).
import 'reflect-metadata';
import { DataSource, EntitySchema } from 'typeorm';

const Item = new EntitySchema({
  name: 'BenchItem',
  tableName: 'bench_items',
  columns: {
    id: { type: 'bigint', primary: true, generated: 'identity' },
    name: { type: 'text' },
    qty: { type: 'int' },
    createdAt: { type: 'timestamptz', name: 'created_at', createDate: true },
    updatedAt: { type: 'timestamptz', name: 'updated_at', updateDate: true },
  },
});

export async function open({ url, pool }) {
  const ds = new DataSource({ type: 'postgres', url, entities: [Item], extra: { max: pool }, logging: false });
  await ds.initialize();
  const select = (m, id) => m.getRepository(Item).findOneBy({ id });
  const update = (m, id) =>
    m
      .createQueryBuilder()
      .update(Item)
      .set({ qty: 2, updatedAt: () => 'now()' })
      .where('id = :id', { id })
      .returning('*')
      .execute();
  const insert = (m, name) =>
    m.createQueryBuilder().insert().into(Item).values({ name, qty: 1 }).returning('*').execute();
  return {
    select: (id) => select(ds.manager, id),
    insert: (name) => insert(ds.manager, name),
    update: (id) => update(ds.manager, id),
    tx3: (id, name) =>
      ds.transaction(async (m) => {
        await select(m, id);
        await update(m, id);
        await insert(m, name);
      }),
    close: () => ds.destroy(),
  };
}
