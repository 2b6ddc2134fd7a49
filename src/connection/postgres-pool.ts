import postgres from 'postgres';
import type { QueryResult, ResultMode } from '../context/index.js';
import { ConnectionError, toDatabaseError, type PoolCounts, type PoolTimeoutError } from '../errors/index.js';
import { logger } from '../logger/index.js';
import { Gate } from './gate.js';
import type { Pool, PooledConnection, PoolRole } from './pool.js';
import { PostgresConnection, type BackendTerminator } from './postgres-connection.js';
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
  /** Told each time a connection in doubt was ended; `confirmed` when its session was seen to close. */
  onConnectionDestroyed?: (pool: string, confirmed: boolean) => void;
}

type Params = postgres.ParameterOrJSON<never>[];

const log = logger.child('pool');
/** Bound on ending a backend from another connection. */
const TERMINATE_TIMEOUT_MS = 2000;

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
  /** Reservations waiting for postgres.js, oldest first. */
  readonly #reserving: ReserveRequest[] = [];
  readonly #gate: Gate;
  #closing: Promise<void> | undefined;

  constructor(options: PostgresPoolOptions) {
    this.name = options.name;
    this.role = options.role;
    this.displayUrl = maskUrl(options.url);
    this.#gate = new Gate(options.name, options.max, options.acquireTimeout, options.onPoolTimeout, options.onPoolWait);
    this.#options = options;
    this.#sql = PostgresPool.#client(options, undefined, () => this.#onDriverClose());
  }

  static #client(options: PostgresPoolOptions, types?: LearnedTypes, onclose?: () => void): postgres.Sql {
    const sql = postgres(options.url, {
      ...(onclose ? { onclose } : {}),
      fetch_types: types === undefined,
      max: options.max,
      idle_timeout: options.idleTimeout,
      connect_timeout: options.connectTimeout,
      max_lifetime: options.maxLifetime === 0 ? null : options.maxLifetime,
      prepare: options.prepare,
      // No plan_cache_mode: the plan is chosen per statement (ADR 0008). Statements built once by key run as named
      // prepared statements and may get the server's generic plan; the rest run as the unnamed statement, which
      // is planned for its values. The server's (or the role's) own setting is left alone.
      connection: { application_name: options.applicationName },
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
    this.#sql = PostgresPool.#client(this.#options, this.#types, () => this.#onDriverClose());
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

  #run(text: string, params: readonly unknown[], mode: ResultMode, prepare: boolean): Promise<QueryResult> {
    let pending: Promise<QueryResult>;
    try {
      const q = this.#sql.unsafe(text, params as Params, { prepare });
      // A postgres.js query is a Promise whose `then` gives plain promises (its species is Promise).
      pending = mode === 'array' ? q.values() : q;
    } catch (err) {
      this.#gate.releaseShared();
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    // One reaction instead of an async function's: this runs for every statement outside a transaction.
    return pending.then(
      (rows) => {
        this.#gate.releaseShared();
        if (this.#types === undefined) this.#learnTypes();
        return rows;
      },
      (err: unknown) => {
        this.#gate.releaseShared();
        throw err;
      },
    );
  }

  async reserve(): Promise<PooledConnection> {
    const started = performance.now();
    await this.#gate.acquireExclusive();
    const remaining = Math.max(1, this.#gate.acquireTimeout - (performance.now() - started));
    const request = this.#reserveConnection();
    try {
      const reserved = await withTimeout(request.promise, remaining, () => this.#gate.timeoutError());
      return new PostgresConnection(reserved, this.#gate, this.#terminator);
    } catch (err) {
      this.#gate.releaseExclusive();
      // A connection handed out after we gave up goes straight back.
      request.abandon();
      throw toDatabaseError(err);
    }
  }

  /**
   * postgres.js (3.4.9, porsager/postgres#751) never hands a freshly opened connection to `reserve()` when
   * `fetch_types` is off. Type fetching is therefore switched back on while a reservation is pending, so a
   * connection opened for it takes the path that works; plain statements open connections without it.
   */
  #reserveConnection(): ReserveRequest {
    const sql = this.#sql;
    const options = sql.options as unknown as SharedOptions;
    this.#pendingReserves++;
    options.fetch_types = true;
    const request = new ReserveRequest(() => sql.reserve());
    this.#reserving.push(request);
    const settled = (): void => {
      this.#reserving.splice(this.#reserving.indexOf(request), 1);
      this.#pendingReserves--;
      if (this.#pendingReserves === 0 && this.#types && this.#sql === sql) options.fetch_types = false;
    };
    request.promise.then(settled, settled);
    return request;
  }

  /**
   * postgres.js (3.4.9) gives the oldest queued reservation to a connection that just closed, to reopen it, and
   * then drops it once that connection is open: the caller would wait forever. The oldest reservation still
   * waiting is asked for again; whichever answer comes second is released at once.
   */
  #onDriverClose(): void {
    // After postgres.js's own close handling, which may reopen this very connection for the reservation it takes.
    setImmediate(() => this.#reserving.find((r) => !r.settled)?.attempt());
  }

  async ping(timeoutMs: number): Promise<void> {
    await withTimeout(
      this.query('select 1', [], 'array', false),
      timeoutMs,
      () => new ConnectionError(`No answer from ${this.name} within ${timeoutMs} ms`),
    );
  }

  /** The health probe's own client (one connection), also used to end backends of connections in doubt. */
  #probeClient(): postgres.Sql {
    // idle_timeout 1 s: between probes the connection is closed, so the pool's own connection count stays exact.
    return (this.#probe ??= PostgresPool.#client(
      { ...this.#options, max: 1, prepare: false, idleTimeout: 1 },
      this.#types ?? NO_TYPES,
    ));
  }

  readonly #terminator: BackendTerminator = {
    terminateBackend: async (pid) => {
      if (this.#closing) return;
      const probe = this.#probeClient();
      try {
        // The pid is bound, and matched with our application_name so a recycled pid of another client is left alone.
        await withTimeout(
          probe.unsafe(
            'select pg_terminate_backend(pid) from pg_stat_activity where pid = $1 and application_name = $2',
            [pid, this.#options.applicationName],
          ) as unknown as Promise<unknown>,
          TERMINATE_TIMEOUT_MS,
          () => new ConnectionError(`No answer from ${this.name} within ${TERMINATE_TIMEOUT_MS} ms`),
        );
      } catch (err) {
        log.warn({ pool: this.name, err: toDatabaseError(err) }, 'could not end the backend of a connection in doubt');
        if (this.#probe === probe) this.#probe = undefined;
        void this.#retire(probe);
      }
    },
    onDestroyed: (confirmed) => this.#options.onConnectionDestroyed?.(this.name, confirmed),
  };

  async probe(timeoutMs: number): Promise<void> {
    if (this.#closing) throw new ConnectionError(`The ${this.name} pool is closed`);
    const probe = this.#probeClient();
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

/** One reservation: the first connection postgres.js hands over wins; any other, or one after `abandon()`, goes back. */
class ReserveRequest {
  readonly promise: Promise<postgres.ReservedSql>;
  readonly #ask: () => Promise<postgres.ReservedSql>;
  #resolve!: (reserved: postgres.ReservedSql) => void;
  #reject!: (err: unknown) => void;
  #settled = false;

  constructor(ask: () => Promise<postgres.ReservedSql>) {
    this.#ask = ask;
    this.promise = new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    this.attempt();
  }

  get settled(): boolean {
    return this.#settled;
  }

  attempt(): void {
    this.#ask().then(
      (reserved) => {
        if (this.#settled) {
          reserved.release();
          return;
        }
        this.#settled = true;
        this.#resolve(reserved);
      },
      (err: unknown) => {
        if (this.#settled) return;
        this.#settled = true;
        this.#reject(err);
      },
    );
  }

  /** The caller gave up: a connection handed over now or later goes straight back. */
  abandon(): void {
    if (this.#settled) {
      this.promise.then(
        (late) => late.release(),
        () => undefined,
      );
      return;
    }
    this.#settled = true;
    this.#reject(new Error('reservation abandoned'));
  }
}
