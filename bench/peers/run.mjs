// npm run bench:peers: @spfn/core against raw postgres.js, raw node-postgres, Drizzle (default and prepared),
// Kysely, Prisma, TypeORM and MikroORM. Point select / insert / update / a 3-statement transaction at each
// concurrency, pool PEERS_POOL; every cell is a fresh process; rounds are interleaved (every cell once per round)
// and the order is rotated each round. Each ratio is taken against raw postgres.js in the same round; the tables
// show the median ratio and the median Node CPU µs per operation. Each contender gets its own database on the
// server (dropped at the end), with synchronous_commit off so that writes measure the libraries, not the disk.
// Settings: TEST_PG_URL (admin URL, default postgres://postgres@127.0.0.1:5432/postgres), PEERS_ROUNDS (3),
// PEERS_SECONDS (2), PEERS_WARMUP (1), PEERS_POOL (10), PEERS_CONCURRENCY (1,32), PEERS_ONLY (contenders),
// PEERS_WORKLOADS (select,insert,update,tx3; also tx3in: the transaction with every statement inside it, ADR 0009),
// PEERS_BASELINE_DB (below), PEERS_DB_PREFIX (below).
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  SEED_ROWS,
  adminUrl,
  createDatabase,
  dropDatabase,
  list,
  load1,
  loadLine,
  loadSummary,
  median,
  quietClient,
  rotate,
  runJsonChild,
  seedBenchItems,
  writeResults,
} from '../lib.mjs';
import { setup } from './setup.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const ALL = [
  'postgresjs',
  'pg',
  'drizzle',
  'drizzle-prepared',
  'kysely',
  'prisma',
  'typeorm',
  'mikroorm',
  'spfn-repository',
  'spfn-prepared',
];
// PEERS_BASELINE_DB: the db entry point of another build of this package (e.g. a copy of main's dist/db/index.js
// inside this repository); it runs as one more contender, `spfn-repository@baseline` (or any `spfn-…@baseline` named in
// PEERS_ONLY), for before/after tables.
const baseline = process.env.PEERS_BASELINE_DB;
const contenders = list(process.env.PEERS_ONLY, baseline ? [...ALL, 'spfn-repository@baseline'] : ALL);
const workloads = list(process.env.PEERS_WORKLOADS, ['select', 'insert', 'update', 'tx3']);
const concurrencies = list(process.env.PEERS_CONCURRENCY, ['1', '32']).map(Number);
const ROUNDS = Number(process.env.PEERS_ROUNDS ?? 3);
const SEED = SEED_ROWS;
const settings = {
  PEERS_POOL: process.env.PEERS_POOL ?? '10',
  PEERS_SECONDS: process.env.PEERS_SECONDS ?? '2',
  PEERS_WARMUP: process.env.PEERS_WARMUP ?? '1',
  PEERS_SEED: String(SEED),
};

setup();

// PEERS_DB_PREFIX: the prefix of the scratch databases (default spfn_peers), so that two runs on one server (two
// checkouts) do not drop each other's databases.
const prefix = process.env.PEERS_DB_PREFIX ?? 'spfn_peers';
const dbName = (contender) => `${prefix}_${contender.replace(/[^a-z0-9]/g, '_')}`;
const urls = {};

async function createDatabases() {
  const a = quietClient(adminUrl);
  try {
    for (const c of contenders) {
      urls[c] = await createDatabase(dbName(c), { replace: true });
      await seedBenchItems(urls[c], SEED);
      // Writes measure the libraries, not the fsync of a disk shared with other work.
      await a.unsafe(`alter database "${dbName(c)}" set synchronous_commit = off`);
    }
  } finally {
    await a.end();
  }
}

async function dropDatabases() {
  for (const c of contenders) await dropDatabase(dbName(c));
}

async function runCell(contender, workload, concurrency) {
  const r = await runJsonChild(join(here, 'cell.mjs'), [contender.split('@')[0], workload, String(concurrency)], {
    cwd: here,
    env: {
      ...process.env,
      ...settings,
      ...(contender.endsWith('@baseline') ? { PEERS_SPFN_DB: baseline } : {}),
      PEERS_URL: urls[contender],
      NODE_ENV: 'production',
      LOG_LEVEL: 'warn',
    },
    timeout: 120_000,
  });
  return { workload, concurrency, ...r, contender };
}

const groups = [];
for (const w of workloads) for (const c of concurrencies) groups.push([w, c]);

await createDatabases();
const results = [];
const loads = [];
const started = new Date();
try {
  // Each round runs every group (workload × concurrency) and, inside it, every contender back to back, so a
  // contender's ratio is taken against the raw postgres.js cell of the same group and round, under the same load.
  // Both orders rotate from round to round.
  for (let round = 0; round < ROUNDS; round++) {
    for (const [w, c] of rotate(groups, round)) {
      for (const k of rotate(contenders, round)) {
        loads.push(load1());
        const r = await runCell(k, w, c);
        results.push({ ...r, round });
        if (r.failed) console.error(`  ${k} ${w} c${c}: FAILED ${r.failed}`);
        else if (!r.skipped) {
          console.error(
            `  round ${round + 1}/${ROUNDS} ${k} ${w} c${c}: ${Math.round(r.opsPerSec)} ops/s, ${r.cpuUsPerOp.toFixed(0)} µs CPU/op`,
          );
        }
      }
    }
  }
} finally {
  await dropDatabases();
}

const columns = groups;
const ok = (r) => !r.failed && !r.skipped;
const summary = {};
for (const k of contenders) {
  summary[k] = {};
  for (const [w, c] of columns) {
    const rs = results.filter((r) => r.contender === k && r.workload === w && r.concurrency === c && ok(r));
    const ratios = rs.map((r) => {
      const b = results.find(
        (x) => x.contender === 'postgresjs' && x.workload === w && x.concurrency === c && x.round === r.round && ok(x),
      );
      return b ? r.opsPerSec / b.opsPerSec : undefined;
    });
    summary[k][`${w}@c${c}`] = {
      opsPerSec: median(rs.map((r) => r.opsPerSec)),
      ratio: median(ratios),
      cpuUsPerOp: median(rs.map((r) => r.cpuUsPerOp)),
      serverCpuUsPerOp: median(rs.map((r) => r.serverCpuUsPerOp)),
      rounds: rs.map((r) => Math.round(r.opsPerSec)),
    };
  }
}
const load = loadSummary(loads);

const header = `| contender | ${columns.map(([w, c]) => `${w} c${c}`).join(' | ')} |`;
const rule = `|---|${columns.map(() => '---:').join('|')}|`;
const fmt = (x, digits) => (x === undefined ? '—' : x.toFixed(digits));
const base = summary.postgresjs;
const lines = [];
lines.push(
  `Peers, ${started.toISOString()}: ${ROUNDS} rounds × ${settings.PEERS_SECONDS} s per cell (warm-up ${settings.PEERS_WARMUP} s), pool ${settings.PEERS_POOL}, Node ${process.version}.`,
);
lines.push(loadLine(loads));
lines.push(
  '',
  'Throughput relative to raw postgres.js in the same round, median of the rounds (higher is better):',
  '',
  header,
  rule,
);
for (const k of contenders) {
  lines.push(`| ${k} | ${columns.map(([w, c]) => fmt(summary[k][`${w}@c${c}`].ratio, 2)).join(' | ')} |`);
}
if (base)
  lines.push(
    `| *raw postgres.js ops/s* | ${columns.map(([w, c]) => fmt(base[`${w}@c${c}`].opsPerSec, 0)).join(' | ')} |`,
  );
lines.push('', 'Node CPU µs per operation (user + system), median (lower is better):', '', header, rule);
for (const k of contenders)
  lines.push(`| ${k} | ${columns.map(([w, c]) => fmt(summary[k][`${w}@c${c}`].cpuUsPerOp, 0)).join(' | ')} |`);
if (contenders.some((k) => columns.some(([w, c]) => summary[k][`${w}@c${c}`].serverCpuUsPerOp !== undefined))) {
  lines.push(
    '',
    "Server CPU µs per operation (the backends of the contender's database, from /proc), median:",
    '',
    header,
    rule,
  );
  for (const k of contenders)
    lines.push(`| ${k} | ${columns.map(([w, c]) => fmt(summary[k][`${w}@c${c}`].serverCpuUsPerOp, 0)).join(' | ')} |`);
}
const text = lines.join('\n');
console.log(text);

const file = writeResults('peers', started, { started, settings, rounds: ROUNDS, load, summary, results, table: text });
console.error(`written ${file}`);
