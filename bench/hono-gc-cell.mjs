// One cell of bench/hono-gc.mjs: a Hono app called in-process (app.fetch, no sockets) by 50 callers at once for
// HONO_SECONDS after a warm-up, on one route. Prints one JSON line: requests, Node CPU µs and collector µs per request.
// Run under --trace-gc-nvp by the driver, which reads the young-generation figures from the same stdout.
import { EventEmitter } from 'node:events';
import { PerformanceObserver } from 'node:perf_hooks';
import { setImmediate as turn } from 'node:timers/promises';
import { Hono } from 'hono';
import { items } from './peers/contenders/schema.mjs';

const [dist, url, route] = process.argv.slice(2);
const seconds = Number(process.env.HONO_SECONDS ?? 3);
const CALLERS = 50;
const db = await import(`${dist}/db/index.js`);
await db.initDatabase({ url, pool: { max: 10 }, healthCheck: { enabled: false }, applicationName: 'spfn-hono-gc' });
const repo = db.getRepository(items);
const app = new Hono();
const findUser = async (c) => {
  const row = await repo.findById(Number(c.req.param('id')));
  return row ? c.json(row) : c.json({ error: 'not found' }, 404);
};
const constant = (c) => c.json({ id: 1, name: 'constant', qty: 1 });
app.get('/repository/:id', findUser);
app.get(
  '/middleware/:id',
  async (_c, next) => {
    await next();
  },
  findUser,
);
app.get('/transactional/:id', db.Transactional(), findUser);
app.get('/transaction-constant/:id', (_c, next) => db.transaction(() => next()), constant);
app.get('/constant/:id', constant);

// What @hono/node-server passes as c.env.outgoing, for Transactional()'s client watch.
class Outgoing extends EventEmitter {
  writableFinished = false;
  destroyed = false;
}
const requests = Array.from({ length: 1000 }, (_, i) => new Request(`http://bench/${route}/${i + 1}`));
let n = 0;
let stop = false;
async function caller() {
  while (!stop) {
    const res = await app.fetch(requests[n++ % requests.length], { outgoing: new Outgoing() });
    await res.arrayBuffer();
    // Let timers run: a route that never waits on I/O would otherwise starve them.
    if ((n & 63) === 0) await turn();
  }
}
async function run(ms) {
  stop = false;
  const callers = Array.from({ length: CALLERS }, caller);
  await new Promise((resolve) => setTimeout(resolve, ms));
  stop = true;
  await Promise.all(callers);
}
let gc = 0;
let measuring = false;
new PerformanceObserver((list) => {
  if (measuring) for (const entry of list.getEntries()) gc += entry.duration * 1000;
}).observe({ entryTypes: ['gc'] });

await run(1500);
n = 0;
measuring = true;
console.log('MEASURE');
const cpu0 = process.cpuUsage();
await run(seconds * 1000);
const cpu = process.cpuUsage(cpu0);
measuring = false;
console.log('END');
console.log(JSON.stringify({ requests: n, cpuUs: (cpu.user + cpu.system) / n, gcUs: gc / n }));
await db.closeDatabase();
