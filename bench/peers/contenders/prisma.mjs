// Prisma 7 with the pg driver adapter and its query compiler (no query engine binary). The client is generated
// and compiled by bench/peers/setup.mjs.
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '../generated/js/client.js';

export async function open({ url, pool }) {
  const prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: url, max: pool }) });
  await prisma.$connect();
  const select = (p, id) => p.benchItem.findUnique({ where: { id: BigInt(id) } });
  const update = (p, id) => p.benchItem.update({ where: { id: BigInt(id) }, data: { qty: 2, updatedAt: new Date() } });
  const insert = (p, name) => p.benchItem.create({ data: { name, qty: 1 } });
  return {
    select: (id) => select(prisma, id),
    insert: (name) => insert(prisma, name),
    update: (id) => update(prisma, id),
    tx3: (id, name) =>
      prisma.$transaction(async (tx) => {
        await select(tx, id);
        await update(tx, id);
        await insert(tx, name);
      }),
    close: () => prisma.$disconnect(),
  };
}
