// One cell of bench/hono-gc.mjs: the app of bench/hono-app.mjs called in-process (app.fetch, no sockets) by 50
// callers at once for HONO_SECONDS after a warm-up, on one route. Prints one JSON line: requests, Node CPU µs and
// collector µs per request. Run under --trace-gc-nvp by the driver, which reads the young-generation figures from
// the same stdout.
import { PerformanceObserver } from 'node:perf_hooks';
import { driveRoute, honoBenchApp, routeRequests } from './hono-app.mjs';

const [dist, url, route] = process.argv.slice(2);
const seconds = Number(process.env.HONO_SECONDS ?? 3);
const db = await import(`${dist}/db/index.js`);
await db.initDatabase({ url, pool: { max: 10 }, healthCheck: { enabled: false }, applicationName: 'spfn-hono-gc' });
const app = honoBenchApp(db);
const requests = routeRequests(route);

let gc = 0;
let measuring = false;
new PerformanceObserver((list) => {
  if (measuring) for (const entry of list.getEntries()) gc += entry.duration * 1000;
}).observe({ entryTypes: ['gc'] });

await driveRoute(app, requests, 1500);
measuring = true;
console.log('MEASURE');
const cpu0 = process.cpuUsage();
const n = await driveRoute(app, requests, seconds * 1000);
const cpu = process.cpuUsage(cpu0);
measuring = false;
console.log('END');
console.log(JSON.stringify({ requests: n, cpuUs: (cpu.user + cpu.system) / n, gcUs: gc / n }));
await db.closeDatabase();
