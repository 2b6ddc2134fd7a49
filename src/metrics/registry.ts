import { collectDefaultMetrics, register, type Registry } from 'prom-client';
import { describeValue, is, type Rule } from '../config/index.js';
import { ConfigError } from '../errors/index.js';
import { DatabaseMetrics } from './database.js';

/**
 * Where the package's metrics go: `initDatabase({ metrics })`, `new DatabaseManager({ metrics })` and
 * `ServerConfig.metrics`.
 *
 * @example
 * ```ts
 * import { Registry } from 'prom-client';
 * const registry = new Registry();
 * await initDatabase({ metrics: { registry } });
 * app.get('/metrics', async (c) => c.body(await registry.metrics(), 200, { 'Content-Type': registry.contentType }));
 * ```
 */
export interface MetricsOptions {
  /** The prom-client registry the metrics are registered in. Default: prom-client's default `register`. */
  registry?: Registry;
  /**
   * Also collect prom-client's default Node.js metrics (CPU, memory, event loop lag, GC) in that registry, once.
   * Default false.
   */
  defaultMetrics?: boolean;
}

/** The run-time shape of {@link MetricsOptions}, for the options validator. @internal */
export const METRICS_OPTIONS_RULE: Rule = is.object({
  registry: (value, key, fail) => {
    const r = value as Partial<Registry> | null;
    if (
      typeof r !== 'object' ||
      r === null ||
      typeof r.metrics !== 'function' ||
      typeof r.registerMetric !== 'function'
    ) {
      fail(key, `expected a prom-client Registry, got ${describeValue(value)}`);
    }
  },
  defaultMetrics: is.boolean,
});

const byRegistry = new WeakMap<Registry, DatabaseMetrics>();
const withDefaults = new WeakSet<Registry>();

/** The registry of `options` (prom-client's default one when absent). @internal */
export function metricsRegistry(options: MetricsOptions | undefined): Registry {
  return options?.registry ?? register;
}

/**
 * The database metrics registered in `registry`, created on first use; Node's default metrics too when asked.
 * @internal
 */
export function databaseMetrics(options?: MetricsOptions): DatabaseMetrics {
  const registry = metricsRegistry(options);
  let metrics = byRegistry.get(registry);
  if (!metrics) {
    try {
      metrics = new DatabaseMetrics(registry);
    } catch (err) {
      // prom-client refuses a second metric of the same name: another copy of this package (or the application)
      // registered ours in this registry already.
      throw new ConfigError(
        'metrics.registry',
        `already holds a metric named like ours (${err instanceof Error ? err.message : String(err)}); ` +
          'pass a registry of its own to each copy of @spfn/core',
      );
    }
    byRegistry.set(registry, metrics);
  } else {
    metrics.ensureRegistered();
  }
  if (options?.defaultMetrics) enableDefaultMetrics(registry);
  return metrics;
}

/** Registers prom-client's default Node.js metrics in `registry` unless they already are there. @internal */
export function enableDefaultMetrics(registry: Registry): void {
  if (withDefaults.has(registry) || registry.getSingleMetric('process_cpu_user_seconds_total')) return;
  withDefaults.add(registry);
  collectDefaultMetrics({ register: registry });
}
