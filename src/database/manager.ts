import { createTableRelationsHelpers, extractTablesRelationalConfig, NoopLogger } from 'drizzle-orm';
import { NoopCache } from 'drizzle-orm/cache/core';
import { PgDialect } from 'drizzle-orm/pg-core';
import { PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import { TypedErrorSession, transactionHandles } from '../connection/drizzle-session.js';
import { ambient, type QueryResult, type ResultMode } from '../context/index.js';
import {
  checkOptions,
  DATABASE_OPTIONS,
  describeValue,
  LIMITS,
  MAX_MILLISECONDS,
  refusedOptions,
  resolveDatabaseConfig,
  resolveLogLevel,
  within,
  type DatabaseOptions,
  type ResolvedDatabaseConfig,
  type ShapeOf,
} from '../config/index.js';
import {
  ConnectionError,
  DatabaseNotInitializedError,
  findServerError,
  toDatabaseError,
  type PoolTimeoutError,
} from '../errors/index.js';
import { dbEvents } from '../events/index.js';
import { logger } from '../logger/index.js';
import {
  databaseMetrics,
  METRICS_OPTIONS_RULE,
  type DatabaseMetrics,
  type MetricsOptions,
  type PoolStats,
} from '../metrics/index.js';
import {
  endStatementSpan,
  resolveTracer,
  serverAttributes,
  startStatementSpan,
  TRACING_OPTIONS_RULE,
  type TracingOptions,
} from '../tracing/index.js';
import type { Attributes, Span, Tracer } from '@opentelemetry/api';
import { TRANSACTION_OPTIONS } from '../transaction/options.js';
import { registerClient } from '../transaction/handles.js';
import { currentFrame, runTransaction, transactionHooks, type RequestBinding } from '../transaction/runner.js';
import type { TransactionFrame } from '../transaction/scope.js';
import type { ServerDefaults, Transaction, TransactionHost, TransactionOptions } from '../transaction/types.js';
import { mayWrite, ReadConsistencyTracker } from '../connection/consistency.js';
import { DrizzleClient, type Executor, type RowsFinish } from '../connection/drizzle-client.js';
import { HealthMonitor, type DatabaseHealth } from '../connection/health.js';
import { PglitePool } from '../connection/pglite-pool.js';
import type { Pool } from '../connection/pool.js';
import { PostgresPool } from '../connection/postgres-pool.js';
import { ReadRouter } from '../connection/router.js';
import { delay } from '../connection/timeout.js';

const log = logger.child('db');
/**
 * Drizzle's session makes a no-op logger and cache of its own unless given them; every transaction handle shares
 * these two instead (the cache is never used by this package, see drizzle-session.ts).
 */
const HANDLE_SESSION_OPTIONS = Object.freeze({ logger: new NoopLogger(), cache: new NoopCache() });
/**
 * The `options` of every transaction handle's client: Drizzle writes its type overrides there only when it builds a
 * database (`drizzle()`), never for a handle, so the handles share one.
 */
const HANDLE_CLIENT_OPTIONS = Object.freeze({ parsers: Object.freeze({}), serializers: Object.freeze({}) });

/** A Drizzle database of this package (postgres-js flavour on every driver). */
export type Database<TSchema extends Record<string, unknown> = Record<string, unknown>> = PostgresJsDatabase<TSchema>;

/** The write and read instances returned by `initDatabase()`. */
export interface DatabaseInstances<TSchema extends Record<string, unknown> = Record<string, unknown>> {
  /** The primary (inside a transaction: the transaction). */
  write: Database<TSchema>;
  /** The replicas, or the primary when there are none (inside a transaction: the transaction). */
  read: Database<TSchema>;
}

/** Options of a DatabaseManager: the settings of §1 plus the Drizzle schema. */
export interface DatabaseManagerOptions<
  TSchema extends Record<string, unknown> = Record<string, unknown>,
> extends DatabaseOptions {
  /** Your Drizzle schema (tables and relations); enables `db.query.*` on every instance. */
  schema?: TSchema;
  /** Milliseconds `close()` waits for running queries before dropping connections. Default 5000. */
  closeTimeout?: number;
  /** The prom-client registry for the database metrics (default: prom-client's `register`). */
  metrics?: MetricsOptions;
  /**
   * OpenTelemetry spans per transaction, statement and repository call: the global tracer provider by default
   * (none registered: no spans, no cost), another provider, or `false` for none.
   */
  tracing?: TracingOptions | false;
}

/** `DatabaseManagerOptions`: the settings of §1, the schema and the close timeout. @internal */
export const DATABASE_MANAGER_OPTIONS = {
  ...DATABASE_OPTIONS,
  schema: (value, key, fail) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      fail(key, `expected your Drizzle schema module (an object of tables and relations), got ${describeValue(value)}`);
    }
  },
  closeTimeout: within(LIMITS.closeTimeout),
  metrics: METRICS_OPTIONS_RULE,
  tracing: TRACING_OPTIONS_RULE,
} satisfies ShapeOf<DatabaseManagerOptions>;

type State = 'idle' | 'initializing' | 'ready' | 'closing' | 'closed';
type RelationalSchema = ConstructorParameters<typeof PostgresJsDatabase>[2];

/**
 * Owns the connections of one database: the primary, its replicas, the health check, and the Drizzle instances
 * built on them. `initDatabase()` and friends are a default instance of this class; create more for several
 * databases or for tests.
 *
 * @example
 * ```ts
 * const manager = new DatabaseManager({ url: process.env.ANALYTICS_URL, schema });
 * const { write, read } = await manager.init();
 * await manager.close();
 * ```
 */
export class DatabaseManager<
  TSchema extends Record<string, unknown> = Record<string, unknown>,
> implements TransactionHost {
  readonly #options: DatabaseManagerOptions<TSchema>;
  #state: State = 'idle';
  #initializing: Promise<DatabaseInstances<TSchema>> | undefined;
  #closing: Promise<void> | undefined;
  #config: ResolvedDatabaseConfig | undefined;
  #router: ReadRouter | undefined;
  #consistency: ReadConsistencyTracker | undefined;
  #instances: DatabaseInstances<TSchema> | undefined;
  /** The read instance whose statements may run before a transaction's BEGIN (repository reads, ADR 0009). */
  #layerReads: Database<TSchema> | undefined;
  /** Each pool's defaults, read when it was first reached (a replica down at start-up has none: UNKNOWN_DEFAULTS). */
  readonly #serverDefaults = new WeakMap<Pool, ServerDefaults>();
  #health: HealthMonitor | undefined;
  #dialect = new PgDialect();
  #schema: RelationalSchema;
  /** Makes transaction handles for the schema above (made at the first transaction after init). */
  #handles: ReturnType<typeof transactionHandles> | undefined;
  #metrics: DatabaseMetrics | undefined;
  #detachMetrics: (() => void) | undefined;
  #tracer: Tracer | undefined;

  constructor(options: DatabaseManagerOptions<TSchema> = {}) {
    checkOptions(options, DATABASE_MANAGER_OPTIONS, 'new DatabaseManager()');
    this.#options = options;
  }

  /** True once init() succeeded and until close(). */
  get initialized(): boolean {
    return this.#state === 'ready';
  }

  /** The resolved configuration (after init). */
  get config(): ResolvedDatabaseConfig {
    if (!this.#config) throw new DatabaseNotInitializedError();
    return this.#config;
  }

  get defaultTimeout(): number {
    return this.config.transaction.timeout;
  }

  /**
   * @internal What `pool`'s server gives a transaction that names no level or mode, read when the pool was first
   * reached: a replica's server, or the role its URL names, may set other defaults than the primary's.
   */
  serverDefaults(pool: Pool): ServerDefaults {
    return this.#serverDefaults.get(pool) ?? UNKNOWN_DEFAULTS;
  }

  /**
   * Connects the primary and every replica, checks each with a round trip, starts the health check and returns
   * the instances. Calling it again (also while the first call runs) returns the same instances. When the primary
   * cannot be reached after the configured retries it throws ConnectionError and leaves nothing open.
   */
  init(options: DatabaseManagerOptions<TSchema> = {}): Promise<DatabaseInstances<TSchema>> {
    const refused = refusedOptions(options, DATABASE_MANAGER_OPTIONS, 'initDatabase()');
    if (refused) return Promise.reject(refused);
    if (this.#state === 'ready' && this.#instances) return Promise.resolve(this.#instances);
    if (this.#initializing) return this.#initializing;
    const start = async (): Promise<DatabaseInstances<TSchema>> => {
      if (this.#closing) await this.#closing;
      return this.#init(options);
    };
    this.#initializing = start().finally(() => {
      this.#initializing = undefined;
    });
    return this.#initializing;
  }

  async #init(options: DatabaseManagerOptions<TSchema>): Promise<DatabaseInstances<TSchema>> {
    this.#state = 'initializing';
    this.#closing = undefined;
    const merged = { ...this.#options, ...options };
    const pools: Pool[] = [];
    try {
      const {
        schema: _schema,
        closeTimeout: _closeTimeout,
        metrics: _metrics,
        tracing: _tracing,
        ...databaseOptions
      } = merged;
      const config = resolveDatabaseConfig(databaseOptions);
      resolveLogLevel();
      this.#config = config;
      const metrics = databaseMetrics(merged.metrics);
      this.#metrics = metrics;
      this.#tracer = resolveTracer(merged.tracing);
      const onPoolTimeout = (err: PoolTimeoutError): void => {
        log.warn({ pool: err.pool, active: err.active, idle: err.idle, waiting: err.waiting }, 'pool acquire timeout');
        metrics.poolTimeout();
        dbEvents.emit('pool:timeout', {
          pool: err.pool,
          timeoutMs: err.timeoutMs,
          active: err.active,
          idle: err.idle,
          waiting: err.waiting,
          max: err.max,
        });
      };
      const onPoolWait = (pool: string, waitedMs: number): void => metrics.poolWait(pool, waitedMs / 1000);
      let primary: Pool;
      if (config.url === undefined) {
        if (config.embeddedExplicit)
          log.info({ dataDir: config.pgliteDataDir }, 'using the embedded PostgreSQL (PGlite)');
        else {
          log.info(
            { dataDir: config.pgliteDataDir },
            'DATABASE_URL is not set: using the embedded PostgreSQL (PGlite); set DATABASE_URL for a real server',
          );
        }
        primary = await PglitePool.open({
          dataDir: config.pgliteDataDir,
          acquireTimeout: config.pool.acquireTimeout,
          onPoolTimeout,
          onPoolWait,
        });
      } else {
        primary = this.#postgresPool('primary', 'primary', config.url, config, onPoolTimeout, onPoolWait);
      }
      pools.push(primary);
      const replicas = config.readUrls.map((url, i) =>
        this.#postgresPool(`replica:${i}`, 'replica', url, config, onPoolTimeout, onPoolWait),
      );
      pools.push(...replicas);

      await this.#connect(primary, config);
      this.#serverDefaults.set(primary, await serverDefaults(primary));
      const router = new ReadRouter(primary, replicas);
      await Promise.all(
        replicas.map(async (replica, i) => {
          try {
            await this.#open(replica, config);
            this.#serverDefaults.set(replica, await serverDefaults(replica));
          } catch (err) {
            router.setHealthy(i, false);
            const reason = toDatabaseError(err).message;
            log.warn({ pool: replica.name, url: replica.displayUrl, reason }, 'replica unreachable at start-up');
            dbEvents.emit('replica:down', {
              pool: replica.name,
              url: replica.displayUrl,
              reason,
              healthyReplicas: router.healthyCount(),
            });
          }
        }),
      );
      this.#router = router;
      this.#consistency =
        replicas.length > 0 && config.readConsistency !== 'none'
          ? new ReadConsistencyTracker(config.readConsistency, config.stickyWindow, primary)
          : undefined;
      this.#schema = this.#relationalSchema(merged.schema);
      this.#handles = undefined;
      const writeExecutor = this.#writeExecutor(router.primary, config, this.#inTransaction(false));
      const write = this.#database(writeExecutor);
      const readExecutor =
        replicas.length === 0 ? writeExecutor : this.#readExecutor(router, config, this.#inTransaction(false));
      const read = readExecutor === writeExecutor ? write : this.#database(readExecutor);
      // The same routing, except that inside a transaction a statement may run before its BEGIN (ADR 0009).
      const layerIn = this.#inTransaction(true);
      this.#layerReads = this.#database(
        replicas.length === 0
          ? this.#writeExecutor(router.primary, config, layerIn)
          : this.#readExecutor(router, config, layerIn),
      );
      this.#instances = { write, read };
      this.#health = new HealthMonitor(router, config);
      this.#health.start();
      this.#detachMetrics = metrics.attach(this);
      this.#state = 'ready';
      return this.#instances;
    } catch (err) {
      this.#state = 'idle';
      this.#router = undefined;
      await Promise.all(pools.map((p) => p.close(1000).catch(() => undefined)));
      throw toDatabaseError(err);
    }
  }

  #postgresPool(
    name: string,
    role: 'primary' | 'replica',
    url: string,
    config: ResolvedDatabaseConfig,
    onPoolTimeout: (err: PoolTimeoutError) => void,
    onPoolWait: (pool: string, waitedMs: number) => void,
  ): PostgresPool {
    return new PostgresPool({
      name,
      role,
      url,
      ...config.pool,
      prepare: config.prepare,
      applicationName: config.applicationName,
      onPoolTimeout,
      onPoolWait,
      onConnectionDestroyed: (pool, confirmed) => this.#metrics?.connectionDestroyed(pool, confirmed),
    });
  }

  /** Checks `pool` with a round trip within the connect timeout and announces it open. */
  async #open(pool: Pool, config: ResolvedDatabaseConfig): Promise<void> {
    const started = performance.now();
    await pool.ping(config.pool.connectTimeout * 1000);
    dbEvents.emit('connection:open', {
      pool: pool.name,
      url: pool.displayUrl,
      durationMs: performance.now() - started,
    });
  }

  async #connect(primary: Pool, config: ResolvedDatabaseConfig): Promise<void> {
    const attempts = config.connectRetries + 1;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.#open(primary, config);
        log.info({ pool: primary.name, url: primary.displayUrl }, 'database connected');
        return;
      } catch (err) {
        const mapped = toDatabaseError(err);
        dbEvents.emit('connection:error', {
          pool: primary.name,
          url: primary.displayUrl,
          code: mapped.sqlState ?? mapped.code,
          message: mapped.message,
          attempt,
        });
        if (attempt >= attempts || !retryableConnectFailure(err)) {
          throw new ConnectionError(
            `Could not connect to ${primary.displayUrl} after ${attempt} attempt${attempt > 1 ? 's' : ''}: ${mapped.message}`,
            { cause: mapped, sqlState: mapped.sqlState },
          );
        }
        log.warn({ pool: primary.name, attempt, reason: mapped.message }, 'database connection failed; retrying');
        await delay(Math.min(MAX_MILLISECONDS, config.connectRetryDelay * 2 ** (attempt - 1)));
      }
    }
  }

  #relationalSchema(schema: Record<string, unknown> | undefined): RelationalSchema {
    if (!schema) return undefined;
    const tables = extractTablesRelationalConfig(schema, createTableRelationsHelpers);
    return { fullSchema: schema, schema: tables.tables, tableNamesMap: tables.tableNamesMap };
  }

  #database(execute: Executor): Database<TSchema> {
    const client = new DrizzleClient(execute, {
      begin: (callback) =>
        runTransaction(this, this.config.prepare, (tx) => callback(clientOf(tx)), {
          propagation: ambient.getStore()?.tx ? 'nested' : 'required',
        }),
    });
    const session = new TypedErrorSession(client as never, this.#dialect, this.#schema);
    const db = new PostgresJsDatabase(this.#dialect, session, this.#schema) as unknown as Database<TSchema>;
    (db as unknown as { $client: unknown }).$client = client;
    return db;
  }

  /**
   * The Drizzle handle of one transaction or savepoint level (built for each one: a handle kept past its
   * transaction must keep failing, so handles are never reused).
   * @internal
   */
  createHandle(frame: TransactionFrame, nestedIndex: number): Transaction {
    const handles = (this.#handles ??= transactionHandles(
      this.#dialect,
      this.#schema,
      HANDLE_SESSION_OPTIONS,
      (source) => this.#handleClient(source as TransactionFrame),
    ));
    return handles(nestedIndex, frame);
  }

  /** The client of a transaction handle, made when the handle is first used: its frame's statements, monitored. */
  #handleClient(frame: TransactionFrame): DrizzleClient {
    const execute = frame.scope.execute;
    let run = execute;
    if (this.#consistency) {
      run = (text, params, mode, named) => {
        this.#stampOnCommit(text);
        return execute(text, params, mode, named);
      };
    }
    const client = new DrizzleClient(this.#monitor(run, 'primary'), transactionHooks(this), HANDLE_CLIENT_OPTIONS);
    registerClient(client, frame);
    return client;
  }

  /** @internal */
  poolFor(readOnly: boolean): Pool {
    const router = this.#router;
    if (!router || this.#state !== 'ready') throw new DatabaseNotInitializedError();
    return readOnly ? router.pick() : router.primary;
  }

  #writeExecutor(primary: Pool, config: ResolvedDatabaseConfig, inTransaction: Executor): Executor {
    const run = this.#monitor(
      (text, params, mode, named) => send(primary, config, text, params, mode, named),
      primary.role,
    );
    const consistency = this.#consistency;
    if (!consistency) {
      return (text, params, mode, named = false, finish) => {
        if (ambient.getStore()?.tx) return inTransaction(text, params, mode, named, finish);
        if (this.#state !== 'ready') return Promise.reject(new DatabaseNotInitializedError());
        return run(text, params, mode, named, finish);
      };
    }
    // Read-your-writes: a write only stamps the session (on commit inside a transaction); the WAL position is
    // fetched by the first replica read that needs it.
    return (text, params, mode, named = false, finish) => {
      if (ambient.getStore()?.tx) {
        this.#stampOnCommit(text);
        return inTransaction(text, params, mode, named, finish);
      }
      if (this.#state !== 'ready') return Promise.reject(new DatabaseNotInitializedError());
      if (!mayWrite(text)) return run(text, params, mode, named, finish);
      const session = consistency.session();
      return run(text, params, mode, named, finish).then((rows) => {
        consistency.noteWrite(session);
        return rows;
      });
    };
  }

  readonly #stamped = new WeakSet<object>();

  /** A write in a transaction stamps the read session when the transaction commits. */
  #stampOnCommit(text: string): void {
    const consistency = this.#consistency;
    if (!consistency || !mayWrite(text)) return;
    const frame = currentFrame();
    if (!frame || this.#stamped.has(frame)) return;
    this.#stamped.add(frame);
    const session = consistency.session();
    frame.commitHooks.push(() => consistency.noteWrite(session));
  }

  #readExecutor(router: ReadRouter, config: ResolvedDatabaseConfig, inTransaction: Executor): Executor {
    const onPrimary = this.#monitor(
      (text, params, mode, named) => send(router.primary, config, text, params, mode, named),
      'primary',
    );
    const consistency = this.#consistency;
    const metrics = this.#metrics!;
    // Each statement is monitored once, under the role of the server it ran on; choosing the replica (which may
    // ask the servers for WAL positions) is not part of its duration.
    const onReplica = this.#monitor(async (text, params, mode, named, span, pool = router.primary) => {
      span?.setAttributes(this.#server(pool));
      try {
        return await send(pool, config, text, params, mode, named);
      } catch (err) {
        if (!replicaFailure(err)) throw err;
        const reason = toDatabaseError(err).message;
        log.warn({ pool: pool.name, reason }, 'replica read failed; retrying on primary');
        if (!isRecoveryConflict(err)) router.replicaFailed(pool, reason);
        metrics.replicaFallback('replica_error');
        span?.setAttributes(this.#server(router.primary));
        return send(router.primary, config, text, params, mode, named);
      }
    }, 'replica');
    const route = async (
      text: string,
      params: readonly unknown[],
      mode: ResultMode,
      named: boolean,
      finish: RowsFinish | undefined,
    ): Promise<QueryResult> => {
      let pool = router.pick();
      if (pool === router.primary) {
        metrics.replicaFallback('replicas_down');
        return onPrimary(text, params, mode, named, finish);
      }
      if (consistency) {
        pool = await consistency.choose(router, pool);
        if (pool === router.primary) {
          metrics.replicaFallback('behind');
          return onPrimary(text, params, mode, named, finish);
        }
      }
      return onReplica(text, params, mode, named, finish, pool);
    };
    return (text, params, mode, named = false, finish) => {
      if (ambient.getStore()?.tx) return inTransaction(text, params, mode, named, finish);
      if (this.#state !== 'ready') return Promise.reject(new DatabaseNotInitializedError());
      return route(text, params, mode, named, finish);
    };
  }

  /**
   * Statements inside an ambient transaction, timed like every other statement. `layerRead`: the repository's own
   * reads (by id, by filter object), which may run before the transaction's BEGIN (ADR 0009).
   */
  #inTransaction(layerRead: boolean): Executor {
    return this.#monitor(
      layerRead
        ? (text, params, mode, named) => ambient.getStore()!.tx!.executeRead(text, params, mode, named)
        : (text, params, mode, named) => ambient.getStore()!.tx!.execute(text, params, mode, named),
      'primary',
    );
  }

  /**
   * The one place every statement passes: timed into the metrics, logged and emitted when slow or failed, and
   * traced (a span per statement) when a tracer was found at init.
   */
  #monitor(execute: TracedExecutor, role: 'primary' | 'replica' | 'embedded'): MonitoredExecutor {
    const config = this.#config!;
    const metrics = this.#metrics!;
    const slow = config.monitoring.slowThreshold;
    const enabled = config.monitoring.enabled;
    const effectiveRole = this.#router?.primary.role === 'embedded' || config.url === undefined ? 'embedded' : role;
    const monitored = (
      text: string,
      params: readonly unknown[],
      mode: ResultMode,
      named = false,
      finish?: RowsFinish,
      pool?: Pool,
      span?: Span,
    ): Promise<QueryResult> => {
      const started = performance.now();
      return execute(text, params, mode, named, span, pool).then(
        (result) => {
          const durationMs = performance.now() - started;
          metrics.query(effectiveRole, durationMs / 1000);
          if (enabled && durationMs >= slow) reportSlow(text, durationMs, effectiveRole);
          return finish === undefined ? result : (finish(result) as QueryResult);
        },
        (err: unknown) => {
          const durationMs = performance.now() - started;
          const ownTimeout = !currentFrame()?.scope.endedByDeadline(err);
          const mapped = toDatabaseError(err);
          metrics.query(effectiveRole, durationMs / 1000, mapped.code, ownTimeout);
          reportError(text, err, durationMs, effectiveRole);
          throw finish === undefined ? err : mapped;
        },
      );
    };
    const tracer = this.#tracer;
    if (!tracer) return monitored;
    const server = role === 'replica' ? {} : this.#server(this.#router?.primary);
    return (text, params, mode, named, finish, pool) => {
      const span = startStatementSpan(tracer, text, server, effectiveRole);
      return endStatementSpan(span, monitored(text, params, mode, named, finish, pool, span));
    };
  }

  /** `server.address`, `server.port` and `db.namespace` of a pool, for spans. */
  #server(pool: Pool | undefined): Attributes {
    if (!pool || pool.role === 'embedded') return {};
    let attributes = this.#servers.get(pool);
    if (!attributes) {
      attributes = serverAttributes(pool.displayUrl);
      this.#servers.set(pool, attributes);
    }
    return attributes;
  }

  readonly #servers = new WeakMap<Pool, Attributes>();

  /** @internal The metrics this database reports to. */
  get metrics(): DatabaseMetrics {
    if (!this.#metrics) throw new DatabaseNotInitializedError();
    return this.#metrics;
  }

  /** @internal The tracer, when spans are recorded (decided at init). */
  get tracer(): Tracer | undefined {
    return this.#tracer;
  }

  /** @internal Pool counters for the metrics, read at each scrape. */
  poolStats(): readonly PoolStats[] {
    if (!this.#health) return [];
    const report = this.#health.report();
    return [report.primary, ...report.replicas];
  }

  /**
   * The Drizzle instance for writes (`'write'`, the default) or reads (`'read'`: the replicas, else the primary).
   * Both join the ambient transaction when there is one. Throws DatabaseNotInitializedError before init().
   */
  getDatabase(role: 'write' | 'read' = 'write'): Database<TSchema> {
    if (this.#state !== 'ready' || !this.#instances) throw new DatabaseNotInitializedError();
    return role === 'read' ? this.#instances.read : this.#instances.write;
  }

  /**
   * @internal The read instance of repository methods: like `getDatabase('read')`, but inside a transaction its
   * statements may run before BEGIN (ADR 0009). Only for statements the layer built from ids and filter objects.
   */
  layerReads(): Database<TSchema> {
    if (this.#state !== 'ready' || !this.#layerReads) throw new DatabaseNotInitializedError();
    return this.#layerReads;
  }

  /** Runs `fn` in a transaction on this database (see `transaction()`). */
  transaction<T>(fn: (tx: Transaction<TSchema>) => Promise<T> | T, options?: TransactionOptions): Promise<T> {
    const refused = refusedOptions(options, TRANSACTION_OPTIONS, 'transaction()');
    if (refused) return Promise.reject(refused);
    if (this.#state !== 'ready') return Promise.reject(new DatabaseNotInitializedError());
    return runTransaction(this, this.config.prepare, fn as (tx: Transaction) => Promise<T>, options);
  }

  /**
   * @internal `transaction()` for callers whose options were checked already (`Transactional()` checks its own
   * when it is made): the per-request call skips the options validator. `request`: what `Transactional()` hands
   * the runner for one request (RequestBinding).
   */
  transactionChecked<T>(
    fn: (tx: Transaction<TSchema>) => Promise<T> | T,
    options: TransactionOptions,
    request?: RequestBinding,
  ): Promise<T> {
    if (this.#state !== 'ready') return Promise.reject(new DatabaseNotInitializedError());
    return runTransaction(this, this.#config!.prepare, fn as (tx: Transaction) => Promise<T>, options, request);
  }

  /** Health of the primary and each replica, as last probed. */
  health(): DatabaseHealth {
    if (!this.#health) throw new DatabaseNotInitializedError();
    return this.#health.report();
  }

  /** @internal The read-your-writes tracker; undefined without replicas or with readConsistency `none`. */
  get readConsistency(): ReadConsistencyTracker | undefined {
    return this.#consistency;
  }

  /** @internal The pools, for the health check, metrics and migrations. */
  get pools(): { primary: Pool; replicas: readonly Pool[] } {
    const router = this.#router;
    if (!router) throw new DatabaseNotInitializedError();
    return { primary: router.primary, replicas: router.replicas };
  }

  /** Stops the health check and closes every pool, waiting at most `closeTimeout` ms. Safe to call twice. */
  close(): Promise<void> {
    if (this.#closing) return this.#closing;
    if (this.#state === 'idle' || this.#state === 'closed') {
      if (!this.#initializing) return Promise.resolve();
    }
    this.#closing = this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    if (this.#initializing) await this.#initializing.catch(() => undefined);
    const router = this.#router;
    this.#state = 'closing';
    this.#health?.stop();
    this.#health = undefined;
    this.#detachMetrics?.();
    this.#detachMetrics = undefined;
    const timeout = this.#options.closeTimeout ?? 5000;
    if (router) {
      const pools = [router.primary, ...router.replicas];
      await Promise.all(
        pools.map(async (pool) => {
          await pool.close(timeout);
          dbEvents.emit('connection:close', { pool: pool.name, url: pool.displayUrl });
        }),
      );
    }
    this.#router = undefined;
    this.#consistency = undefined;
    this.#instances = undefined;
    this.#layerReads = undefined;
    this.#state = 'closed';
  }
}

/** A statement runner that is told the statement's span (to name the server it ran on) and the pool to use. */
type TracedExecutor = (
  text: string,
  params: readonly unknown[],
  mode: ResultMode,
  named: boolean,
  span?: Span,
  pool?: Pool,
) => Promise<QueryResult>;

/** An executor that may be told which pool to run on (the replica chosen for a read). */
type MonitoredExecutor = (
  text: string,
  params: readonly unknown[],
  mode: ResultMode,
  named?: boolean,
  finish?: RowsFinish,
  pool?: Pool,
) => Promise<QueryResult>;

/**
 * Sends one statement to a pool outside a transaction: as a named prepared statement when the statement may be one
 * (`named`, ADR 0008) and prepared statements are on (DB_PREPARE).
 */
function send(
  pool: Pool,
  config: ResolvedDatabaseConfig,
  text: string,
  params: readonly unknown[],
  mode: ResultMode,
  named: boolean,
): Promise<QueryResult> {
  return pool.query(text, params, mode, config.prepare && named);
}

function clientOf(tx: Transaction): DrizzleClient {
  return (tx as unknown as { session: { client: DrizzleClient } }).session.client;
}

function retryableConnectFailure(err: unknown): boolean {
  const server = findServerError(err);
  // Wrong password, unknown database or role: retrying will not help.
  return !(server && ['28P01', '28000', '3D000', '42501'].includes(server.code));
}

/** A replica read that failed because of the replica: unreachable, or cancelled by a recovery conflict. */
function replicaFailure(err: unknown): boolean {
  const server = findServerError(err);
  if (server) {
    return (
      server.code === '40001' ||
      server.code === '40P01' ||
      server.code.startsWith('08') ||
      server.code.startsWith('57P')
    );
  }
  return toDatabaseError(err) instanceof ConnectionError;
}

/** A statement cancelled by a recovery conflict: the replica itself is fine. */
function isRecoveryConflict(err: unknown): boolean {
  const code = findServerError(err)?.code;
  return code === '40001' || code === '40P01';
}

function reportSlow(text: string, durationMs: number, role: 'primary' | 'replica' | 'embedded'): void {
  log.warn({ durationMs: Math.round(durationMs), role, sql: text }, 'slow query');
  if (dbEvents.has('query:slow')) {
    dbEvents.emit('query:slow', {
      operation: 'query',
      durationMs,
      role,
      sql: text,
      txId: ambient.getStore()?.tx?.txId,
    });
  }
}

function reportError(text: string, err: unknown, durationMs: number, role: 'primary' | 'replica' | 'embedded'): void {
  const mapped = toDatabaseError(err);
  log.debug({ code: mapped.code, sqlState: mapped.sqlState, role, sql: text }, 'query failed');
  if (dbEvents.has('query:error')) {
    dbEvents.emit('query:error', {
      operation: 'query',
      durationMs,
      role,
      sql: text,
      code: mapped.code,
      sqlState: mapped.sqlState,
      txId: ambient.getStore()?.tx?.txId,
    });
  }
}

/**
 * The defaults assumed for a pool whose server was not reached yet (a replica down at start-up): the ones under which
 * every choice is the safe one — no read before BEGIN, the mark and guard of docs/adr/0007 behind BEGIN.
 */
const UNKNOWN_DEFAULTS: ServerDefaults = { readCommitted: false, serializable: false, deferrable: true };

/**
 * What a transaction that names no level or mode gets on the server: whether its `default_transaction_isolation` is
 * READ COMMITTED (PostgreSQL runs READ UNCOMMITTED as READ COMMITTED) or SERIALIZABLE, and whether
 * `default_transaction_deferrable` is on (docs/adr/0011).
 */
async function serverDefaults(pool: Pool): Promise<ServerDefaults> {
  const rows = await pool.query(
    "select current_setting('default_transaction_isolation'), current_setting('default_transaction_deferrable')",
    [],
    'array',
    false,
  );
  const [level, deferrable] = (rows[0] as unknown[] | undefined) ?? [];
  return {
    readCommitted: level === 'read committed' || level === 'read uncommitted',
    serializable: level === 'serializable',
    deferrable: deferrable !== 'off',
  };
}
