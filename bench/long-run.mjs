// npm run bench:long: does throughput hold in a long-lived process? LONG_CALLS (1,000,000) findById calls at
// LONG_CONCURRENCY (32) concurrent callers over a pool of LONG_POOL (10), in ONE process per contender: this
// package's repository, then raw postgres.js as the reference (a second process, same settings). Each process
// prints, per slice of LONG_SLICE (100,000) calls, the ops/s and Node CPU µs per call (user + system) with the
// 1-minute load average, and the heap used after a forced GC before the first measured call and after the last.
// The pass lines of issue 14 item 2: the last slice's ops/s within 10% of the second slice's (not slower than
// 0.90×), and heap after GC grown by less than 1 MB. A benchmark, not a test: it prints, it asserts nothing.
// Settings: TEST_PG_URL (admin URL), LONG_CALLS, LONG_CONCURRENCY, LONG_POOL, LONG_SLICE, LONG_WARMUP (10,000
// calls before the start heap and the first slice, not counted), LONG_ONLY (contenders of bench/peers/contenders,
// default spfn-repository,postgresjs), PEERS_SPFN_DB (another build's dist/db/index.js for spfn-repository).
// Its own database on the shared server, created and dropped.
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import {
  SEED_ROWS,
  createDatabase,
  dropDatabase,
  list,
  load1,
  loadLine,
  runJsonChild,
  seedBenchItems,
  writeResults,
} from './lib.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const settings = {
  calls: Number(process.env.LONG_CALLS ?? 1_000_000),
  concurrency: Number(process.env.LONG_CONCURRENCY ?? 32),
  pool: Number(process.env.LONG_POOL ?? 10),
  slice: Number(process.env.LONG_SLICE ?? 100_000),
  warmup: Number(process.env.LONG_WARMUP ?? 10_000),
};
const MB = 1024 * 1024;

if (process.argv[2] === '--worker') await worker(process.argv[3]);
else await main();

/** One contender in this process (started by main() with --expose-gc): prints one JSON line on stdout. */
async function worker(contender) {
  const url = process.env.LONG_URL;
  const gc = globalThis.gc;
  if (typeof gc !== 'function') throw new Error('run the worker with node --expose-gc');
  const heapAfterGc = () => {
    gc();
    gc();
    return process.memoryUsage().heapUsed;
  };
  const { open } = await import(`./peers/contenders/${contender}.mjs`);
  const lib = await open({ url, pool: settings.pool });
  const randomId = () => 1 + Math.floor(Math.random() * SEED_ROWS);
  let errors = 0;
  let firstError;

  /** `total` calls from `concurrency` callers; `onDone(n)` after the n-th completed call. */
  async function drive(total, onDone) {
    let issued = 0;
    let done = 0;
    const caller = async () => {
      while (issued < total) {
        issued++;
        try {
          await lib.select(randomId());
        } catch (err) {
          errors++;
          firstError ??= err;
        }
        onDone?.(++done);
      }
    };
    await Promise.all(Array.from({ length: settings.concurrency }, caller));
  }

  await drive(settings.warmup);
  const heapStart = heapAfterGc();
  const slices = [];
  let mark = { t: performance.now(), cpu: process.cpuUsage(), done: 0 };
  const close = (done) => {
    const t = performance.now();
    const cpu = process.cpuUsage(mark.cpu);
    const calls = done - mark.done;
    const slice = {
      index: slices.length + 1,
      calls,
      opsPerSec: calls / ((t - mark.t) / 1000),
      cpuUsPerCall: (cpu.user + cpu.system) / calls,
      load: load1(),
    };
    slices.push(slice);
    console.error(
      `  ${contender} slice ${slice.index} (${done} calls): ${Math.round(slice.opsPerSec)} ops/s, ` +
        `${slice.cpuUsPerCall.toFixed(1)} µs CPU/call, load ${slice.load.toFixed(2)}`,
    );
    mark = { t, cpu: process.cpuUsage(), done };
  };
  await drive(settings.calls, (done) => {
    if (done % settings.slice === 0 || done === settings.calls) close(done);
  });
  const heapEnd = heapAfterGc();
  await lib.close();
  if (errors > 0) {
    console.error(`${contender}: ${errors} errors, first: ${firstError?.message}`);
    process.exitCode = 1;
  }
  console.log(JSON.stringify({ contender, slices, heapStart, heapEnd, errors }));
}

/**
 * @typedef {{ index: number, calls: number, opsPerSec: number, cpuUsPerCall: number, load: number }} Slice
 * @typedef {{ contender: string, slices?: Slice[], heapStart: number, heapEnd: number, errors: number, failed?: string }} WorkerResult
 */

/** Creates the database, runs each contender in a process of its own, prints the series and the pass lines. */
async function main() {
  const contenders = list(process.env.LONG_ONLY, ['spfn-repository', 'postgresjs']);
  const database = 'spfn_long_run';
  const started = new Date();
  const url = await createDatabase(database, { replace: true });
  const runs = [];
  const loads = [load1()];
  try {
    await seedBenchItems(url);
    for (const contender of contenders) {
      console.error(`long run: ${contender}…`);
      const r = /** @type {WorkerResult} */ (
        await runJsonChild(join(here, 'long-run.mjs'), ['--worker', contender], {
          cwd: here,
          nodeArgs: ['--expose-gc'],
          env: { ...process.env, LONG_URL: url, NODE_ENV: 'production', LOG_LEVEL: 'warn' },
          echo: true,
        })
      );
      runs.push({ ...r, contender });
      loads.push(...(r.slices ?? []).map((s) => s.load));
      if (r.failed) console.error(`  ${contender}: FAILED ${r.failed}`);
    }
  } finally {
    await dropDatabase(database);
  }

  const ok = runs.filter((r) => Array.isArray(r.slices) && r.slices.length > 0);
  const lines = [
    `Long run, ${started.toISOString()}: ${settings.calls} findById calls at c${settings.concurrency}, pool ` +
      `${settings.pool}, slices of ${settings.slice} (after ${settings.warmup} warm-up calls), one process per ` +
      `contender, Node ${process.version}.`,
    loadLine(loads),
    '',
    `| slice | ${ok.map((r) => `${r.contender} ops/s | CPU µs/call | load`).join(' | ')} |`,
    `|---:|${ok.map(() => '---:|---:|---:').join('|')}|`,
  ];
  const slices = Math.max(0, ...ok.map((r) => r.slices.length));
  for (let i = 0; i < slices; i++) {
    const cells = ok.map((r) => {
      const s = r.slices[i];
      return s ? `${Math.round(s.opsPerSec)} | ${s.cpuUsPerCall.toFixed(1)} | ${s.load.toFixed(2)}` : '— | — | —';
    });
    lines.push(`| ${i + 1} | ${cells.join(' | ')} |`);
  }
  lines.push('');
  for (const r of ok) {
    const second = r.slices[1];
    const last = r.slices[r.slices.length - 1];
    const growth = r.heapEnd - r.heapStart;
    const calls = r.slices.reduce((n, s) => n + s.calls, 0);
    lines.push(
      `${r.contender}: heap used after GC ${(r.heapStart / MB).toFixed(2)} MB at the start, ` +
        `${(r.heapEnd / MB).toFixed(2)} MB at the end (${growth >= 0 ? '+' : ''}${(growth / MB).toFixed(3)} MB, ` +
        `${(growth / calls).toFixed(2)} bytes per call)${r.errors ? `; ${r.errors} failed calls` : ''}.`,
    );
    if (second && r.slices.length > 2) {
      const ratio = last.opsPerSec / second.opsPerSec;
      lines.push(
        `${r.contender}: last ${last.calls} within 10% of the second ${second.calls} (≥ 0.90×): ` +
          `${ratio >= 0.9 ? 'PASS' : 'FAIL'} ` +
          `(${Math.round(last.opsPerSec)} vs ${Math.round(second.opsPerSec)} ops/s, ${ratio.toFixed(2)}×).`,
      );
    } else {
      lines.push(`${r.contender}: last slice vs second slice: not enough slices (need 3 or more).`);
    }
    lines.push(
      `${r.contender}: heap after GC growth < 1 MB: ${growth < MB ? 'PASS' : 'FAIL'} (${(growth / MB).toFixed(3)} MB).`,
    );
  }
  for (const r of runs.filter((x) => x.failed)) lines.push(`${r.contender}: FAILED ${r.failed}`);
  if (runs.some((r) => r.failed)) process.exitCode = 1;
  const text = lines.join('\n');
  console.log(text);
  const file = writeResults('long-run', started, { started, settings, runs, table: text });
  console.error(`written ${file}`);
}
