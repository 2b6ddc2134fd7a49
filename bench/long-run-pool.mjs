// node --expose-gc bench/long-run-pool.mjs (after npm run build): LONG_CALLS (default 1,000,000) repository
// findById calls at LONG_CONCURRENCY (default 32) on a pool of LONG_POOL (default 10), in one process, against
// TEST_PG_URL (default the local server). Every LONG_STEP calls (default 100,000) it prints ops/s, Node CPU µs per
// call, and the heap after a full GC, so a slowdown over time (porsager/postgres#747, docs/adr/0006) shows as a
// trend. LONG_DIST points at another build (e.g. a copy of main's dist/) to compare. Prints the load average.
import { loadavg } from 'node:os';
import { URL } from 'node:url';
import postgres from 'postgres';
import { bigint, integer, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

const url = process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const calls = Number(process.env.LONG_CALLS ?? 1_000_000);
const step = Number(process.env.LONG_STEP ?? 100_000);
const concurrency = Number(process.env.LONG_CONCURRENCY ?? 32);
const pool = Number(process.env.LONG_POOL ?? 10);
const dist = process.env.LONG_DIST ?? new URL('../dist', import.meta.url).href;
const { closeDatabase, getRepository, initDatabase } = await import(`${dist}/db/index.js`);

const items = pgTable('bench_long_items', {
  id: bigint('id', { mode: 'number' }).primaryKey(),
  name: text('name').notNull(),
  qty: integer('qty').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

const admin = postgres(url, { max: 1, onnotice: () => undefined });
await admin`create table if not exists bench_long_items (id bigint primary key, name text not null,
  qty int not null, created_at timestamptz not null default now(), updated_at timestamptz not null default now())`;
await admin`insert into bench_long_items (id, name, qty) select g, 'item ' || g, 1 from generate_series(1, 1000) g
  on conflict do nothing`;
await admin.end();

await initDatabase({
  url,
  pool: { max: pool },
  healthCheck: { enabled: false },
  applicationName: 'spfn-bench-long',
});
const repo = getRepository(items);

function heapAfterGc() {
  globalThis.gc?.();
  return process.memoryUsage().heapUsed / 1e6;
}

const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
console.log(`long run: ${calls} findById, c${concurrency}, pool ${pool}, dist ${dist}; load ${load()}`);
if (!globalThis.gc) console.log('(run with --expose-gc for heap-after-GC figures)');
const heapStart = heapAfterGc();
const rows = [];
let done = 0;
let next = 0;
let mark = { t: performance.now(), cpu: process.cpuUsage(), done: 0 };
async function worker() {
  while (next < calls) {
    next++;
    const row = await repo.findById(1 + (next % 1000));
    if (row === null) throw new Error('missing row');
    done++;
    if (done % step === 0) {
      const now = performance.now();
      const cpu = process.cpuUsage(mark.cpu);
      const n = done - mark.done;
      const heap = heapAfterGc();
      const r = {
        upTo: done,
        opsPerSec: Math.round((n * 1000) / (now - mark.t)),
        cpuUsPerCall: +((cpu.user + cpu.system) / n).toFixed(1),
        heapMb: +heap.toFixed(2),
        load: load(),
      };
      rows.push(r);
      console.log(JSON.stringify(r));
      mark = { t: performance.now(), cpu: process.cpuUsage(), done };
    }
  }
}
await Promise.all(Array.from({ length: concurrency }, worker));
const heapEnd = heapAfterGc();
await closeDatabase();
const second = rows[1] ?? rows[0];
const last = rows.at(-1);
console.log(
  `summary: ops/s ${rows.map((r) => r.opsPerSec).join(' ')}; last/second ${(last.opsPerSec / second.opsPerSec).toFixed(2)}; ` +
    `CPU µs/call ${rows[0].cpuUsPerCall} → ${last.cpuUsPerCall}; heap after GC ${heapStart.toFixed(2)} → ${heapEnd.toFixed(2)} MB ` +
    `(${(heapEnd - heapStart >= 0 ? '+' : '') + (heapEnd - heapStart).toFixed(2)} MB); load ${load()}`,
);
