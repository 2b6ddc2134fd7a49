// node bench/peers/http-ab.mjs [routeA,routeB,…] (after npm run build): the HTTP benchmark's routes served by one
// server process each, all started and warmed first, then driven in turn by autocannon in short slices (the order
// alternating), so that each pair of adjacent slices shares the host's speed of that moment. The servers are started
// afresh AB_PROCESSES times (the slices split between them): a process settles in a collector mode of its own
// (how much of each request V8 promotes), which moves its route by more than the differences measured. On a host whose speed
// drifts by 2× within a minute, cells run minutes apart (bench/peers/http.mjs) cannot resolve a 10 % difference;
// the median of per-slice ratios can. Prints median req/s per route and the median ratio of the first route to each.
// Routes: repository, repository-als (the same in a server where a transaction ran), transactional,
// transactional-inside, constant. Settings: AB_SLICES (18), AB_PROCESSES (3), AB_SLICE_SECONDS (2),
// HTTP_CONNECTIONS (50), PEERS_SPFN_DB (another build's db/index.js).
import autocannon from 'autocannon';
import {
  SEED_ROWS,
  createDatabase,
  dropDatabase,
  list,
  load1,
  loadLine,
  median,
  seedBenchItems,
  writeResults,
} from '../lib.mjs';
import { startServer } from './http-process.mjs';
import { setup } from './setup.mjs';

const routes = list(process.argv[2], ['transactional', 'repository-als', 'repository']);
const slices = Number(process.env.AB_SLICES ?? 18);
const processes = Number(process.env.AB_PROCESSES ?? 3);
const seconds = Number(process.env.AB_SLICE_SECONDS ?? 2);
const connections = Number(process.env.HTTP_CONNECTIONS ?? 50);
const paths = {
  constant: '/constant',
  repository: '/users/',
  'repository-als': '/users/',
  transactional: '/tx/users/',
  'transactional-inside': '/txin/users/',
};
const database = 'spfn_peers_http_ab';

setup();

function drive(port, route, duration) {
  const path = paths[route];
  return autocannon({
    url: `http://127.0.0.1:${port}`,
    connections,
    duration,
    requests: [
      {
        setupRequest: (r) => ({
          ...r,
          method: 'GET',
          path: route === 'constant' ? path : `${path}${1 + Math.floor(Math.random() * SEED_ROWS)}`,
        }),
      },
    ],
  });
}

const url = await createDatabase(database, { replace: true });
await seedBenchItems(url, SEED_ROWS);
const servers = {};
const rps = Object.fromEntries(routes.map((r) => [r, []]));
const loads = [load1()];
const started = new Date();
try {
  for (let set = 0; set < processes; set++) {
    for (const route of routes) servers[route] = await startServer(url, route);
    for (const route of routes) await drive(servers[route].port, route, 2);
    for (let i = 0; i < slices / processes; i++) {
      for (const route of i % 2 ? [...routes].reverse() : routes) {
        const result = await drive(servers[route].port, route, seconds);
        if (result.non2xx + result.errors + result.timeouts > 0) throw new Error(`${route}: failed requests`);
        rps[route].push(result.requests.average);
      }
      loads.push(load1());
    }
    await Promise.all(routes.map((route) => servers[route].stop()));
    for (const route of routes) delete servers[route];
  }
} finally {
  await Promise.all(Object.values(servers).map((s) => s.stop()));
  await dropDatabase(database);
}

const [first] = routes;
const lines = [
  `HTTP in alternating slices, ${started.toISOString()}: ${slices} slices × ${seconds} s per route in ${processes} sets of server processes, ${connections} connections, pool ${process.env.PEERS_POOL ?? 10}, Node ${process.version}${process.env.PEERS_SPFN_DB ? ` (${process.env.PEERS_SPFN_DB})` : ''}.`,
  loadLine(loads),
  '',
  `| route | req/s (median) | slices (min–max) | ${first} / route (median of per-slice ratios) |`,
  '|---|---:|---|---:|',
  ...routes.map((route) => {
    const xs = rps[route];
    const ratios = xs.map((x, i) => rps[first][i] / x);
    return `| ${route} | ${Math.round(median(xs))} | ${Math.round(Math.min(...xs))}–${Math.round(Math.max(...xs))} | ${median(ratios).toFixed(2)} |`;
  }),
];
console.log(lines.join('\n'));
console.error(
  `written ${writeResults('http-ab', started, { started, slices, seconds, connections, rps, table: lines })}`,
);
