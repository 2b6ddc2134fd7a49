import { ConfigError } from '../errors/index.js';
import { currentEnv, type Env } from './env.js';
import { LIMITS } from './limits.js';
import { checkOptions } from './options.js';
import { boolean, databaseUrl, embeddedUrl, integer, oneOf, pick, redisUrl, string } from './parse.js';
import { DATABASE_OPTIONS, HEALTH_CHECK_OPTIONS, POOL_OPTIONS, REDIS_OPTIONS, SERVER_OPTIONS } from './shapes.js';
import type {
  DatabaseOptions,
  HealthCheckOptions,
  LogLevel,
  PoolOptions,
  ReadConsistency,
  RedisOptions,
  ResolvedDatabaseConfig,
  ResolvedRedisConfig,
  ResolvedServerConfig,
  ServerOptions,
} from './types.js';

const READ_CONSISTENCY: readonly ReadConsistency[] = ['lsn', 'sticky', 'none'];
const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function isProduction(env: Env): boolean {
  return env.NODE_ENV === 'production';
}

function splitUrls(name: string, value: string | readonly string[]): string[] {
  const list = typeof value === 'string' ? value.split(',') : [...value];
  const urls = list.map((u) => u.trim()).filter((u) => u.length > 0);
  return urls.map((u) => databaseUrl(name, u));
}

/**
 * Pool settings, resolved from options > environment > defaults.
 *
 * @example
 * ```ts
 * getPoolConfig() // { max: 10, idleTimeout: 20, acquireTimeout: 10000, connectTimeout: 10, maxLifetime: 1800 }
 * ```
 */
export function getPoolConfig(options: PoolOptions = {}, env: Env = currentEnv()): Readonly<Required<PoolOptions>> {
  checkOptions(options, POOL_OPTIONS, 'getPoolConfig()', 'config', 'pool');
  const prod = isProduction(env);
  return Object.freeze({
    max: integer(pick(options.max, 'pool.max', env.DB_POOL_MAX, 'DB_POOL_MAX'), prod ? 20 : 10, LIMITS['pool.max']),
    idleTimeout: integer(
      pick(options.idleTimeout, 'pool.idleTimeout', env.DB_POOL_IDLE_TIMEOUT, 'DB_POOL_IDLE_TIMEOUT'),
      prod ? 30 : 20,
      LIMITS['pool.idleTimeout'],
    ),
    acquireTimeout: integer(
      pick(options.acquireTimeout, 'pool.acquireTimeout', env.DB_POOL_ACQUIRE_TIMEOUT, 'DB_POOL_ACQUIRE_TIMEOUT'),
      10_000,
      LIMITS['pool.acquireTimeout'],
    ),
    connectTimeout: integer(
      pick(options.connectTimeout, 'pool.connectTimeout', env.DB_CONNECT_TIMEOUT, 'DB_CONNECT_TIMEOUT'),
      10,
      LIMITS['pool.connectTimeout'],
    ),
    maxLifetime: integer(
      pick(options.maxLifetime, 'pool.maxLifetime', env.DB_POOL_MAX_LIFETIME, 'DB_POOL_MAX_LIFETIME'),
      1800,
      LIMITS['pool.maxLifetime'],
    ),
  });
}

/**
 * Health check settings, resolved from options > environment > defaults (true, 60000, true, 3, 5000).
 */
export function getHealthCheckConfig(
  options: HealthCheckOptions = {},
  env: Env = currentEnv(),
): Readonly<Required<HealthCheckOptions>> {
  checkOptions(options, HEALTH_CHECK_OPTIONS, 'getHealthCheckConfig()', 'config', 'healthCheck');
  return Object.freeze({
    enabled: boolean(
      pick(options.enabled, 'healthCheck.enabled', env.DB_HEALTH_CHECK_ENABLED, 'DB_HEALTH_CHECK_ENABLED'),
      true,
    ),
    interval: integer(
      pick(options.interval, 'healthCheck.interval', env.DB_HEALTH_CHECK_INTERVAL, 'DB_HEALTH_CHECK_INTERVAL'),
      60_000,
      LIMITS['healthCheck.interval'],
    ),
    reconnect: boolean(
      pick(options.reconnect, 'healthCheck.reconnect', env.DB_HEALTH_CHECK_RECONNECT, 'DB_HEALTH_CHECK_RECONNECT'),
      true,
    ),
    maxRetries: integer(
      pick(
        options.maxRetries,
        'healthCheck.maxRetries',
        env.DB_HEALTH_CHECK_MAX_RETRIES,
        'DB_HEALTH_CHECK_MAX_RETRIES',
      ),
      3,
      LIMITS['healthCheck.maxRetries'],
    ),
    retryInterval: integer(
      pick(
        options.retryInterval,
        'healthCheck.retryInterval',
        env.DB_HEALTH_CHECK_RETRY_INTERVAL,
        'DB_HEALTH_CHECK_RETRY_INTERVAL',
      ),
      5_000,
      LIMITS['healthCheck.retryInterval'],
    ),
  });
}

/**
 * Resolves the whole database configuration: explicit options > environment > defaults. A value that does not
 * parse is a {@link ConfigError} naming the variable; nothing silently falls back to a default.
 *
 * The primary is `options.url`, else DATABASE_WRITE_URL, else DATABASE_URL. A `pglite://<dir>` URL (or
 * `pglite://memory`), or `embedded: true`, asks for the embedded database on purpose. With no URL at all the
 * embedded database is used too, outside production only: with NODE_ENV=production a missing DATABASE_URL is a
 * ConfigError, because a production service that silently writes into a local file loses its data.
 */
export function resolveDatabaseConfig(options: DatabaseOptions = {}, env: Env = currentEnv()): ResolvedDatabaseConfig {
  checkOptions(options, DATABASE_OPTIONS, 'resolveDatabaseConfig()');
  const production = isProduction(env);
  let rawUrl: string | undefined;
  let urlSource: ResolvedDatabaseConfig['urlSource'];
  if (options.url !== undefined) {
    rawUrl = options.url;
    urlSource = 'options.url';
  } else if (env.DATABASE_WRITE_URL?.trim()) {
    rawUrl = env.DATABASE_WRITE_URL;
    urlSource = 'DATABASE_WRITE_URL';
  } else if (env.DATABASE_URL?.trim()) {
    rawUrl = env.DATABASE_URL;
    urlSource = 'DATABASE_URL';
  }
  const embeddedDir = rawUrl === undefined ? undefined : embeddedUrl(urlSource!, rawUrl);
  const url = rawUrl === undefined || embeddedDir !== undefined ? undefined : databaseUrl(urlSource!, rawUrl);
  const embedded = boolean(pick(options.embedded, 'embedded', undefined, ''), false) || embeddedDir !== undefined;
  if (embedded && url !== undefined) {
    throw new ConfigError('embedded', `embedded: true and a postgres:// URL (${urlSource}) contradict each other`);
  }
  if (url === undefined && !embedded && production) {
    throw new ConfigError(
      'DATABASE_URL',
      'is required when NODE_ENV=production: set it to postgres://user:password@host:port/database, ' +
        'or to pglite://<directory> to run the embedded database on purpose',
    );
  }
  let readUrls: string[] = [];
  if (options.readUrls !== undefined) readUrls = splitUrls('options.readUrls', options.readUrls);
  else if (env.DATABASE_READ_URL?.trim()) readUrls = splitUrls('DATABASE_READ_URL', env.DATABASE_READ_URL);
  else if (env.DATABASE_REPLICA_URL?.trim()) readUrls = splitUrls('DATABASE_REPLICA_URL', env.DATABASE_REPLICA_URL);
  if (readUrls.length > 0 && url === undefined) {
    throw new ConfigError(
      'DATABASE_READ_URL',
      'replicas need a PostgreSQL primary: set DATABASE_URL or DATABASE_WRITE_URL to a postgres:// URL too',
    );
  }

  const m = options.monitoring ?? {};
  const t = options.transaction ?? {};
  const mig = options.migrations ?? {};
  const config: ResolvedDatabaseConfig = {
    nodeEnv: env.NODE_ENV ?? 'development',
    production,
    url,
    urlSource,
    embeddedExplicit: embedded,
    readUrls: Object.freeze(readUrls),
    pool: getPoolConfig(options.pool ?? {}, env),
    healthCheck: getHealthCheckConfig(options.healthCheck ?? {}, env),
    connectRetries: integer(
      pick(options.connectRetries, 'connectRetries', env.DB_CONNECT_RETRIES, 'DB_CONNECT_RETRIES'),
      2,
      LIMITS.connectRetries,
    ),
    connectRetryDelay: integer(
      pick(options.connectRetryDelay, 'connectRetryDelay', env.DB_CONNECT_RETRY_DELAY, 'DB_CONNECT_RETRY_DELAY'),
      250,
      LIMITS.connectRetryDelay,
    ),
    monitoring: Object.freeze({
      enabled: boolean(
        pick(m.enabled, 'monitoring.enabled', env.DB_MONITORING_ENABLED, 'DB_MONITORING_ENABLED'),
        !production,
      ),
      slowThreshold: integer(
        pick(m.slowThreshold, 'monitoring.slowThreshold', env.DB_SLOW_QUERY_THRESHOLD, 'DB_SLOW_QUERY_THRESHOLD'),
        1000,
        LIMITS['monitoring.slowThreshold'],
      ),
    }),
    transaction: Object.freeze({
      timeout: integer(
        pick(t.timeout, 'transaction.timeout', env.TRANSACTION_TIMEOUT, 'TRANSACTION_TIMEOUT'),
        30_000,
        LIMITS['transaction.timeout'],
      ),
    }),
    readConsistency: oneOf(
      pick(options.readConsistency, 'readConsistency', env.DB_READ_CONSISTENCY, 'DB_READ_CONSISTENCY'),
      'lsn',
      READ_CONSISTENCY,
    ),
    stickyWindow: integer(
      pick(options.stickyWindow, 'stickyWindow', env.DB_READ_STICKY_WINDOW, 'DB_READ_STICKY_WINDOW'),
      2000,
      LIMITS.stickyWindow,
    ),
    prepare: boolean(pick(options.prepare, 'prepare', env.DB_PREPARE, 'DB_PREPARE'), true),
    migrations: Object.freeze({
      auto: boolean(pick(mig.auto, 'migrations.auto', env.AUTO_MIGRATE, 'AUTO_MIGRATE'), false),
      folder: string(
        pick(mig.folder, 'migrations.folder', env.DB_MIGRATIONS_FOLDER, 'DB_MIGRATIONS_FOLDER'),
        './server/db/migrations',
      ),
    }),
    pgliteDataDir:
      embeddedDir ??
      string(pick(options.pgliteDataDir, 'pgliteDataDir', env.PGLITE_DATA_DIR, 'PGLITE_DATA_DIR'), './.data/pglite'),
    applicationName: string(
      pick(options.applicationName, 'applicationName', env.DB_APPLICATION_NAME, 'DB_APPLICATION_NAME'),
      'spfn',
    ),
  };
  return Object.freeze(config);
}

/** LOG_LEVEL (default `info`). */
export function resolveLogLevel(level?: LogLevel, env: Env = currentEnv()): LogLevel {
  return oneOf(pick(level, 'level', env.LOG_LEVEL, 'LOG_LEVEL'), 'info', LOG_LEVELS);
}

/** True when NODE_ENV is `production`. */
export function isProductionEnv(env: Env = currentEnv()): boolean {
  return isProduction(env);
}

/** PORT, HOST and SHUTDOWN_TIMEOUT, resolved from options > environment > defaults (8790, 0.0.0.0, 10000). */
export function resolveServerConfig(options: ServerOptions = {}, env: Env = currentEnv()): ResolvedServerConfig {
  checkOptions(options, SERVER_OPTIONS, 'resolveServerConfig()');
  const port = integer(pick(options.port, 'port', env.PORT, 'PORT'), 8790, LIMITS.port);
  return Object.freeze({
    port,
    host: string(pick(options.host, 'host', env.HOST, 'HOST'), '0.0.0.0'),
    shutdownTimeout: integer(
      pick(options.shutdownTimeout, 'shutdownTimeout', env.SHUTDOWN_TIMEOUT, 'SHUTDOWN_TIMEOUT'),
      10_000,
      LIMITS.shutdownTimeout,
    ),
  });
}

/** REDIS_WRITE_URL / REDIS_URL and REDIS_READ_URL; both undefined means no Redis. */
export function resolveRedisConfig(options: RedisOptions = {}, env: Env = currentEnv()): ResolvedRedisConfig {
  checkOptions(options, REDIS_OPTIONS, 'resolveRedisConfig()');
  // Options first (writeUrl, then url), then the environment (REDIS_WRITE_URL, then REDIS_URL).
  const w =
    pick(options.writeUrl, 'redis.writeUrl', undefined, 'REDIS_WRITE_URL') ??
    pick(options.url, 'redis.url', undefined, 'REDIS_URL') ??
    pick(undefined, 'redis.writeUrl', env.REDIS_WRITE_URL, 'REDIS_WRITE_URL') ??
    pick(undefined, 'redis.url', env.REDIS_URL, 'REDIS_URL');
  const r = pick(options.readUrl, 'redis.readUrl', env.REDIS_READ_URL, 'REDIS_READ_URL');
  const writeUrl = w ? redisUrl(w.name, string(w, '')) : undefined;
  const readUrl = r ? redisUrl(r.name, string(r, '')) : undefined;
  if (readUrl !== undefined && writeUrl === undefined) {
    throw new ConfigError('REDIS_READ_URL', 'needs REDIS_URL or REDIS_WRITE_URL too');
  }
  return Object.freeze({ writeUrl, readUrl });
}
