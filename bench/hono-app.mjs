// The Hono app that bench/hono-gc-cell.mjs and bench/hono-ab.mjs call in-process (app.fetch, no sockets), and the
// loop of callers that drives one route. Routes (GET /<name>/:id): repository (findById), middleware (the read
// behind a pass-through middleware), als (the read inside a foreign AsyncLocalStorage.run), transactional (the read
// under Transactional()), txbare (the read under a middleware calling transaction(() => next())), constant (a fixed
// answer), constant-middleware, transaction-constant (the fixed answer in transaction()).
import { AsyncLocalStorage } from 'node:async_hooks';
import { EventEmitter } from 'node:events';
import { setImmediate as turn } from 'node:timers/promises';
import { getRequestListener } from '@hono/node-server';
import { Hono } from 'hono';
import { createDatabase, dropDatabase, layerDist, seedBenchItems } from './lib.mjs';
import { items } from './peers/contenders/schema.mjs';

// @hono/node-server's Request and Response in place of the global ones, as `serve()` installs them: `c.json()` then
// makes a light response whose body the server writes as it is, with no web stream. The global Response makes a
// ReadableStream per request, which Node 20 keeps through young-generation collections (a transferable's handle),
// and with it whatever its promise's async context reaches — a request's ended transaction, for instance: the
// in-process figures would otherwise charge the harness's streams to the transaction.
getRequestListener(() => undefined);

/** The body of a response, as @hono/node-server takes it: from the light response's cache when it has one. */
export function responseBody(res) {
  const cache = Object.getOwnPropertySymbols(res).find((s) => s.description === 'cache');
  return cache === undefined ? res.arrayBuffer() : res[cache][1];
}

/** The bench's routes on the package's default database (`db`: the build's `db/index.js`, initialised). */
export function honoBenchApp(db) {
  const repo = db.getRepository(items);
  const foreign = new AsyncLocalStorage();
  const store = { foreign: true };
  const findUser = async (c) => {
    const row = await repo.findById(Number(c.req.param('id')));
    return row ? c.json(row) : c.json({ error: 'not found' }, 404);
  };
  const constant = (c) => c.json({ id: 1, name: 'constant', qty: 1 });
  const pass = (_c, next) => next();
  const inTransaction = (_c, next) => db.transaction(() => next());
  const app = new Hono();
  app.get('/repository/:id', findUser);
  app.get('/middleware/:id', pass, findUser);
  app.get('/als/:id', (_c, next) => foreign.run(store, next), findUser);
  app.get('/transactional/:id', db.Transactional(), findUser);
  app.get('/txbare/:id', inTransaction, findUser);
  app.get('/constant/:id', constant);
  app.get('/constant-middleware/:id', pass, constant);
  app.get('/transaction-constant/:id', inTransaction, constant);
  return app;
}

/**
 * A scratch database `name` seeded with the bench items, the layer's build (LAYER_DIST, else this checkout's) opened
 * on it, and the app on that; `close()` closes the layer and drops the database.
 */
export async function openHonoBench(name) {
  const { url: dist, label: build } = layerDist();
  const url = await createDatabase(name, { replace: true });
  await seedBenchItems(url);
  const db = await import(`${dist}/db/index.js`);
  await db.initDatabase({ url, pool: { max: 10 }, healthCheck: { enabled: false }, applicationName: name });
  const close = async () => {
    await db.closeDatabase();
    await dropDatabase(name);
  };
  return { db, app: honoBenchApp(db), build, close };
}

// What @hono/node-server passes as c.env.outgoing, for Transactional()'s client watch.
export class Outgoing extends EventEmitter {
  writableFinished = false;
  destroyed = false;
}

/** 1000 requests to `route`, ids 1..1000, made once and reused. */
export const routeRequests = (route) =>
  Array.from({ length: 1000 }, (_, i) => new Request(`http://bench/${route}/${i + 1}`));

/** Calls the app with `requests` in turn from `callers` loops for `ms`; returns how many requests ran. */
export async function driveRoute(app, requests, ms, callers = 50) {
  let n = 0;
  let stop = false;
  const timer = setTimeout(() => (stop = true), ms);
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (!stop) {
        const res = await app.fetch(requests[n++ % requests.length], { outgoing: new Outgoing() });
        await responseBody(res);
        // Let timers run: a route that never waits on I/O would otherwise starve them.
        if ((n & 63) === 0) await turn();
      }
    }),
  );
  clearTimeout(timer);
  return n;
}
