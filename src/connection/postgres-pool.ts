import postgres from 'postgres';
import type { QueryResult, ResultMode } from '../context/index.js';
import { ConnectionError, toDatabaseError, type PoolCounts, type PoolTimeoutError } from '../errors/index.js';
import { Gate } from './gate.js';
import type { Pool, PooledConnection, PoolRole } from './pool.js';
import { withTimeout } from './timeout.js';
import { maskUrl } from './url.js';

/** Settings of one postgres.js pool. @internal */
export interface PostgresPoolOptions {
  name: string;
  role: PoolRole;
  url: string;
  max: number;
  idleTimeout: number;
  acquireTimeout: number;
  connectTimeout: number;
  maxLifetime: number;
  prepare: boolean;
  applicationName: string;
  onPoolTimeout: (err: PoolTimeoutError) => void;
  /** Told how long a caller queued for a connection, each time one had to. */
  onPoolWait?: (pool: string, waitedMs: number) => void;
}

type Params = postgres.ParameterOrJSON<never>[];
type Pending = { cancel(): void } & PromiseLike<unknown>;

const IDENTITY = (value: unknown): unknown => value;
/** Date/time types Drizzle parses and serializes itself; postgres.js must hand them over as strings. */
const DRIZZLE_TEXT_TYPES = [1184, 1082, 1083, 1114, 1182, 1185, 1115, 1231];
const DRIZZLE_SERIALIZED = [114, 3802];

interface LearnedTypes {
  parsers: Record<number, unknown>;
  serializers: Record<number, unknown>;
  typeArrayMap: Record<number, number>;
}

interface SharedOptions {
  fetch_types: boolean;
  parsers: Record<number, unknown>;
  serializers: Record<number, unknown>;
  shared: { typeArrayMap: Record<number, number> };
}

/** For the health probe's own client, which only sends `select 1`. */
const NO_TYPES: LearnedTypes = { parsers: {}, serializers: {}, typeArrayMap: {} };

/**
 * A pool of postgres.js connections to one server, with an acquire timeout that postgres.js lacks.
 * @internal
 */
export class PostgresPool implements Pool {
  readonly name: string;
  readonly role: PoolRole;
  readonly displayUrl: string;
  readonly #options: PostgresPoolOptions;
  #sql: postgres.Sql;
  #probe: postgres.Sql | undefined;
  /** Array types learned from the server by the first connection (see #learnTypes). */
  #types: LearnedTypes | undefined;
  #pendingReserves = 0;
  readonly #gate: Gate;
  #closing: Promise<void> | undefined;

  constructor(options: PostgresPoolOptions) {
    this.name = options.name;
    this.role = options.role;
    this.displayUrl = maskUrl(options.url);
    this.#gate = new Gate(options.name, options.max, options.acquireTimeout, options.onPoolTimeout, options.onPoolWait);
    this.#options = options;
    this.#sql = PostgresPool.#client(options);
  }

  static #client(options: PostgresPoolOptions, types?: LearnedTypes): postgres.Sql {
    const sql = postgres(options.url, {
      fetch_types: types === undefined,
      max: options.max,
      idle_timeout: options.idleTimeout,
      connect_timeout: options.connectTimeout,
      max_lifetime: options.maxLifetime === 0 ? null : options.maxLifetime,
      prepare: options.prepare,
      // With named prepared statements, custom plans keep the plan quality of unprepared statements (a generic
      // plan can be far worse for skewed data) while saving the parse and the describe round trip. Unnamed
      // statements (prepare off, e.g. behind PgBouncer, which rejects unknown startup parameters) always get
      // custom plans, so the parameter is only sent with prepare on.
      connection: options.prepare
        ? { application_name: options.applicationName, plan_cache_mode: 'force_custom_plan' }
        : { application_name: options.applicationName },
      onnotice: () => undefined,
      // postgres.js waits up to 20 s between reconnects after repeated failures; after a restart the first query
      // should not wait that long (the health check already limits reconnect attempts).
      backoff: (retries: number) => Math.min(0.025 * 2 ** retries, 0.5),
    });
    const { parsers, serializers } = sql.options as unknown as {
      parsers: Record<number, unknown>;
      serializers: Record<number, unknown>;
    };
    for (const oid of DRIZZLE_TEXT_TYPES) {
      parsers[oid] = IDENTITY;
      serializers[oid] = IDENTITY;
    }
    for (const oid of DRIZZLE_SERIALIZED) serializers[oid] = IDENTITY;
    if (types) {
      const shared = (sql.options as unknown as SharedOptions).shared;
      Object.assign(parsers, types.parsers);
      Object.assign(serializers, types.serializers);
      Object.assign(shared.typeArrayMap, types.typeArrayMap);
    }
    return sql;
  }

  /**
   * postgres.js fetches the server's array types on every new connection with a query it never awaits: when the
   * connection dies during that query (a server restart, a pool reset), the rejection is unhandled and a server
   * that treats unhandled rejections as fatal exits. The first connection's answer is kept and later connections
   * and clients are told not to fetch again.
   */
  #learnTypes(): void {
    if (this.#types) return;
    const options = this.#sql.options as unknown as SharedOptions;
    if (Object.keys(options.shared.typeArrayMap).length === 0) return;
    this.#types = {
      parsers: { ...options.parsers },
      serializers: { ...options.serializers },
      typeArrayMap: { ...options.shared.typeArrayMap },
    };
    if (this.#pendingReserves === 0) options.fetch_types = false;
  }

  async reset(): Promise<void> {
    if (this.#closing) return;
    const old = this.#sql;
    this.#sql = PostgresPool.#client(this.#options, this.#types);
    await this.#retire(old);
  }

  counts(): PoolCounts {
    return this.#gate.counts();
  }

  query(text: string, params: readonly unknown[], mode: ResultMode, prepare: boolean): Promise<QueryResult> {
    const wait = this.#gate.acquireShared();
    if (wait === undefined) return this.#run(text, params, mode, prepare);
    return wait.then(() => this.#run(text, params, mode, prepare));
  }

  async #run(text: string, params: readonly unknown[], mode: ResultMode, prepare: boolean): Promise<QueryResult> {
    try {
      const q = this.#sql.unsafe(text, params as Params, { prepare });
      const rows = await (mode === 'array' ? q.values() : q);
      if (this.#types === undefined) this.#learnTypes();
      return rows;
    } finally {
      this.#gate.releaseShared();
    }
  }

  async reserve(): Promise<PooledConnection> {
    const started = performance.now();
    await this.#gate.acquireExclusive();
    const remaining = Math.max(1, this.#gate.acquireTimeout - (performance.now() - started));
    const pending = this.#reserveConnection();
    try {
      const reserved = await withTimeout(pending, remaining, () => this.#gate.timeoutError());
      return new PostgresConnection(reserved, this.#gate);
    } catch (err) {
      this.#gate.releaseExclusive();
      // A connection handed out after we gave up goes straight back.
      pending.then(
        (late) => late.release(),
        () => undefined,
      );
      throw toDatabaseError(err);
    }
  }

  /**
   * postgres.js (3.4.9, porsager/postgres#751) never hands a freshly opened connection to `reserve()` when
   * `fetch_types` is off. Type fetching is therefore switched back on while a reservation is pending, so a
   * connection opened for it takes the path that works; plain statements open connections without it.
   */
  #reserveConnection(): Promise<postgres.ReservedSql> {
    const sql = this.#sql;
    const options = sql.options as unknown as SharedOptions;
    this.#pendingReserves++;
    options.fetch_types = true;
    const pending = sql.reserve();
    const settled = (): void => {
      this.#pendingReserves--;
      if (this.#pendingReserves === 0 && this.#types && this.#sql === sql) options.fetch_types = false;
    };
    pending.then(settled, settled);
    return pending;
  }

  async ping(timeoutMs: number): Promise<void> {
    await withTimeout(
      this.query('select 1', [], 'array', false),
      timeoutMs,
      () => new ConnectionError(`No answer from ${this.name} within ${timeoutMs} ms`),
    );
  }

  async probe(timeoutMs: number): Promise<void> {
    if (this.#closing) throw new ConnectionError(`The ${this.name} pool is closed`);
    // idle_timeout 1 s: between probes the connection is closed, so the pool's own connection count stays exact.
    const probe = (this.#probe ??= PostgresPool.#client(
      { ...this.#options, max: 1, prepare: false, idleTimeout: 1 },
      this.#types ?? NO_TYPES,
    ));
    try {
      await withTimeout(
        probe.unsafe('select 1') as unknown as Promise<unknown>,
        timeoutMs,
        () => new ConnectionError(`No answer from ${this.name} within ${timeoutMs} ms`),
      );
    } catch (err) {
      if (this.#probe === probe) this.#probe = undefined;
      void this.#retire(probe);
      throw toDatabaseError(err);
    }
  }

  /** Ends a client we stopped using, at once (its running statements fail with CONNECTION_DESTROYED). */
  #retire(sql: postgres.Sql): Promise<void> {
    return withTimeout(sql.end({ timeout: 0 }), 2000, () => new Error('end timed out')).catch(() => undefined);
  }

  close(timeoutMs: number): Promise<void> {
    this.#closing ??= this.#close(timeoutMs);
    return this.#closing;
  }

  async #close(timeoutMs: number): Promise<void> {
    this.#gate.close(new ConnectionError(`The ${this.name} pool is closed`));
    const probe = this.#probe;
    this.#probe = undefined;
    if (probe) await this.#retire(probe);
    const seconds = Math.max(0, Math.floor(timeoutMs / 1000));
    try {
      await withTimeout(this.#sql.end({ timeout: seconds }), timeoutMs + 500, () => new Error('end timed out'));
    } catch {
      // postgres.js can hang in end() after a reset connection; force the sockets closed.
      await withTimeout(this.#sql.end({ timeout: 0 }), 1000, () => new Error('end timed out')).catch(() => undefined);
    }
  }
}

/** One reserved postgres.js connection. */
class PostgresConnection implements PooledConnection {
  readonly #reserved: postgres.ReservedSql;
  readonly #gate: Gate;
  readonly #inflight = new Set<Pending>();
  #released = false;

  constructor(reserved: postgres.ReservedSql, gate: Gate) {
    this.#reserved = reserved;
    this.#gate = gate;
  }

  async query(text: string, params: readonly unknown[], mode: ResultMode, prepare: boolean): Promise<QueryResult> {
    const q = this.#reserved.unsafe(text, params as Params, { prepare });
    this.#inflight.add(q);
    try {
      return await (mode === 'array' ? q.values() : q);
    } finally {
      this.#inflight.delete(q);
    }
  }

  async script(text: string): Promise<void> {
    const q = this.#reserved.unsafe(text).simple();
    this.#inflight.add(q);
    try {
      await q;
    } finally {
      this.#inflight.delete(q);
    }
  }

  async cancel(): Promise<void> {
    const running = [...this.#inflight];
    if (running.length === 0) return;
    await withTimeout(
      Promise.allSettled(running.map((q) => q.cancel() as unknown as Promise<void>)),
      2000,
      () => new Error('cancel timed out'),
    ).catch(() => undefined);
    // Let the cancelled statements settle so a late cancel cannot hit a later statement.
    await withTimeout(Promise.allSettled(running), 2000, () => new Error('settle timed out')).catch(() => undefined);
  }

  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#reserved.release();
    this.#gate.releaseExclusive();
  }

  async destroy(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    // The server closes the session; postgres.js then reopens that slot. Releasing it as well would put a closed
    // connection back in the idle list, so only the gate lease is returned.
    await withTimeout(
      this.#reserved.unsafe('select pg_terminate_backend(pg_backend_pid())') as unknown as Promise<unknown>,
      2000,
      () => new Error('terminate timed out'),
    ).catch(() => undefined);
    this.#gate.releaseExclusive();
  }
}
