// One cell of the peers benchmark in a process of its own: node cell.mjs <contender> <workload> <concurrency>.
// Settings come from the environment (run.mjs sets them): PEERS_URL, PEERS_POOL, PEERS_SECONDS, PEERS_WARMUP,
// PEERS_SEED. Prints one JSON line: operations per second, Node CPU µs (user + system) per operation and, when the
// server runs on this machine, the CPU µs per operation of the backends serving the cell's database.
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import postgres from 'postgres';

const [contender, workload, concurrencyText] = process.argv.slice(2);
const concurrency = Number(concurrencyText);
const url = process.env.PEERS_URL;
const pool = Number(process.env.PEERS_POOL ?? 10);
const seconds = Number(process.env.PEERS_SECONDS ?? 2);
const warmup = Number(process.env.PEERS_WARMUP ?? 1);
const seed = Number(process.env.PEERS_SEED ?? 10_000);

const { open } = await import(`./contenders/${contender}.mjs`);
const lib = await open({ url, pool });
const op = lib[workload];
if (!op) {
  await lib.close();
  console.log(JSON.stringify({ contender, workload, concurrency, skipped: true }));
  process.exit(0);
}

const randomId = () => 1 + Math.floor(Math.random() * seed);
let counter = 0;
const name = () => `n${process.pid}.${++counter}`;
const call =
  workload === 'select' || workload === 'update'
    ? () => op(randomId())
    : workload === 'insert'
      ? () => op(name())
      : () => op(randomId(), name());

// One connection of its own for reading which backends serve the database, before and after the measured part.
const probe = postgres(url, { max: 1, onnotice: () => undefined });

/**
 * CPU time (µs) of the server processes serving this cell's database, read from /proc when the server runs on this
 * machine: the backends connected to the database now (pg_stat_activity), by pid. Null when /proc cannot be read.
 */
async function serverCpu() {
  try {
    const rows =
      await probe`select pid from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()`;
    const ticks = 1e6 / 100;
    const out = new Map();
    for (const { pid } of rows) {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      out.set(pid, (Number(fields[11]) + Number(fields[12])) * ticks);
    }
    return out;
  } catch {
    return null;
  }
}

function cpuDelta(before, after) {
  let sum = 0;
  for (const [pid, us] of after) sum += us - (before.get(pid) ?? 0);
  return sum;
}

async function drive(ms) {
  const end = performance.now() + ms;
  let ops = 0;
  let errors = 0;
  let firstError;
  const worker = async () => {
    while (performance.now() < end) {
      try {
        await call();
        ops++;
      } catch (err) {
        errors++;
        firstError ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { ops, errors, firstError };
}

await drive(warmup * 1000);
const server0 = await serverCpu();
const cpu0 = process.cpuUsage();
const t0 = performance.now();
const { ops, errors, firstError } = await drive(seconds * 1000);
const elapsed = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
const server1 = await serverCpu();
await probe.end();
await lib.close();
if (errors > 0) {
  console.error(`${contender} ${workload} c${concurrency}: ${errors} errors, first: ${firstError?.message}`);
  process.exitCode = 1;
}
console.log(
  JSON.stringify({
    contender,
    workload,
    concurrency,
    opsPerSec: ops / elapsed,
    cpuUsPerOp: ops > 0 ? (cpu.user + cpu.system) / ops : null,
    serverCpuUsPerOp: ops > 0 && server0 && server1 ? cpuDelta(server0, server1) / ops : null,
    errors,
  }),
);
