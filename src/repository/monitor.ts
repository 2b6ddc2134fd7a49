import { ambient, type ShapeCounts } from '../context/index.js';
import { toDatabaseError } from '../errors/index.js';
import { dbEvents } from '../events/index.js';
import { logger } from '../logger/index.js';
import { traceRepositoryCall } from '../tracing/index.js';
import { currentFrame } from '../transaction/runner.js';
import type { Tracer } from '@opentelemetry/api';
import { repositorySettings } from './settings.js';

const log = logger.child('repository');

/** Where a repository call ran. @internal */
export type Role = 'primary' | 'replica' | 'embedded';

/** Monitoring settings of one database, read once per Drizzle instance. @internal */
export interface MonitorConfig {
  enabled: boolean;
  slowThreshold: number;
  /** Set when spans are recorded: each call gets one, parent of its statements. */
  tracer?: Tracer | undefined;
}

/**
 * Runs one repository operation, timing it: over the slow threshold it logs and emits `query:slow`; on failure
 * it logs and emits `query:error` and rethrows the mapped error. Payloads carry the operation, table, duration,
 * role and txId, never parameter values. With a tracer, the call is a span. `pick` turns the statement's result
 * into the method's (the first row, say) in the same reaction as the timing: one promise fewer per call than a
 * `.then` of its own, and every promise costs the AsyncLocalStorage hooks too once a transaction ran.
 * @internal
 */
export function monitored<T>(
  config: MonitorConfig,
  operation: string,
  table: string,
  role: Role,
  run: () => Promise<unknown>,
  shape?: () => string,
  pick?: (result: unknown) => T,
): Promise<T> {
  const tracer = config.tracer;
  if (tracer === undefined) return observed(config, operation, table, role, run, shape, pick);
  return traceRepositoryCall(tracer, operation, table, role, () =>
    observed(config, operation, table, role, run, shape, pick),
  );
}

function observed<T>(
  config: MonitorConfig,
  operation: string,
  table: string,
  role: Role,
  run: () => Promise<unknown>,
  shape: (() => string) | undefined,
  pick: ((result: unknown) => T) | undefined,
): Promise<T> {
  if (!config.enabled) {
    // Statements run through this package's Drizzle session, which rejects with mapped errors already; only
    // something thrown before a statement ran (a bad value, a missing id column) still needs mapping.
    try {
      const running = run();
      return pick === undefined ? (running as Promise<T>) : running.then(pick);
    } catch (err) {
      return Promise.reject(toDatabaseError(err));
    }
  }
  countShape(operation, table, shape);
  const started = performance.now();
  return run().then(
    (result) => {
      const durationMs = performance.now() - started;
      if (durationMs >= config.slowThreshold) reportSlow(operation, table, role, durationMs);
      return pick === undefined ? (result as T) : pick(result);
    },
    (err: unknown) => {
      const durationMs = performance.now() - started;
      const mapped = toDatabaseError(err);
      const txId = currentFrame()?.txId;
      log.warn(
        { operation, table, role, durationMs: Math.round(durationMs), txId, code: mapped.code },
        'repository query failed',
      );
      dbEvents.emit('query:error', {
        operation,
        table,
        durationMs,
        role,
        txId,
        code: mapped.code,
        sqlState: mapped.sqlState,
      });
      throw mapped;
    },
  );
}

function reportSlow(operation: string, table: string, role: Role, durationMs: number): void {
  const txId = currentFrame()?.txId;
  log.warn({ operation, table, role, durationMs: Math.round(durationMs), txId }, 'slow repository query');
  dbEvents.emit('query:slow', { operation, table, durationMs, role, txId });
}

/** `table.operation`, made once per pair (a string built per call is hashed again by every Map lookup). */
const BASE_KEYS = new Map<string, Map<string, string>>();

function baseKey(table: string, operation: string): string {
  let byOperation = BASE_KEYS.get(table);
  if (byOperation === undefined) BASE_KEYS.set(table, (byOperation = new Map<string, string>()));
  let key = byOperation.get(operation);
  if (key === undefined) byOperation.set(operation, (key = `${table}.${operation}`));
  return key;
}

/**
 * Counts one more run of `key` for `owner`; returns the new count. The first shape is counted in two fields and a
 * Map is made only for a second one: most transactions and requests run one shape (a Map per transaction was a
 * third of what the N+1 watch allocated).
 */
function tally(owner: ShapeCounts, key: string): number {
  const counts = owner.shapeCounts;
  if (counts === undefined) {
    const first = owner.firstShape;
    if (first === undefined || first === key) {
      owner.firstShape = key;
      return (owner.firstShapeCount = (owner.firstShapeCount ?? 0) + 1);
    }
    owner.shapeCounts = new Map<string, number>([[first, owner.firstShapeCount ?? 0]]);
    owner.firstShape = owner.firstShapeCount = undefined;
    return tally(owner, key);
  }
  const count = (counts.get(key) ?? 0) + 1;
  counts.set(key, count);
  return count;
}

function countShape(operation: string, table: string, shape: (() => string) | undefined): void {
  const threshold = repositorySettings().nPlusOneThreshold;
  if (threshold === 0) return;
  const store = ambient.getStore();
  if (!store) return;
  const frame = currentFrame(store);
  const owner: ShapeCounts = frame ? frame.scope : (store.session ?? store);
  const key = shape ? baseKey(table, operation) + shape() : baseKey(table, operation);
  const count = tally(owner, key);
  if (count !== threshold + 1) return;
  const txId = frame?.txId;
  const route = store.route;
  log.warn({ shape: key, count, txId, route }, `possible N+1: ${key} ran more than ${threshold} times`);
  dbEvents.emit('query:n+1', { shape: key, count, txId, route });
}
