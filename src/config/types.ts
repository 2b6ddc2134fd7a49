/** Read-your-writes strategy for reads after a write (see docs/01-connection.md). */
export type ReadConsistency = 'lsn' | 'sticky' | 'none';

/** Logger levels accepted by LOG_LEVEL. */
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/** Pool settings. Every field is optional; unset fields come from the environment, then the defaults. */
export interface PoolOptions {
  /** Connections per pool. DB_POOL_MAX; default 20 in production, else 10. */
  max?: number;
  /** Seconds an idle connection stays open. DB_POOL_IDLE_TIMEOUT; default 30 in production, else 20. */
  idleTimeout?: number;
  /** Milliseconds a caller waits for a connection before PoolTimeoutError. DB_POOL_ACQUIRE_TIMEOUT; default 10000. */
  acquireTimeout?: number;
  /** Seconds to open a connection. DB_CONNECT_TIMEOUT; default 10. */
  connectTimeout?: number;
  /** Seconds before a connection is replaced. DB_POOL_MAX_LIFETIME; default 1800. */
  maxLifetime?: number;
}

/** Health check settings. */
export interface HealthCheckOptions {
  /** DB_HEALTH_CHECK_ENABLED; default true. */
  enabled?: boolean;
  /** Milliseconds between probes. DB_HEALTH_CHECK_INTERVAL; default 60000. */
  interval?: number;
  /** Reconnect a pool whose probe failed. DB_HEALTH_CHECK_RECONNECT; default true. */
  reconnect?: boolean;
  /** Reconnection attempts per failure. DB_HEALTH_CHECK_MAX_RETRIES; default 3. */
  maxRetries?: number;
  /** Milliseconds between reconnection attempts (doubling). DB_HEALTH_CHECK_RETRY_INTERVAL; default 5000. */
  retryInterval?: number;
}

/** Database options accepted by `initDatabase()`, `ServerConfig.database` and the resolver. */
export interface DatabaseOptions {
  /**
   * The primary. DATABASE_WRITE_URL, then DATABASE_URL. `pglite://<dir>` (or `pglite://memory`) asks for the
   * embedded database in that directory. Unset: the embedded database, outside production only.
   */
  url?: string;
  /**
   * Use the embedded database (PGlite) on purpose, also in production. Same as `url: 'pglite://<dir>'` with
   * `pgliteDataDir` (PGLITE_DATA_DIR) as the directory. Default false.
   */
  embedded?: boolean;
  /** Replica URLs. DATABASE_READ_URL (comma-separated), alias DATABASE_REPLICA_URL. */
  readUrls?: string | readonly string[];
  pool?: PoolOptions;
  healthCheck?: HealthCheckOptions;
  /** Attempts after the first failed connect at init. DB_CONNECT_RETRIES; default 2. */
  connectRetries?: number;
  /** Milliseconds before the first connect retry, doubling each time. DB_CONNECT_RETRY_DELAY; default 250. */
  connectRetryDelay?: number;
  monitoring?: {
    /** DB_MONITORING_ENABLED; default on outside production. */
    enabled?: boolean;
    /** Milliseconds over which a query is slow. DB_SLOW_QUERY_THRESHOLD; default 1000. */
    slowThreshold?: number;
  };
  transaction?: {
    /** Default transaction timeout in ms; 0 disables. TRANSACTION_TIMEOUT; default 30000. */
    timeout?: number;
  };
  /** DB_READ_CONSISTENCY; default `lsn`. */
  readConsistency?: ReadConsistency;
  /** Milliseconds reads stay on the primary after a write in sticky mode. DB_READ_STICKY_WINDOW; default 2000. */
  stickyWindow?: number;
  /** Use named prepared statements. DB_PREPARE; default true. Turn off behind PgBouncer < 1.21. */
  prepare?: boolean;
  migrations?: {
    /** AUTO_MIGRATE; default false. */
    auto?: boolean;
    /** DB_MIGRATIONS_FOLDER; default ./server/db/migrations. */
    folder?: string;
  };
  /**
   * Embedded PostgreSQL data directory, or `memory://`. PGLITE_DATA_DIR; default ./.data/pglite. A `pglite://<dir>`
   * URL wins over it.
   */
  pgliteDataDir?: string;
  /** application_name of every connection. DB_APPLICATION_NAME; default `spfn`. */
  applicationName?: string;
}

/** The resolved, validated and frozen database configuration. */
export interface ResolvedDatabaseConfig {
  readonly nodeEnv: string;
  readonly production: boolean;
  /** Primary URL, or undefined for embedded PGlite. Contains the password: never log it. */
  readonly url: string | undefined;
  /** Where the primary URL came from. */
  readonly urlSource: 'options.url' | 'DATABASE_WRITE_URL' | 'DATABASE_URL' | undefined;
  /** True when the embedded database was asked for (`embedded: true` or a `pglite://` URL), not a fallback. */
  readonly embeddedExplicit: boolean;
  readonly readUrls: readonly string[];
  readonly pool: Readonly<Required<PoolOptions>>;
  readonly healthCheck: Readonly<Required<HealthCheckOptions>>;
  readonly connectRetries: number;
  readonly connectRetryDelay: number;
  readonly monitoring: { readonly enabled: boolean; readonly slowThreshold: number };
  readonly transaction: { readonly timeout: number };
  readonly readConsistency: ReadConsistency;
  readonly stickyWindow: number;
  readonly prepare: boolean;
  readonly migrations: { readonly auto: boolean; readonly folder: string };
  readonly pgliteDataDir: string;
  readonly applicationName: string;
}

/** Server options (`@spfn/core/server`). */
export interface ServerOptions {
  /** PORT; default 8790. */
  port?: number;
  /** HOST; default 0.0.0.0. */
  host?: string;
  /** Milliseconds in-flight requests get on SIGTERM. SHUTDOWN_TIMEOUT; default 10000. */
  shutdownTimeout?: number;
}

export interface ResolvedServerConfig {
  readonly port: number;
  readonly host: string;
  readonly shutdownTimeout: number;
}

export interface RedisOptions {
  /** REDIS_URL. */
  url?: string;
  /** REDIS_WRITE_URL; wins over url. */
  writeUrl?: string;
  /** REDIS_READ_URL. */
  readUrl?: string;
}

export interface ResolvedRedisConfig {
  readonly writeUrl: string | undefined;
  readonly readUrl: string | undefined;
}
