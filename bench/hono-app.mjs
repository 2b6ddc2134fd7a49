// The Hono app that bench/hono-gc-cell.mjs and bench/hono-ab.mjs call in-process (app.fetch, no sockets), and the
// loop of callers that drives one route. Routes (GET /<name>/:id): repository (findById), middleware (the read
// behind a pass-through middleware), als (the read inside a foreign AsyncLocalStorage.run), transactional (the read
// under Transactional()), txbare (the read under a middleware calling transaction(() => next())), constant (a fixed
// answer), constant-middleware, transaction-constant (the fixed answer in transaction()).
import { AsyncLocalStorage } from 'node:async_hooks';
import { EventEmitter } from 'node:events';
import { setImmediate as turn } from 'node:timers/promises';
import { Hono } from 'hono';
import { items } from './peers/contenders/schema.mjs';

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
        await res.arrayBuffer();
        // Let timers run: a route that never waits on I/O would otherwise starve them.
        if ((n & 63) === 0) await turn();
      }
    }),
  );
  clearTimeout(timer);
  return n;
}
