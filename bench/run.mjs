// npm run bench: this layer's repository against raw postgres.js and raw Drizzle, same workloads, same pool size,
// one run. Prints ops/s, p50/p99 and ratios; writes bench/results/bench-<time>.json.
// Settings: BENCH_DATABASE_URL (default: a fresh database on TEST_PG_URL / 127.0.0.1:5432, dropped at the end),
// BENCH_SECONDS (per cell and contender, default 1), BENCH_ROUNDS (median of, default 3), BENCH_POOL (default 10),
// BENCH_ONLY (comma-separated workloads, e.g. findById,tx3). findById and tx3 also run with and without an
// OpenTelemetry SDK (bench/observability.mjs).
import { randomBytes } from 'node:crypto';
import { count, eq, gt } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import { closeDatabase, getRepository, initDatabase, transaction } from '../dist/db/index.js';
import {
  SEED_ROWS,
  benchItemsSql,
  createDatabase,
  dropDatabase,
  load1,
  loadLine,
  loadSummary,
  medianRun,
  pad,
  quietClient,
  writeResults,
} from './lib.mjs';
import { benchObservability } from './observability.mjs';
import { items } from './peers/contenders/schema.mjs';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 1);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const POOL = Number(process.env.BENCH_POOL ?? 10);
const SEED = SEED_ROWS;
const CONCURRENCY = [1, 32];

let url = process.env.BENCH_DATABASE_URL;
let dropName;
if (!url) {
  dropName = `spfn_bench_${randomBytes(4).toString('hex')}`;
  url = await createDatabase(dropName);
}

const setup = quietClient(url);
await setup.unsafe(`drop table if exists bench_items;${benchItemsSql(SEED)}`);

const pg = postgres(url, { max: POOL, onnotice: () => undefined });
const dz = drizzle(postgres(url, { max: POOL, onnotice: () => undefined }));
const dbOptions = { url, pool: { max: POOL }, healthCheck: { enabled: false }, applicationName: 'spfn-bench' };
await initDatabase(dbOptions);
const repo = getRepository(items);

const randomId = () => 1 + Math.floor(Math.random() * SEED);
let nameCounter = 0;
const newName = () => `n${++nameCounter}`;
/** Ids for the delete workload: rows inserted before each delete cell. */
let deleteIds = [];
async function prepareDeletes(n) {
  const rows =
    await setup`insert into bench_items (name, qty) select 'del', 0 from generate_series(1, ${n}) returning id`;
  deleteIds = rows.map((r) => Number(r.id));
}
const nextDeleteId = () => deleteIds.pop() ?? randomId();

const raw = {
  findById: () => pg`select * from bench_items where id = ${randomId()} limit 1`,
  save: () => pg`insert into bench_items (name, qty) values (${newName()}, ${1}) returning *`,
  update: () => pg`update bench_items set qty = ${2}, updated_at = now() where id = ${randomId()} returning *`,
  delete: () => pg`delete from bench_items where id = ${nextDeleteId()} returning *`,
  findPage: () =>
    Promise.all([
      pg`select * from bench_items where qty > ${10} order by id limit ${20} offset ${40}`,
      pg`select count(*) from bench_items where qty > ${10}`,
    ]),
};
const drz = {
  findById: () => dz.select().from(items).where(eq(items.id, randomId())).limit(1),
  save: () => dz.insert(items).values({ name: newName(), qty: 1 }).returning(),
  update: () => dz.update(items).set({ qty: 2, updatedAt: new Date() }).where(eq(items.id, randomId())).returning(),
  delete: () => dz.delete(items).where(eq(items.id, nextDeleteId())).returning(),
  findPage: () =>
    Promise.all([
      dz.select().from(items).where(gt(items.qty, 10)).orderBy(items.id).limit(20).offset(40),
      dz.select({ count: count() }).from(items).where(gt(items.qty, 10)),
    ]),
};
const rep = {
  findById: () => repo.findById(randomId()),
  save: () => repo.save({ name: newName(), qty: 1 }),
  update: () => repo.update(randomId(), { qty: 2 }),
  delete: () => repo.delete(nextDeleteId()),
  findPage: () => repo.findPage({ where: { qty: { gt: 10 } }, sort: 'id', page: 3, size: 20 }),
};

/** The workloads: name → contender → one operation. `tx:` ones run the same operation in its own transaction. */
const workloads = {};
for (const op of Object.keys(raw)) {
  workloads[op] = { 'postgres.js': raw[op], drizzle: drz[op], repository: rep[op] };
  workloads[`tx:${op}`] = {
    'postgres.js': () => pg.begin((s) => rawInTx(s, op)),
    drizzle: () => dz.transaction((tx) => drizzleInTx(tx, op)),
    repository: () => transaction(() => rep[op]()),
  };
}
workloads.tx3 = {
  'postgres.js': () =>
    pg.begin(async (s) => {
      const id = randomId();
      await s`select * from bench_items where id = ${id} limit 1`;
      await s`update bench_items set qty = qty + 1, updated_at = now() where id = ${id}`;
      await s`insert into bench_items (name, qty) values (${newName()}, ${1})`;
    }),
  drizzle: () =>
    dz.transaction(async (tx) => {
      const id = randomId();
      await tx.select().from(items).where(eq(items.id, id)).limit(1);
      await tx.update(items).set({ qty: 3, updatedAt: new Date() }).where(eq(items.id, id));
      await tx.insert(items).values({ name: newName(), qty: 1 });
    }),
  repository: () =>
    transaction(async () => {
      const id = randomId();
      await repo.findById(id);
      await repo.update(id, { qty: 3 });
      await repo.save({ name: newName(), qty: 1 });
    }),
};

function rawInTx(s, op) {
  switch (op) {
    case 'findById':
      return s`select * from bench_items where id = ${randomId()} limit 1`;
    case 'save':
      return s`insert into bench_items (name, qty) values (${newName()}, ${1}) returning *`;
    case 'update':
      return s`update bench_items set qty = ${2}, updated_at = now() where id = ${randomId()} returning *`;
    case 'delete':
      return s`delete from bench_items where id = ${nextDeleteId()} returning *`;
    default:
      return Promise.all([
        s`select * from bench_items where qty > ${10} order by id limit ${20} offset ${40}`,
        s`select count(*) from bench_items where qty > ${10}`,
      ]);
  }
}

function drizzleInTx(tx, op) {
  switch (op) {
    case 'findById':
      return tx.select().from(items).where(eq(items.id, randomId())).limit(1);
    case 'save':
      return tx.insert(items).values({ name: newName(), qty: 1 }).returning();
    case 'update':
      return tx.update(items).set({ qty: 2, updatedAt: new Date() }).where(eq(items.id, randomId())).returning();
    case 'delete':
      return tx.delete(items).where(eq(items.id, nextDeleteId())).returning();
    default:
      return Promise.all([
        tx.select().from(items).where(gt(items.qty, 10)).orderBy(items.id).limit(20).offset(40),
        tx.select({ count: count() }).from(items).where(gt(items.qty, 10)),
      ]);
  }
}

async function measure(fn, concurrency, seconds) {
  const latencies = [];
  const cpu = process.cpuUsage();
  const until = performance.now() + seconds * 1000;
  const started = performance.now();
  async function worker() {
    while (performance.now() < until) {
      const t0 = performance.now();
      await fn();
      latencies.push(performance.now() - t0);
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsed = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  latencies.sort((a, b) => a - b);
  const ops = latencies.length;
  return {
    opsPerSec: ops / elapsed,
    cpuUsPerOp: (used.user + used.system) / ops,
    p50: latencies[Math.floor(ops * 0.5)],
    p99: latencies[Math.min(ops - 1, Math.floor(ops * 0.99))],
  };
}

const only = process.env.BENCH_ONLY ? new Set(process.env.BENCH_ONLY.split(',')) : undefined;
const results = [];
/** 1-minute load averages, one per cell. */
const loads = [];
for (const [workload, contenders] of Object.entries(workloads)) {
  if (only && !only.has(workload)) continue;
  for (const concurrency of CONCURRENCY) {
    const runs = Object.fromEntries(Object.keys(contenders).map((c) => [c, []]));
    loads.push(load1());
    for (let round = 0; round < ROUNDS; round++) {
      for (const [contender, fn] of Object.entries(contenders)) {
        if (workload.endsWith('delete')) await prepareDeletes(20_000);
        if (process.env.BENCH_DEBUG) process.stderr.write(`${workload} ${contender}\n`);
        await measure(fn, concurrency, 0.2);
        runs[contender].push(await measure(fn, concurrency, SECONDS));
        if (workload.endsWith('delete')) await setup`delete from bench_items where name = 'del'`;
      }
    }
    const cell = { workload, concurrency };
    for (const [contender, list] of Object.entries(runs)) {
      const best = medianRun(list);
      cell[contender] = {
        opsPerSec: Math.round(best.opsPerSec),
        cpuUsPerOp: Math.round(best.cpuUsPerOp),
        p50: +best.p50.toFixed(3),
        p99: +best.p99.toFixed(3),
      };
    }
    cell.vsPostgresJs = +(cell.repository.opsPerSec / cell['postgres.js'].opsPerSec).toFixed(2);
    cell.vsDrizzle = +(cell.repository.opsPerSec / cell.drizzle.opsPerSec).toFixed(2);
    // CPU per operation in this process: steadier than ops/s on a shared machine (higher is better for us).
    cell.cpuVsPostgresJs = +(cell['postgres.js'].cpuUsPerOp / cell.repository.cpuUsPerOp).toFixed(2);
    cell.cpuVsDrizzle = +(cell.drizzle.cpuUsPerOp / cell.repository.cpuUsPerOp).toFixed(2);
    results.push(cell);
    if (workload.endsWith('delete')) await setup`vacuum analyze bench_items`;
    process.stderr.write(`${workload} c${concurrency} done\n`);
  }
}

const header = `${'workload'.padEnd(14)} ${pad('c', 3)} | ${pad('postgres.js', 11)} ${pad('drizzle', 9)} ${pad('repository', 10)} | ${pad('÷pg.js', 6)} ${pad('÷drizzle', 8)} | repo p50/p99 ms | CPU µs/op pg.js/drizzle/repo | CPU ÷pg.js ÷drizzle`;
console.log(header);
console.log('-'.repeat(header.length));
for (const r of results) {
  console.log(
    `${r.workload.padEnd(14)} ${pad(r.concurrency, 3)} | ${pad(r['postgres.js'].opsPerSec, 11)} ${pad(r.drizzle.opsPerSec, 9)} ${pad(r.repository.opsPerSec, 10)} | ${pad(r.vsPostgresJs.toFixed(2), 6)} ${pad(r.vsDrizzle.toFixed(2), 8)} | ${r.repository.p50}/${r.repository.p99} | ${r['postgres.js'].cpuUsPerOp}/${r.drizzle.cpuUsPerOp}/${r.repository.cpuUsPerOp} | ${r.cpuVsPostgresJs.toFixed(2)} ${r.cpuVsDrizzle.toFixed(2)}`,
  );
}

const traced = Object.fromEntries(
  ['findById', 'tx3'].filter((w) => !only || only.has(w)).map((w) => [w, workloads[w].repository]),
);
const observability =
  Object.keys(traced).length === 0
    ? []
    : await benchObservability({
        workloads: traced,
        dbOptions,
        measure,
        concurrency: CONCURRENCY,
        rounds: ROUNDS,
        seconds: SECONDS,
      });

const finished = new Date();
const file = writeResults('bench', finished, {
  date: finished.toISOString(),
  node: process.version,
  settings: { seconds: SECONDS, rounds: ROUNDS, pool: POOL, seedRows: SEED, concurrency: CONCURRENCY },
  load: loadSummary(loads),
  results,
  observability,
});
console.log(`\nops/s are medians of ${ROUNDS} rounds of ${SECONDS} s; pool ${POOL} for every contender.`);
console.log(loadLine(loads));
console.log(`JSON: ${file}`);

await closeDatabase();
await pg.end({ timeout: 5 });
await dz.$client.end({ timeout: 5 });
await setup.end({ timeout: 5 });
if (dropName) await dropDatabase(dropName);
