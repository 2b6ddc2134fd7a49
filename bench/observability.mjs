// The cost of observability, in `npm run bench`: the repository's findById and the 3-statement transaction with
// no OpenTelemetry SDK registered (the default: metrics only), then with an SDK whose spans go to an in-memory
// exporter behind the batch span processor (every statement, repository call and transaction a recorded span). Modes alternate round by round,
// each on a freshly initialised database (tracing is decided at init).
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, BatchSpanProcessor, InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { closeDatabase, initDatabase } from '../dist/db/index.js';
import { logger } from '../dist/logger/index.js';
import { medianRun, pad } from './lib.mjs';

/**
 * @param {object} bench
 * @param {Record<string, () => Promise<unknown>>} bench.workloads name → one repository operation
 * @param {object} bench.dbOptions initDatabase options of the main run
 * @param {(fn: () => Promise<unknown>, concurrency: number, seconds: number) => Promise<{opsPerSec: number, cpuUsPerOp: number, p50: number, p99: number}>} bench.measure
 * @param {number[]} bench.concurrency
 * @param {number} bench.rounds
 * @param {number} bench.seconds
 */
export async function benchObservability({ workloads, dbOptions, measure, concurrency, rounds, seconds }) {
  const exporter = new InMemorySpanExporter();
  // The batch processor, as an SDK runs in production (NodeSDK's default), sized so that no span is dropped.
  const processor = new BatchSpanProcessor(exporter, {
    maxQueueSize: 200_000,
    maxExportBatchSize: 10_000,
    scheduledDelayMillis: 200,
  });
  const provider = new BasicTracerProvider({ spanProcessors: [processor] });
  const contextManager = new AsyncLocalStorageContextManager();
  const modes = {
    'no SDK': async () => {
      trace.disable();
      context.disable();
    },
    'SDK + in-memory exporter': async () => {
      context.setGlobalContextManager(contextManager.enable());
      trace.setGlobalTracerProvider(provider);
    },
  };
  const level = logger.level;
  logger.level = 'warn'; // one "database connected" line per re-init otherwise
  const rows = [];
  for (const [workload, fn] of Object.entries(workloads)) {
    for (const c of concurrency) {
      const runs = Object.fromEntries(Object.keys(modes).map((m) => [m, []]));
      let spansPerOp = 0;
      for (let round = 0; round < rounds; round++) {
        for (const [mode, enter] of Object.entries(modes)) {
          await enter();
          await closeDatabase();
          await initDatabase(dbOptions);
          await measure(fn, c, 0.2);
          await provider.forceFlush();
          exporter.reset();
          const result = await measure(fn, c, seconds);
          await provider.forceFlush();
          const spans = exporter.getFinishedSpans().length;
          if (spans > 0) spansPerOp = spans / (result.opsPerSec * seconds);
          exporter.reset();
          runs[mode].push(result);
        }
      }
      const [off, on] = Object.values(runs).map(medianRun);
      rows.push({
        workload,
        concurrency: c,
        noSdk: {
          opsPerSec: Math.round(off.opsPerSec),
          cpuUsPerOp: Math.round(off.cpuUsPerOp),
          p50: +off.p50.toFixed(3),
        },
        sdk: { opsPerSec: Math.round(on.opsPerSec), cpuUsPerOp: Math.round(on.cpuUsPerOp), p50: +on.p50.toFixed(3) },
        spansPerOp: +spansPerOp.toFixed(1),
        opsRatio: +(on.opsPerSec / off.opsPerSec).toFixed(2),
        cpuRatio: +(on.cpuUsPerOp / off.cpuUsPerOp).toFixed(2),
      });
      process.stderr.write(`observability ${workload} c${c} done\n`);
    }
  }
  trace.disable();
  context.disable();
  await provider.shutdown();
  await closeDatabase();
  await initDatabase(dbOptions);
  logger.level = level;

  console.log('\nObservability cost (repository; metrics always on; spans only with an SDK):');
  const header = `${'workload'.padEnd(10)} ${pad('c', 3)} | ${pad('no SDK ops/s', 12)} ${pad('SDK ops/s', 10)} ${pad('÷', 5)} | ${pad('CPU µs/op no SDK', 16)} ${pad('SDK', 5)} ${pad('×', 5)} | spans/op`;
  console.log(header);
  console.log('-'.repeat(header.length));
  for (const r of rows) {
    console.log(
      `${r.workload.padEnd(10)} ${pad(r.concurrency, 3)} | ${pad(r.noSdk.opsPerSec, 12)} ${pad(r.sdk.opsPerSec, 10)} ${pad(r.opsRatio.toFixed(2), 5)} | ${pad(r.noSdk.cpuUsPerOp, 16)} ${pad(r.sdk.cpuUsPerOp, 5)} ${pad(r.cpuRatio.toFixed(2), 5)} | ${r.spansPerOp}`,
    );
  }
  return rows;
}
