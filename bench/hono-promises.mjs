// node bench/hono-promises.mjs [route,…] (after npm run build): how many promises one request of each Hono route of
// bench/hono-app.mjs makes (app.fetch in-process, one request at a time, body read included), counted with an
// async_hooks init hook. A count, not a time: it holds under any load, and each promise is a microtask, an
// allocation and — once AsyncLocalStorage is on, as in a service where a transaction ran — a run of the context hooks.
// PROMISE_SITES=1 also prints where the promises of each route are made (the first stack frame outside node's own
// files, by file:line), to show which layer makes which. Settings: PROMISE_CALLS (2000), LAYER_DIST (another build).
import { createHook } from 'node:async_hooks';
import { Session } from 'node:inspector/promises';
import { list } from './lib.mjs';
import { openHonoBench, Outgoing, responseBody, routeRequests } from './hono-app.mjs';

const routes = list(process.argv[2], ['repository', 'transactional', 'constant', 'transaction-constant']);
const calls = Number(process.env.PROMISE_CALLS ?? 2000);
const sites = process.env.PROMISE_SITES === '1';
const { db, app, build, close } = await openHonoBench('spfn_hono_promises');

let counting = false;
let count = 0;
const where = new Map();
const cwd = process.cwd();
function site() {
  const lines = new Error().stack.split('\n').slice(3);
  for (const line of lines) {
    if (line.includes('node:') || line.includes('hono-promises.mjs')) continue;
    const m = /\(?((?:file:\/\/)?\/[^()]+):(\d+):\d+\)?$/.exec(line.trim());
    if (m) return `${m[1].replace('file://', '').replace(cwd + '/', '')}:${m[2]}`;
  }
  return '(node internals)';
}
const hook = createHook({
  init(_id, type) {
    if (!counting || type !== 'PROMISE') return;
    count++;
    if (sites) {
      const s = site();
      where.set(s, (where.get(s) ?? 0) + 1);
    }
  },
});

const session = new Session();
session.connect();
await session.post('HeapProfiler.enable');
/** Bytes allocated per request (V8's sampling heap profiler, every 128 bytes, collected objects included), and,
 * with PROMISE_SITES=1, the functions that allocated most. */
async function bytesPerRequest(requests) {
  await session.post('HeapProfiler.startSampling', {
    samplingInterval: Number(process.env.SAMPLING_BYTES ?? 128),
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
  for (let i = 0; i < calls; i++) await call(requests[i % requests.length]);
  const { profile } = await session.post('HeapProfiler.stopSampling');
  let total = 0;
  const by = new Map();
  const walk = (node) => {
    total += node.selfSize;
    const f = node.callFrame;
    const key = `${f.functionName || '(anonymous)'} ${f.url.replace(/^file:\/\//, '').replace(cwd + '/', '')}:${f.lineNumber + 1}`;
    if (node.selfSize) by.set(key, (by.get(key) ?? 0) + node.selfSize);
    for (const child of node.children) walk(child);
  };
  walk(profile.head);
  return { bytes: total / calls, by };
}

async function call(request) {
  const res = await app.fetch(request, { outgoing: new Outgoing() });
  await responseBody(res);
  if (res.status !== 200) throw new Error(`${request.url}: ${res.status}`);
}

try {
  if (sites) Error.stackTraceLimit = 30;
  await db.transaction(async () => undefined);
  console.log(`promises per request, ${calls} requests each, one at a time, Node ${process.version} (${build})`);
  for (const route of routes) {
    const requests = routeRequests(route);
    for (let i = 0; i < 500; i++) await call(requests[i % requests.length]);
    where.clear();
    count = 0;
    hook.enable();
    counting = true;
    for (let i = 0; i < calls; i++) await call(requests[i % requests.length]);
    counting = false;
    hook.disable();
    const { bytes, by } = await bytesPerRequest(requests);
    console.log(
      `${route.padEnd(22)} ${(count / calls).toFixed(1).padStart(5)} promises ${(bytes / 1024).toFixed(2).padStart(6)} KB`,
    );
    if (sites) {
      for (const [s, n] of [...where].sort((a, b) => b[1] - a[1])) {
        if (n / calls >= 0.05) console.log(`    ${(n / calls).toFixed(2).padStart(6)}  ${s}`);
      }
      console.log('  allocated by:');
      for (const [s, n] of [...by].sort((a, b) => b[1] - a[1]).slice(0, 25)) {
        console.log(`    ${(n / calls).toFixed(0).padStart(6)} B  ${s}`);
      }
    }
  }
} finally {
  session.disconnect();
  await close();
}
