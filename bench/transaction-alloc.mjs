// node bench/transaction-alloc.mjs (after npm run build): what an empty transaction and one 3-statement transaction
// (findById, update, save in transaction()) allocate on a real server, and how many promises they make, next to raw
// postgres.js `sql.begin` with the same statements. Both are counts, not times, so they hold under load. Bytes come
// from V8's sampling heap profiler with collected objects included (every 256 bytes sampled); promises from an
// async_hooks init hook, in a second pass (the hook itself allocates). One transaction at a time. LAYER_DIST points
// at another build's dist/ (absolute URL or path) to measure it instead; TX_CALLS sets the transactions per pass
// (default 3000).
import { createHook } from 'node:async_hooks';
import { Session } from 'node:inspector/promises';
import postgres from 'postgres';
import { createDatabase, dropDatabase, loadLine, load1, seedBenchItems, layerDist } from './lib.mjs';
import { items } from './peers/contenders/schema.mjs';
import { rawTx3, repositoryTx3 } from './workloads.mjs';

const { url: dist, label: build } = layerDist();
const calls = Number(process.env.TX_CALLS ?? 3000);
const url = await createDatabase('spfn_transaction_alloc', { replace: true });
await seedBenchItems(url);
const loads = [load1()];
const db = await import(`${dist}/db/index.js`);
await db.initDatabase({ url, pool: { max: 10 }, healthCheck: { enabled: false }, applicationName: 'spfn-alloc' });
const raw = postgres(url, { max: 10, onnotice: () => undefined });
const repo = db.getRepository(items);
const id = () => 1 + Math.floor(Math.random() * 10_000);
const repositoryCall = repositoryTx3(db.transaction, repo);
const rawCall = rawTx3(raw);
const cases = {
  'transaction() empty': () => db.transaction(() => 1),
  'transaction() tx3': () => repositoryCall(id(), 'alloc'),
  'raw sql.begin tx3': () => rawCall(id(), 'alloc'),
};

const session = new Session();
session.connect();
await session.post('HeapProfiler.enable');
async function bytesPerCall(call) {
  await session.post('HeapProfiler.startSampling', {
    samplingInterval: 256,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
  for (let i = 0; i < calls; i++) await call();
  const { profile } = await session.post('HeapProfiler.stopSampling');
  let total = 0;
  const walk = (node) => {
    total += node.selfSize;
    for (const child of node.children) walk(child);
  };
  walk(profile.head);
  return total / calls;
}

let promises = 0;
let counting = false;
const hook = createHook({
  init(_id, type) {
    if (counting && type === 'PROMISE') promises++;
  },
});
async function promisesPerCall(call) {
  hook.enable();
  promises = 0;
  counting = true;
  for (let i = 0; i < calls; i++) await call();
  counting = false;
  hook.disable();
  return promises / calls;
}

try {
  for (const [name, call] of Object.entries(cases)) {
    for (let i = 0; i < 1000; i++) await call();
    const bytes = await bytesPerCall(call);
    const made = await promisesPerCall(call);
    console.log(`${name.padEnd(20)} ${(bytes / 1024).toFixed(1)} KB allocated, ${made.toFixed(1)} promises per call`);
    loads.push(load1());
  }
  console.log(`(${calls} calls per figure, ${build}) ${loadLine(loads)}`);
} finally {
  session.disconnect();
  await raw.end();
  await db.closeDatabase();
  await dropDatabase('spfn_transaction_alloc');
}
