// The server of the HTTP benchmark, in a process of its own: prints its port, serves until stdin closes.
// GET /constant (the ceiling: no database), GET /users/:id (the repository), GET /tx/users/:id (the same under
// Transactional()), GET /txin/users/:id (under Transactional({ deferReads: false }): the read runs inside a
// transaction on the server, ADR 0009; absent on builds without the option).
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { items } from './contenders/schema.mjs';

const { closeDatabase, getRepository, initDatabase, Transactional, transaction } = await import(
  process.env.PEERS_SPFN_DB ?? '../../dist/db/index.js'
);

await initDatabase({
  url: process.env.PEERS_URL,
  pool: { max: Number(process.env.PEERS_POOL ?? 10) },
  healthCheck: { enabled: false },
  applicationName: 'spfn-bench-http',
});
// HTTP_WARM_TX=1: one transaction before serving, as in a service that has any Transactional() route: from then on
// AsyncLocalStorage is enabled for the process (Node 20 runs its hooks for every promise).
if (process.env.HTTP_WARM_TX === '1') await transaction(async () => undefined);
const repo = getRepository(items);
const app = new Hono();
const findUser = async (c) => {
  const row = await repo.findById(Number(c.req.param('id')));
  return row ? c.json(row) : c.json({ error: { code: 'NOT_FOUND', message: 'no such user' } }, 404);
};
app.get('/constant', (c) => c.json({ id: 1, name: 'constant', qty: 1 }));
app.get('/users/:id', findUser);
app.get('/tx/users/:id', Transactional(), findUser);
try {
  app.get('/txin/users/:id', Transactional({ deferReads: false }), findUser);
} catch {
  // An older build (PEERS_SPFN_DB) without the option.
}

const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => {
  console.log(JSON.stringify({ port: info.port }));
});
process.stdin.resume();
process.stdin.on('end', () => {
  server.close();
  void closeDatabase().then(() => process.exit(0));
});
