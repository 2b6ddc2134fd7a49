// node bench/layer-cost.mjs (after npm run build): Node CPU per call of everything this package runs above the
// connection pool (repository, prepare(), Drizzle's prepared query, routing, monitoring), measured over a pool
// that answers at once with one row, so no socket and no server time is in the figure (transactions: over a
// connection that does the same). LAYER_DIST points at
// another build (e.g. a copy of main's dist/) to compare; LAYER_CALLS sets the calls per sample (default 100000).
import { bigint, integer, pgTable, text, timestamp } from 'drizzle-orm/pg-core';
import { layerDist, load1, loadLine } from './lib.mjs';
import { preparedStatements, repositoryTx3 } from './workloads.mjs';

const { url: dist } = layerDist();
const db = await import(`${dist}/db/index.js`);
const { PostgresPool } = await import(`${dist}/connection/postgres-pool.js`);

const items = pgTable('bench_items', {
  id: bigint('id', { mode: 'number' }).primaryKey(),
  name: text('name').notNull(),
  qty: integer('qty').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

await db.initDatabase({
  url: process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
  healthCheck: { enabled: false },
  monitoring: { enabled: false },
});
const now = new Date().toISOString();
const asArray = [1, 'item 1', 1, now, now];
const asObject = { id: 1, name: 'item 1', qty: 1, created_at: now, updated_at: now };
PostgresPool.prototype.query = function answerAtOnce(_text, _params, mode) {
  return Promise.resolve(Object.assign([mode === 'array' ? asArray : asObject], { count: 1 }));
};
// Transactions get a connection that answers at once too (BEGIN, the timeouts, COMMIT included).
const connection = {
  query: PostgresPool.prototype.query,
  script: () => Promise.resolve(),
  cancel: () => Promise.resolve(),
  release() {},
  destroy: () => Promise.resolve(),
};
PostgresPool.prototype.reserve = function reserveAtOnce() {
  return Promise.resolve(connection);
};

const repo = db.getRepository(items);
const tx3 = repositoryTx3(db.transaction, repo);
const cases = {
  'repository findById': () => repo.findById(5),
  'repository update': () => repo.update(5, { qty: 2 }),
  'repository save': () => repo.save({ name: 'x', qty: 1 }),
  'transaction() empty': () => db.transaction(async () => undefined),
  'transaction() tx3': () => tx3(5, 'x'),
};
if (db.prepare) {
  const { select, update } = preparedStatements(db.prepare, items);
  cases['prepare() select'] = () => select.execute({ id: 5 });
  cases['prepare() update'] = () => update.execute({ id: 5 });
}

const calls = Number(process.env.LAYER_CALLS ?? 100_000);
const loads = [load1()];
for (const [name, call] of Object.entries(cases)) {
  for (let i = 0; i < 20_000; i++) await call();
  const samples = [];
  for (let s = 0; s < 5; s++) {
    const before = process.cpuUsage();
    for (let i = 0; i < calls; i++) await call();
    const used = process.cpuUsage(before);
    samples.push((used.user + used.system) / calls);
  }
  samples.sort((a, b) => a - b);
  console.log(`${name.padEnd(22)} ${samples[2].toFixed(2)} µs CPU per call (median of 5 × ${calls})`);
  loads.push(load1());
}
console.log(loadLine(loads));
await db.closeDatabase();
