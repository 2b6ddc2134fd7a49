// node bench/hono-ab.mjs [routeA,routeB,…] (after npm run build): Hono routes called in-process (app.fetch, 50
// callers, no sockets) in ONE process, alternating between the routes in short slices, so that the host's load and
// the process's own state (what V8 compiled, which collector mode it settled in) are shared by every route; prints
// the median Node CPU µs per request of each route and the ratio of the first two. A transaction runs before the
// first slice, so AsyncLocalStorage is on for every route, as in a service with one Transactional() route.
// Routes: those of bench/hono-app.mjs (repository, transactional, txbare, middleware, als, constant,
// constant-middleware, transaction-constant).
// Settings: AB_SLICES (20), AB_SLICE_MS (400), LAYER_DIST (another build's dist/).
import { list, load1, loadLine, median } from './lib.mjs';
import { driveRoute, openHonoBench, routeRequests } from './hono-app.mjs';

const routes = list(process.argv[2], ['repository', 'transactional']);
const slices = Number(process.env.AB_SLICES ?? 20);
const sliceMs = Number(process.env.AB_SLICE_MS ?? 400);
const { db, app, build, close } = await openHonoBench('spfn_hono_ab');
const requests = Object.fromEntries(routes.map((r) => [r, routeRequests(r)]));

/** Runs one route for `ms`; Node CPU µs per request. */
async function slice(route, ms) {
  const before = process.cpuUsage();
  const n = await driveRoute(app, requests[route], ms);
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
  console.log(`${slices} slices × ${sliceMs} ms per route, 50 callers, pool 10, Node ${process.version} (${build})`);
  console.log('| route | Node CPU µs / request (median) |');
  console.log('|---|---:|');
  for (const route of routes) console.log(`| ${route} | ${median(cpu[route]).toFixed(1)} |`);
  if (routes.length > 1) {
    const ratio = median(cpu[routes[0]]) / median(cpu[routes[1]]);
    console.log(`CPU ratio ${routes[0]} / ${routes[1]}: ${ratio.toFixed(2)}`);
  }
  console.log(loadLine(loads));
} finally {
  await close();
}
