// node bench/transaction-gc.mjs (after npm run build): Node CPU and garbage-collector time per call, with 50
// callers at once, of a repository findById alone, the same findById in transaction() (a read before BEGIN,
// docs/adr/0009), in transaction({ deferReads: false }) (BEGIN, the guarded limits, the select, COMMIT), and an
// empty transaction(): what a per-request transaction costs the process, collector included (docs/adr/0010).
// Cases run in turn in one process after one warm-up transaction (AsyncLocalStorage on for all of them); rounds
// repeat the cases; each figure is the median of the rounds. The 3-statement transaction of bench/peers (select,
// update, insert) is there too, through the repository, through prepare() and as raw postgres.js `sql.begin`: in one
// process, so that the per-process differences of fresh cells (which GC mode V8 settles in, what it compiled) do not
// enter the comparison. Settings: LAYER_DIST (another build's dist/ to measure instead), GC_CALLS (calls per case
// and round, 40000), GC_ROUNDS (3), GC_CASES (all but the tx3 cases), GC_CALLERS (50).
import { PerformanceObserver } from 'node:perf_hooks';
import { setImmediate as turn } from 'node:timers/promises';
import postgres from 'postgres';
import { createDatabase, dropDatabase, load1, loadLine, median, seedBenchItems, layerDist } from './lib.mjs';
import { items } from './peers/contenders/schema.mjs';
import { preparedStatements, preparedTx3, rawTx3, repositoryTx3 } from './workloads.mjs';

const { url: dist, label: build } = layerDist();
const calls = Number(process.env.GC_CALLS ?? 40_000);
const rounds = Number(process.env.GC_ROUNDS ?? 3);
const CALLERS = Number(process.env.GC_CALLERS ?? 50);

const url = await createDatabase('spfn_transaction_gc', { replace: true });
await seedBenchItems(url);
const db = await import(`${dist}/db/index.js`);
await db.initDatabase({ url, pool: { max: 10 }, healthCheck: { enabled: false }, applicationName: 'spfn-gc' });
await db.transaction(async () => undefined);
const repo = db.getRepository(items);
const raw = postgres(url, { max: 10, onnotice: () => undefined });
const id = () => 1 + Math.floor(Math.random() * 10_000);
const tx3Call = {
  'tx3 repository': repositoryTx3(db.transaction, repo),
  'tx3 prepare()': preparedTx3(db.transaction, preparedStatements(db.prepare)),
  'tx3 raw sql.begin': rawTx3(raw),
};
const tx3 = Object.fromEntries(Object.entries(tx3Call).map(([name, call]) => [name, () => call(id(), 'gc')]));
const cases = {
  findById: () => repo.findById(id()),
  'transaction(findById)': () => db.transaction(() => repo.findById(id())),
  'transaction(findById) with deferReads: false': () =>
    db.transaction(() => repo.findById(id()), { deferReads: false }),
  'empty transaction (two turns)': () =>
    db.transaction(async () => {
      await turn();
      await turn();
    }),
};
Object.assign(cases, tx3);
const names = (
  process.env.GC_CASES ??
  Object.keys(cases)
    .filter((name) => !(name in tx3))
    .join(',')
).split(',');

let collecting = 0;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) collecting += entry.duration;
}).observe({ entryTypes: ['gc'] });

const figures = Object.fromEntries(names.map((name) => [name, { cpu: [], gc: [] }]));
const loads = [load1()];
try {
  // Warm-up: every case once over, so that the first one measured is not the one that pays for compiling.
  for (const name of names) for (let i = 0; i < 2000; i++) await cases[name]();
  for (let round = 0; round < rounds; round++) {
    for (const name of names) {
      const call = cases[name];
      collecting = 0;
      const before = process.cpuUsage();
      await Promise.all(
        Array.from({ length: CALLERS }, async () => {
          for (let i = 0; i < calls / CALLERS; i++) await call();
        }),
      );
      const used = process.cpuUsage(before);
      figures[name].cpu.push((used.user + used.system) / calls);
      figures[name].gc.push((collecting * 1000) / calls);
      loads.push(load1());
    }
  }
  console.log(`${calls} calls × ${rounds} rounds per case, ${CALLERS} callers, pool 10 (${build})`);
  console.log('| case | Node CPU µs/call | of which collecting |');
  console.log('|---|---:|---:|');
  for (const name of names) {
    const f = figures[name];
    console.log(`| ${name} | ${median(f.cpu).toFixed(1)} | ${median(f.gc).toFixed(1)} |`);
  }
  console.log(loadLine(loads));
} finally {
  await raw.end();
  await db.closeDatabase();
  await dropDatabase('spfn_transaction_gc');
}
