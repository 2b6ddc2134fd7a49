// node bench/path-cost.mjs (after npm run build and `cd bench/peers && npm ci`): Node CPU per call of the whole
// client path — this package, Drizzle and postgres.js down to the socket write — against raw postgres.js, over the
// in-process server of bench/in-process-server.mjs, so that neither the kernel nor a server is in the figure and
// the load of the machine moves it far less than the peers benchmark's CPU column. Uses the peers contenders
// (bench/peers/contenders). Each cell is a fresh process; rounds are interleaved; the table shows the median CPU
// µs per call and its ratio to raw postgres.js (lower is better).
// Settings: PATH_ONLY (postgresjs,drizzle-prepared,spfn-repository,spfn-prepared; a name with `@baseline` runs the
// build at PEERS_BASELINE_DB), PATH_WORKLOADS (select,insert,update), PATH_CONCURRENCY (1,32), PATH_ROUNDS (3),
// PATH_CALLS (calls per sample, 20000).
import { fileURLToPath } from 'node:url';
import { list, load1, loadLine, median, runJsonChild } from './lib.mjs';

const self = fileURLToPath(import.meta.url);
const contendersDir = new URL('./peers/contenders/', import.meta.url);

if (process.argv[2] === '--cell') {
  const [, , , contender, workload, concurrencyText] = process.argv;
  const { installInProcessServer } = await import('./in-process-server.mjs');
  installInProcessServer();
  const { open } = await import(new URL(`${contender}.mjs`, contendersDir).href);
  const lib = await open({ url: 'postgres://bench@in-process:5432/bench', pool: 10 });
  const op = lib[workload];
  const concurrency = Number(concurrencyText);
  const calls = Number(process.env.PATH_CALLS ?? 20_000);
  let id = 0;
  const call =
    workload === 'insert'
      ? () => op(`n${++id}`)
      : workload === 'tx3'
        ? () => op(1 + (++id % 1000), `n${id}`)
        : () => op(1 + (++id % 1000));
  const drive = async (n) => {
    let left = n;
    const worker = async () => {
      while (left-- > 0) await call();
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
  };
  await drive(calls);
  const result =
    process.env.PATH_ALLOC === '1'
      ? { bytesPerOp: await bytesPerCall(drive) }
      : { cpuUsPerOp: await cpuPerCall(drive, calls) };
  await lib.close();
  // Exit once the line is written: stdout is a pipe, and a pipe write may still be pending at process.exit().
  process.stdout.write(`${JSON.stringify({ contender, workload, concurrency, ...result })}\n`, () => process.exit(0));
} else {
  await main();
}

async function main() {
  const contenders = list(process.env.PATH_ONLY, [
    'postgresjs',
    'drizzle-prepared',
    'spfn-repository',
    'spfn-prepared',
  ]);
  const workloads = list(process.env.PATH_WORKLOADS, ['select', 'insert', 'update']);
  const concurrencies = list(process.env.PATH_CONCURRENCY, ['1', '32']).map(Number);
  const rounds = Number(process.env.PATH_ROUNDS ?? 3);
  const baseline = process.env.PEERS_BASELINE_DB;

  const results = [];
  const loads = [load1()];
  for (let round = 0; round < rounds; round++) {
    for (const workload of workloads) {
      for (const concurrency of concurrencies) {
        const order = [
          ...contenders.slice(round % contenders.length),
          ...contenders.slice(0, round % contenders.length),
        ];
        for (const contender of order) {
          const [name, build] = contender.split('@');
          const r = await runJsonChild(self, ['--cell', name, workload, String(concurrency)], {
            env: {
              ...process.env,
              NODE_ENV: 'production',
              LOG_LEVEL: 'warn',
              ...(build === 'baseline' && baseline ? { PEERS_SPFN_DB: baseline } : {}),
            },
            timeout: 120_000,
          });
          if (r.failed) console.error(`  ${contender} ${workload} c${concurrency}: FAILED ${r.failed}`);
          results.push({ ...r, contender, workload, concurrency, round });
          loads.push(load1());
        }
      }
    }
  }

  // Allocation does not move with the load: one cell per contender and column is enough.
  const allocations = [];
  for (const workload of workloads) {
    for (const concurrency of concurrencies) {
      for (const contender of contenders) {
        const [name, build] = contender.split('@');
        const r = await runJsonChild(self, ['--cell', name, workload, String(concurrency)], {
          nodeArgs: ['--expose-gc', '--min-semi-space-size=128', '--max-semi-space-size=128'],
          env: {
            ...process.env,
            NODE_ENV: 'production',
            LOG_LEVEL: 'warn',
            PATH_ALLOC: '1',
            ...(build === 'baseline' && baseline ? { PEERS_SPFN_DB: baseline } : {}),
          },
          timeout: 120_000,
        });
        if (r.failed) console.error(`  ${contender} ${workload} c${concurrency} (allocation): FAILED ${r.failed}`);
        allocations.push({ ...r, contender, workload, concurrency });
      }
    }
  }

  const columns = [];
  for (const w of workloads) for (const c of concurrencies) columns.push([w, c]);
  const of = (rs, key) => (k, w, c) =>
    median(rs.filter((r) => r.contender === k && r.workload === w && r.concurrency === c).map((r) => r[key]));
  const cell = of(results, 'cpuUsPerOp');
  const allocated = of(allocations, 'bytesPerOp');
  const header = `| contender | ${columns.map(([w, c]) => `${w} c${c}`).join(' | ')} |`;
  const rule = `|---|${columns.map(() => '---:').join('|')}|`;
  const lines = [
    `Client path over the in-process server: ${rounds} rounds, 5 × ${process.env.PATH_CALLS ?? 20_000} calls per cell, pool 10, Node ${process.version}.`,
    loadLine(loads),
    '',
    'Node CPU µs per call, median of the rounds (ratio to raw postgres.js):',
    '',
    header,
    rule,
  ];
  const table = (figure, digits) => {
    for (const k of contenders) {
      const cells = columns.map(([w, c]) => {
        const v = figure(k, w, c);
        const base = figure('postgresjs', w, c);
        return v === undefined ? '—' : `${v.toFixed(digits)}${base ? ` (${(v / base).toFixed(2)})` : ''}`;
      });
      lines.push(`| ${k} | ${cells.join(' | ')} |`);
    }
  };
  table(cell, 1);
  lines.push('', 'Bytes allocated per call (ratio to raw postgres.js):', '', header, rule);
  table(allocated, 0);
  console.log(lines.join('\n'));
}

/** Node CPU µs per call: median of 5 samples of `calls` calls. */
async function cpuPerCall(drive, calls) {
  const samples = [];
  for (let s = 0; s < 5; s++) {
    const before = process.cpuUsage();
    await drive(calls);
    const used = process.cpuUsage(before);
    samples.push((used.user + used.system) / calls);
  }
  return median(samples);
}

/**
 * Bytes allocated per call: heap growth over 2,000 calls with a young generation large enough that no collection
 * runs in between (the cell runs with --expose-gc and a fixed 128 MB semi-space); samples with a collection are left
 * out. Unlike CPU time, the figure does not move with the load of the machine.
 */
async function bytesPerCall(drive) {
  const { PerformanceObserver } = await import('node:perf_hooks');
  let collections = 0;
  new PerformanceObserver((list) => (collections += list.getEntries().length)).observe({ entryTypes: ['gc'] });
  const n = 2000;
  const bytes = [];
  for (let s = 0; s < 5; s++) {
    globalThis.gc();
    await new Promise((resolve) => setTimeout(resolve, 20));
    collections = 0;
    const before = process.memoryUsage().heapUsed;
    await drive(n);
    const grown = process.memoryUsage().heapUsed - before;
    await new Promise((resolve) => setTimeout(resolve, 20));
    if (collections === 0) bytes.push(grown / n);
  }
  return median(bytes);
}
