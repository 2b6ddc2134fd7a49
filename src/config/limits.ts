import { MAX_MILLISECONDS, is, type Rule } from './options.js';

/** The range of an integer setting, shared by the options validator and the environment resolver. @internal */
export interface Limit {
  readonly min: number;
  readonly max: number;
  /** Shown in the message: `milliseconds`, `seconds`… */
  readonly unit?: string;
}

/** Seconds values are turned into milliseconds somewhere: keep them within {@link MAX_MILLISECONDS} then. */
const MAX_SECONDS = MAX_MILLISECONDS / 1000;

/**
 * Every integer setting of §1 and its accepted range. Timeouts and delays stop at {@link MAX_MILLISECONDS}
 * (2000000000 ms, about 23 days): beyond 2^31−1 a Node timer fires at once and PostgreSQL refuses the value.
 * @internal
 */
export const LIMITS = {
  'pool.max': { min: 1, max: 10_000 },
  'pool.idleTimeout': { min: 0, max: MAX_SECONDS, unit: 'seconds' },
  'pool.acquireTimeout': { min: 1, max: MAX_MILLISECONDS, unit: 'milliseconds' },
  'pool.connectTimeout': { min: 1, max: MAX_SECONDS, unit: 'seconds' },
  'pool.maxLifetime': { min: 0, max: MAX_SECONDS, unit: 'seconds' },
  'healthCheck.interval': { min: 1, max: MAX_MILLISECONDS, unit: 'milliseconds' },
  'healthCheck.maxRetries': { min: 0, max: 1000 },
  'healthCheck.retryInterval': { min: 1, max: MAX_MILLISECONDS, unit: 'milliseconds' },
  connectRetries: { min: 0, max: 100 },
  connectRetryDelay: { min: 0, max: MAX_MILLISECONDS, unit: 'milliseconds' },
  'monitoring.slowThreshold': { min: 0, max: MAX_MILLISECONDS, unit: 'milliseconds' },
  'transaction.timeout': { min: 0, max: MAX_MILLISECONDS, unit: 'milliseconds, 0 disables' },
  stickyWindow: { min: 0, max: MAX_MILLISECONDS, unit: 'milliseconds' },
  'redis.connectTimeout': { min: 1, max: MAX_MILLISECONDS, unit: 'milliseconds' },
  closeTimeout: { min: 0, max: MAX_MILLISECONDS, unit: 'milliseconds' },
  port: { min: 0, max: 65_535 },
  shutdownTimeout: { min: 0, max: MAX_MILLISECONDS, unit: 'milliseconds' },
} as const satisfies Record<string, Limit>;

/** The validator rule of a {@link LIMITS} entry. @internal */
export function within(limit: Limit): Rule {
  return is.integer(limit.min, limit.max, limit.unit);
}
