// npm run bench:http: GET /users/:id through the repository, the same route under Transactional() (reads
// deferred, ADR 0009) and under Transactional({ deferReads: false }), and a constant route (no database) as the
// ceiling, driven by autocannon. A fresh server process per cell; rounds interleaved and rotated; the table shows median requests/s and ratios. Settings: TEST_PG_URL, HTTP_ROUNDS (3),
// HTTP_SECONDS (5), HTTP_CONNECTIONS (50), PEERS_POOL (10).
import autocannon from 'autocannon';
import { startServer } from './http-process.mjs';
import {
  SEED_ROWS,
  createDatabase,
  dropDatabase,
  load1,
  loadLine,
  median,
  rotate,
  seedBenchItems,
  writeResults,
} from '../lib.mjs';
import { setup } from './setup.mjs';

const ROUNDS = Number(process.env.HTTP_ROUNDS ?? 3);
const SECONDS = Number(process.env.HTTP_SECONDS ?? 5);
const CONNECTIONS = Number(process.env.HTTP_CONNECTIONS ?? 50);
const SEED = SEED_ROWS;
const database = 'spfn_peers_http';
let url;
const routes = {
  constant: '/constant',
  repository: '/users/',
  transactional: '/tx/users/',
  'transactional-inside': '/txin/users/',
  // The repository route in a server where a transaction already ran, as in any service with one Transactional()
  // route: AsyncLocalStorage is then enabled for the whole process, and Node 20 runs its hooks for every promise.
  'repository-als': '/users/',
};

setup();

async function runCell(route) {
  const server = await startServer(url, route);
  try {
    const path = routes[route];
    const target = `http://127.0.0.1:${server.port}`;
    const request = () => ({
      method: 'GET',
      path: route === 'constant' ? path : `${path}${1 + Math.floor(Math.random() * SEED)}`,
    });
    // Warm-up, then the measured run.
    await autocannon({
      url: target,
      connections: CONNECTIONS,
      duration: 1,
      requests: [{ setupRequest: (r) => ({ ...r, ...request() }) }],
    });
    const result = await autocannon({
      url: target,
      connections: CONNECTIONS,
      duration: SECONDS,
      requests: [{ setupRequest: (r) => ({ ...r, ...request() }) }],
    });
    const bad = result.non2xx + result.errors + result.timeouts;
    return { route, rps: result.requests.average, p99: result.latency.p99, bad };
  } finally {
    await server.stop();
  }
}

url = await createDatabase(database, { replace: true });
await seedBenchItems(url, SEED);
const names = Object.keys(routes);
const results = [];
const loads = [];
const started = new Date();
try {
  for (let round = 0; round < ROUNDS; round++) {
    for (const route of rotate(names, round)) {
      loads.push(load1());
      const r = await runCell(route);
      results.push({ ...r, round });
      console.error(
        `  round ${round + 1}/${ROUNDS} ${route}: ${Math.round(r.rps)} req/s, p99 ${r.p99} ms${r.bad ? `, ${r.bad} failed` : ''}`,
      );
    }
  }
} finally {
  await dropDatabase(database);
}

const byRound = (route, round) => results.find((r) => r.route === route && r.round === round);
const ratio = (a, b) => median([...Array(ROUNDS).keys()].map((i) => byRound(a, i).rps / byRound(b, i).rps));
const rps = (route) => median(results.filter((r) => r.route === route).map((r) => r.rps));
const rounds = (route) =>
  results
    .filter((r) => r.route === route)
    .map((r) => Math.round(r.rps))
    .join(' / ');
const text = [
  `HTTP, ${started.toISOString()}: ${ROUNDS} rounds × ${SECONDS} s per route, ${CONNECTIONS} connections, pool ${process.env.PEERS_POOL ?? 10}, Node ${process.version}.`,
  loadLine(loads),
  '',
  '| route | req/s (median) | rounds | ratio |',
  '|---|---:|---|---:|',
  `| GET /constant (ceiling) | ${Math.round(rps('constant'))} | ${rounds('constant')} | 1.00 |`,
  `| GET /users/:id, repository | ${Math.round(rps('repository'))} | ${rounds('repository')} | ${ratio('repository', 'constant').toFixed(2)} of the ceiling |`,
  `| GET /users/:id under Transactional() | ${Math.round(rps('transactional'))} | ${rounds('transactional')} | ${ratio('transactional', 'repository').toFixed(2)} of the route without it |`,
  `| GET /users/:id, repository, in a server where a transaction ran (AsyncLocalStorage on) | ${Math.round(rps('repository-als'))} | ${rounds('repository-als')} | ${ratio('repository-als', 'constant').toFixed(2)} of the ceiling |`,
  `| GET /users/:id under Transactional(), against the route in a server where a transaction ran | ${Math.round(rps('transactional'))} | ${rounds('transactional')} | ${ratio('transactional', 'repository-als').toFixed(2)} of that route |`,
  `| GET /users/:id under Transactional({ deferReads: false }) | ${Math.round(rps('transactional-inside'))} | ${rounds('transactional-inside')} | ${ratio('transactional-inside', 'repository').toFixed(2)} of the route without it |`,
].join('\n');
console.log(text);
const file = writeResults('http', started, {
  started,
  rounds: ROUNDS,
  seconds: SECONDS,
  connections: CONNECTIONS,
  results,
  table: text,
});
console.error(`written ${file}`);
