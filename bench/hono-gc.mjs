// node bench/hono-gc.mjs (after npm run build): what a route costs the process when a Hono app is called in-process
// (app.fetch, no sockets, 50 callers at once): Node CPU µs and collector µs per request, and the share of young
// objects each scavenge kept and moved to the old generation (from --trace-gc-nvp). Without sockets and a load
// generator on the same two cores these figures move far less than bench/peers/http.mjs. A fresh process per cell,
// rounds interleaved and rotated, medians. Routes: a repository read, the same behind a pass-through middleware,
// under Transactional(), a constant answer in transaction(), and the constant answer alone.
// Settings: HONO_ROUTES, HONO_ROUNDS (3), HONO_SECONDS (3), LAYER_DIST (another build's dist/).
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  createDatabase,
  dropDatabase,
  layerDist,
  list,
  load1,
  loadLine,
  median,
  rotate,
  runJsonChild,
  seedBenchItems,
  youngGeneration,
} from './lib.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const { url: dist, label: build } = layerDist();
const rounds = Number(process.env.HONO_ROUNDS ?? 3);
const routes = list(process.env.HONO_ROUTES, [
  'repository',
  'middleware',
  'transactional',
  'transaction-constant',
  'constant',
]);

/** Runs one cell; the nvp lines between MEASURE and END give the young-generation figures. */
async function cell(url, route) {
  const result = await runJsonChild(join(here, 'hono-gc-cell.mjs'), [dist, url, route], {
    env: { ...process.env, LOG_LEVEL: 'warn', NODE_ENV: 'production' },
    nodeArgs: ['--trace-gc-nvp'],
    keepStdout: true,
  });
  if (result.failed) return result;
  return { ...result, ...youngGeneration(result.stdout) };
}

const url = await createDatabase('spfn_hono_gc', { replace: true });
await seedBenchItems(url);
const results = Object.fromEntries(routes.map((r) => [r, []]));
const loads = [load1()];
try {
  for (let round = 0; round < rounds; round++) {
    for (const route of rotate(routes, round)) {
      const result = await cell(url, route);
      loads.push(load1());
      if (result.failed) {
        console.error(`  round ${round + 1} ${route}: failed: ${result.failed}`);
        continue;
      }
      results[route].push(result);
      console.error(
        `  round ${round + 1}/${rounds} ${route}: ${result.cpuUs.toFixed(1)} µs CPU, ${result.gcUs.toFixed(1)} µs GC, ` +
          `${result.promotedPct.toFixed(1)} % promoted`,
      );
    }
  }
} finally {
  await dropDatabase('spfn_hono_gc');
}

const fmt = (xs, key) => (xs.length ? median(xs.map((x) => x[key])).toFixed(1) : '—');
console.log(`Hono in-process, ${build}, ${new Date().toISOString()}: ${rounds} rounds, 50 callers, pool 10.`);
console.log(loadLine(loads));
console.log('\n| route | CPU µs / request | collector µs / request | promoted % | rounds (promoted %) |');
console.log('|---|---:|---:|---:|---|');
for (const route of routes) {
  const xs = results[route];
  const each = xs.map((x) => x.promotedPct.toFixed(1)).join(' / ');
  console.log(`| ${route} | ${fmt(xs, 'cpuUs')} | ${fmt(xs, 'gcUs')} | ${fmt(xs, 'promotedPct')} | ${each} |`);
}
