// node bench/gc-mode.mjs (after npm run build): the share of young objects each code path's process promotes. Each
// case runs in GC_PROCESSES (4) fresh processes, GC_CALLERS (2) callers making point selects for 4 s, under
// --trace-gc-nvp; the table lists, per process, the share of the bytes allocated that scavenges moved to the old
// generation. A process promotes either almost nothing or a steady 6–18 % for its whole life (the young objects of
// later calls stay reachable until the next full collection). Raw postgres.js stays near 0; the same calls each run
// in an AsyncLocalStorage context of their own (what any per-request context is) promote about 17 %, and this
// package's paths sit in between; the same script has also shown either mode in different processes. Figures that
// compare separate processes (bench/peers, the HTTP benches) carry this difference. Why: docs/adr/0013 (a closure
// assigned straight to a property, made in the old generation by code that is not optimised — postgres.js's Query).
// Cases: postgres.js, postgres.js-als (each call in AsyncLocalStorage.run), repository (findById), repository-tx
// (findById in transaction()). Settings: GC_CASES, GC_PROCESSES, GC_CALLERS, LAYER_DIST.
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
  runJsonChild,
  seedBenchItems,
  youngGeneration,
} from './lib.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const { url: dist, label: build } = layerDist();
const cases = list(process.env.GC_CASES, ['postgres.js', 'postgres.js-als', 'repository', 'repository-tx']);
const processes = Number(process.env.GC_PROCESSES ?? 4);

const url = await createDatabase('spfn_gc_mode', { replace: true });
await seedBenchItems(url);
const results = Object.fromEntries(cases.map((c) => [c, []]));
const loads = [load1()];
try {
  for (let i = 0; i < processes; i++) {
    for (const name of cases) {
      const result = await runJsonChild(join(here, 'gc-mode-cell.mjs'), [dist, url, name], {
        env: { ...process.env, LOG_LEVEL: 'warn', NODE_ENV: 'production' },
        nodeArgs: ['--trace-gc-nvp'],
        keepStdout: true,
      });
      loads.push(load1());
      if (result.failed) {
        console.error(`  ${name}: failed: ${result.failed}`);
        continue;
      }
      const figures = { ...result, ...youngGeneration(result.stdout) };
      results[name].push(figures);
      console.error(
        `  ${name} #${i + 1}: ${figures.promotedPct.toFixed(1)} % promoted, ${figures.cpuUs.toFixed(1)} µs CPU`,
      );
    }
  }
} finally {
  await dropDatabase('spfn_gc_mode');
}

console.log(`Collector mode per process, ${build}, ${new Date().toISOString()}, Node ${process.version}.`);
console.log(loadLine(loads));
console.log('\n| case | promoted % of each process | CPU µs / call (median) |');
console.log('|---|---|---:|');
for (const name of cases) {
  const xs = results[name];
  const each = xs.map((x) => x.promotedPct.toFixed(1)).join(' / ');
  console.log(`| ${name} | ${each} | ${xs.length ? median(xs.map((x) => x.cpuUs)).toFixed(1) : '—'} |`);
}
