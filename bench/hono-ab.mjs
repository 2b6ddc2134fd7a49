// node bench/hono-ab.mjs [routeA,routeB,…] (after npm run build): Hono routes called in-process (app.fetch, 50
// callers, no sockets) in ONE process, alternating between the routes in short slices, so that the host's load and
// the process's own state (what V8 compiled, which collector mode it settled in) are shared by every route; prints
// the median Node CPU µs per request of each route and the ratio of the first two. A transaction runs before the
// first slice, so AsyncLocalStorage is on for every route, as in a service with one Transactional() route.
// Routes: repository (findById), transactional (the same under Transactional()), txbare (under a middleware
// calling transaction(() => next())), middleware (the read behind a pass-through middleware), als (the read inside
// a foreign AsyncLocalStorage.run), constant, constant-middleware, constant-transaction.
// Settings: AB_SLICES (20), AB_SLICE_MS (400), LAYER_DIST (another build's dist/).
import { AsyncLocalStorage } from 'node:async_hooks';
import { EventEmitter } from 'node:events';
import { setImmediate as turn } from 'node:timers/promises';
import { Hono } from 'hono';
import { createDatabase, dropDatabase, layerDist, list, load1, loadLine, median, seedBenchItems } from './lib.mjs';
import { items } from './peers/contenders/schema.mjs';

const routes = list(process.argv[2], ['repository', 'transactional']);
const slices = Number(process.env.AB_SLICES ?? 20);
const sliceMs = Number(process.env.AB_SLICE_MS ?? 400);
const CALLERS = 50;
const { url: dist, label: build } = layerDist();
const url = await createDatabase('spfn_hono_ab', { replace: true });
await seedBenchItems(url);
const db = await import(`${dist}/db/index.js`);
await db.initDatabase({ url, pool: { max: 10 }, healthCheck: { enabled: false }, applicationName: 'spfn-hono-ab' });
const repo = db.getRepository(items);
const foreign = new AsyncLocalStorage();
const store = { foreign: true };
const app = new Hono();
const findUser = async (c) => {
  const row = await repo.findById(Number(c.req.param('id')));
  return row ? c.json(row) : c.json({ error: 'not found' }, 404);
};
const constant = (c) => c.json({ id: 1, name: 'constant', qty: 1 });
const pass = (_c, next) => next();
app.get('/repository/:id', findUser);
app.get('/transactional/:id', db.Transactional(), findUser);
app.get('/txbare/:id', (_c, next) => db.transaction(() => next()), findUser);
app.get('/middleware/:id', pass, findUser);
app.get('/als/:id', (_c, next) => foreign.run(store, next), findUser);
app.get('/constant/:id', constant);
app.get('/constant-middleware/:id', pass, constant);
app.get('/constant-transaction/:id', (_c, next) => db.transaction(() => next()), constant);

// What @hono/node-server passes as c.env.outgoing, for Transactional()'s client watch.
class Outgoing extends EventEmitter {
  writableFinished = false;
  destroyed = false;
}
const requests = Object.fromEntries(
  routes.map((r) => [r, Array.from({ length: 1000 }, (_, i) => new Request(`http://bench/${r}/${i + 1}`))]),
);

/** Runs one route for `ms`; Node CPU µs per request. */
async function slice(route, ms) {
  const list = requests[route];
  let n = 0;
  let stop = false;
  const timer = setTimeout(() => (stop = true), ms);
  const before = process.cpuUsage();
  await Promise.all(
    Array.from({ length: CALLERS }, async () => {
      while (!stop) {
        const res = await app.fetch(list[n++ % list.length], { outgoing: new Outgoing() });
        await res.arrayBuffer();
        // Let timers run: a route that never waits on I/O would otherwise starve them.
        if ((n & 63) === 0) await turn();
      }
    }),
  );
  clearTimeout(timer);
  const used = process.cpuUsage(before);
  return (used.user + used.system) / n;
}

const loads = [load1()];
try {
  await db.transaction(async () => undefined);
  for (const route of routes) await slice(route, 1000);
  const cpu = Object.fromEntries(routes.map((r) => [r, []]));
  for (let i = 0; i < slices; i++) {
    for (const route of i % 2 ? [...routes].reverse() : routes) cpu[route].push(await slice(route, sliceMs));
    loads.push(load1());
  }
  console.log(
    `${slices} slices × ${sliceMs} ms per route, ${CALLERS} callers, pool 10, Node ${process.version} (${build})`,
  );
  console.log('| route | Node CPU µs / request (median) |');
  console.log('|---|---:|');
  for (const route of routes) console.log(`| ${route} | ${median(cpu[route]).toFixed(1)} |`);
  if (routes.length > 1) {
    const ratio = median(cpu[routes[0]]) / median(cpu[routes[1]]);
    console.log(`CPU ratio ${routes[0]} / ${routes[1]}: ${ratio.toFixed(2)}`);
  }
  console.log(loadLine(loads));
} finally {
  await db.closeDatabase();
  await dropDatabase('spfn_hono_ab');
}
