import { LIMITS, within } from './limits.js';
import { is, type Shape } from './options.js';

/** `PoolOptions`. @internal */
export const POOL_OPTIONS: Shape = {
  max: within(LIMITS['pool.max']),
  idleTimeout: within(LIMITS['pool.idleTimeout']),
  acquireTimeout: within(LIMITS['pool.acquireTimeout']),
  connectTimeout: within(LIMITS['pool.connectTimeout']),
  maxLifetime: within(LIMITS['pool.maxLifetime']),
};

/** `HealthCheckOptions`. @internal */
export const HEALTH_CHECK_OPTIONS: Shape = {
  enabled: is.boolean,
  interval: within(LIMITS['healthCheck.interval']),
  reconnect: is.boolean,
  maxRetries: within(LIMITS['healthCheck.maxRetries']),
  retryInterval: within(LIMITS['healthCheck.retryInterval']),
};

/** `DatabaseOptions`: the settings of §1 as `initDatabase()` and `ServerConfig.database` take them. @internal */
export const DATABASE_OPTIONS: Shape = {
  url: is.string,
  readUrls: is.anyOf('a string or an array of strings', is.string, is.arrayOf(is.string)),
  embedded: is.boolean,
  pool: is.object(POOL_OPTIONS),
  healthCheck: is.object(HEALTH_CHECK_OPTIONS),
  connectRetries: within(LIMITS.connectRetries),
  connectRetryDelay: within(LIMITS.connectRetryDelay),
  monitoring: is.object({ enabled: is.boolean, slowThreshold: within(LIMITS['monitoring.slowThreshold']) }),
  transaction: is.object({ timeout: within(LIMITS['transaction.timeout']) }),
  readConsistency: is.oneOf(['lsn', 'sticky', 'none']),
  stickyWindow: within(LIMITS.stickyWindow),
  prepare: is.boolean,
  migrations: is.object({ auto: is.boolean, folder: is.string }),
  pgliteDataDir: is.string,
  applicationName: is.string,
};

/** `ServerOptions`. @internal */
export const SERVER_OPTIONS: Shape = {
  port: within(LIMITS.port),
  host: is.string,
  shutdownTimeout: within(LIMITS.shutdownTimeout),
};

/** `RedisOptions`. @internal */
export const REDIS_OPTIONS: Shape = {
  url: is.string,
  writeUrl: is.string,
  readUrl: is.string,
};

/** `RedisManagerOptions` (`initRedis()`, `ServerConfig.redis`): the URLs plus the connection limits. @internal */
export const REDIS_MANAGER_OPTIONS: Shape = {
  ...REDIS_OPTIONS,
  connectTimeout: within(LIMITS['redis.connectTimeout']),
  connectRetries: within(LIMITS.connectRetries),
  connectionName: is.string,
  closeTimeout: within(LIMITS.closeTimeout),
};
