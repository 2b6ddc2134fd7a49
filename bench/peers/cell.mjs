// One cell of the peers benchmark in a process of its own: node cell.mjs <contender> <workload> <concurrency>.
// Settings come from the environment (run.mjs sets them): PEERS_URL, PEERS_POOL, PEERS_SECONDS, PEERS_WARMUP,
// PEERS_SEED. Prints one JSON line: operations per second and Node CPU µs (user + system) per operation.
import { performance } from 'node:perf_hooks';

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
const cpu0 = process.cpuUsage();
const t0 = performance.now();
const { ops, errors, firstError } = await drive(seconds * 1000);
const elapsed = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
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
    errors,
  }),
);
