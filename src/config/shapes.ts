import { LIMITS, within } from './limits.js';
import { is, type Shape, type ShapeOf } from './options.js';
import type { DatabaseOptions, HealthCheckOptions, PoolOptions, RedisOptions, ServerOptions } from './types.js';

/** `PoolOptions`. @internal */
export const POOL_OPTIONS = {
  max: within(LIMITS['pool.max']),
  idleTimeout: within(LIMITS['pool.idleTimeout']),
  acquireTimeout: within(LIMITS['pool.acquireTimeout']),
  connectTimeout: within(LIMITS['pool.connectTimeout']),
  maxLifetime: within(LIMITS['pool.maxLifetime']),
} satisfies ShapeOf<PoolOptions>;

/** `HealthCheckOptions`. @internal */
export const HEALTH_CHECK_OPTIONS = {
  enabled: is.boolean,
  interval: within(LIMITS['healthCheck.interval']),
  reconnect: is.boolean,
  maxRetries: within(LIMITS['healthCheck.maxRetries']),
  retryInterval: within(LIMITS['healthCheck.retryInterval']),
} satisfies ShapeOf<HealthCheckOptions>;

/** `DatabaseOptions`: the settings of §1 as `initDatabase()` and `ServerConfig.database` take them. @internal */
export const DATABASE_OPTIONS = {
  url: is.string,
  readUrls: is.anyOf('a string or an array of strings', is.string, is.arrayOf(is.string)),
  embedded: is.boolean,
  pool: is.object(POOL_OPTIONS),
  healthCheck: is.object(HEALTH_CHECK_OPTIONS),
  connectRetries: within(LIMITS.connectRetries),
  connectRetryDelay: within(LIMITS.connectRetryDelay),
  monitoring: is.object({
    enabled: is.boolean,
    slowThreshold: within(LIMITS['monitoring.slowThreshold']),
  } satisfies ShapeOf<NonNullable<DatabaseOptions['monitoring']>>),
  transaction: is.object({
    timeout: within(LIMITS['transaction.timeout']),
  } satisfies ShapeOf<NonNullable<DatabaseOptions['transaction']>>),
  readConsistency: is.oneOf(['lsn', 'sticky', 'none']),
  stickyWindow: within(LIMITS.stickyWindow),
  prepare: is.boolean,
  migrations: is.object({
    auto: is.boolean,
    folder: is.string,
  } satisfies ShapeOf<NonNullable<DatabaseOptions['migrations']>>),
  pgliteDataDir: is.string,
  applicationName: is.string,
} satisfies ShapeOf<DatabaseOptions>;

/** `ServerOptions`. @internal */
export const SERVER_OPTIONS = {
  port: within(LIMITS.port),
  host: is.string,
  shutdownTimeout: within(LIMITS.shutdownTimeout),
} satisfies ShapeOf<ServerOptions>;

/** `RedisOptions`. @internal */
export const REDIS_OPTIONS = {
  url: is.string,
  writeUrl: is.string,
  readUrl: is.string,
} satisfies ShapeOf<RedisOptions>;

/** `RedisManagerOptions` (`initRedis()`, `ServerConfig.redis`): the URLs plus the connection limits. @internal */
export const REDIS_MANAGER_OPTIONS = {
  ...REDIS_OPTIONS,
  connectTimeout: within(LIMITS['redis.connectTimeout']),
  connectRetries: within(LIMITS.connectRetries),
  connectionName: is.string,
  closeTimeout: within(LIMITS.closeTimeout),
} satisfies Shape;
