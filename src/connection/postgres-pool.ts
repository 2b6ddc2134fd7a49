import postgres from 'postgres';
import { detached, type QueryResult, type ResultMode } from '../context/index.js';
import { ConnectionError, toDatabaseError, type PoolCounts, type PoolTimeoutError } from '../errors/index.js';
import { logger } from '../logger/index.js';
import { Gate, type Lane, type Withdrawal } from './gate.js';
import { failStatement, type Pool, type PooledConnection, type PoolRole, type SharedStatement } from './pool.js';
import {
  PostgresConnection,
  requestCancel,
  start,
  type Client,
  type LeaseHost,
  type Pending,
} from './postgres-connection.js';
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
 * A pool of connections to one server, with an acquire timeout that postgres.js lacks: one postgres.js client per
 * connection (`max: 1`) under our own {@link Gate}, so postgres.js never queues onto a busy connection of its own
 * pool (its queue slows down with every such query, porsager/postgres#747; docs/adr/0006).
 * @internal
 */
export class PostgresPool implements Pool {
  readonly name: string;
  readonly role: PoolRole;
  readonly displayUrl: string;
  readonly #options: PostgresPoolOptions;
  /** One client per lane of the gate, opened on first use. */
  readonly #clients: (Client | undefined)[];
  #probe: postgres.Sql | undefined;
  /** Array types learned from the server by the first connection (see #learnTypes). */
  #types: LearnedTypes | undefined;
  readonly #gate: Gate;
  #closing: Promise<void> | undefined;
  /** The idle and lifetime sweep, started with the first client. */
  #sweeper: NodeJS.Timeout | undefined;

  constructor(options: PostgresPoolOptions) {
    this.name = options.name;
    this.role = options.role;
    this.displayUrl = maskUrl(options.url);
    this.#gate = new Gate(options.name, options.max, options.acquireTimeout, options.onPoolTimeout, options.onPoolWait);
    this.#options = options;
    this.#clients = Array.from({ length: options.max }, () => undefined);
  }

  /**
   * A client of one connection. Clients of the pool get no idle timeout or max lifetime from postgres.js, which
   * would close the connection between two statements of a transaction holding it (postgres.js spares only its own
   * reservations); the pool's sweep applies both to connections nobody uses (see #sweep).
   */
  static #client(
    options: PostgresPoolOptions,
    types: LearnedTypes | undefined,
    onclose: (() => void) | undefined,
    driverTimers: boolean,
  ): postgres.Sql {
    const sql = postgres(options.url, {
      ...(onclose ? { onclose } : {}),
      fetch_types: types === undefined,
      max: 1,
      idle_timeout: driverTimers ? options.idleTimeout : 0,
      connect_timeout: options.connectTimeout,
      max_lifetime: driverTimers && options.maxLifetime !== 0 ? options.maxLifetime : null,
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

  /** The lane's client, opened on first use with the array types learned so far. */
  #clientOf(lane: Lane): Client {
    const existing = this.#clients[lane.index];
    if (existing !== undefined) return existing;
    // postgres.js opens the connection on the first statement, so `onclose` cannot run before `client` is set.
    let client: Client | undefined = undefined;
    const onclose = (): void => {
      if (client === undefined) return;
      client.connected = false;
      client.lease?.onClosed();
    };
    const sql = PostgresPool.#client(this.#options, this.#types, onclose, false);
    client = { sql, lease: undefined, connected: false, opened: performance.now(), uses: 0, seenUses: 0, idleMs: 0 };
    this.#clients[lane.index] = client;
    this.#sweeper ??= this.#startSweep();
    return client;
  }

  #startSweep(): NodeJS.Timeout | undefined {
    const { idleTimeout, maxLifetime } = this.#options;
    const shortest = Math.min(idleTimeout || Infinity, maxLifetime || Infinity);
    if (shortest === Infinity) return undefined;
    const every = Math.min(10_000, Math.max(250, (shortest * 1000) / 4));
    // Background work nobody awaits: it must not keep the process alive (docs/adr/1000).
    return setInterval(() => this.#sweep(every), every).unref();
  }

  /**
   * Ends the clients of lanes nobody used for `idleTimeout` seconds, and of idle lanes older than `maxLifetime`; the
   * next statement opens a new client. A lane in use is never touched, so a transaction keeps its session.
   */
  #sweep(every: number): void {
    const { idleTimeout, maxLifetime } = this.#options;
    const now = performance.now();
    for (const lane of this.#gate.lanes()) {
      const client = this.#clients[lane.index];
      if (client === undefined) continue;
      const unused = lane.shared === 0 && !lane.held && lane.promisedTo === undefined && !lane.blocked;
      client.idleMs = unused && client.seenUses === client.uses ? client.idleMs + every : 0;
      client.seenUses = client.uses;
      const idleOut = idleTimeout > 0 && client.idleMs >= idleTimeout * 1000;
      const aged = maxLifetime > 0 && now - client.opened >= maxLifetime * 1000;
      if (unused && (idleOut || aged)) {
        this.#clients[lane.index] = undefined;
        void this.#retire(client.sql);
      }
    }
  }

  /**
   * postgres.js fetches the server's array types on every new connection with a query it never awaits: when the
   * connection dies during that query (a server restart, a pool reset), the rejection is unhandled and a server
   * that treats unhandled rejections as fatal exits. The first connection's answer is kept; clients opened before
   * that are told not to fetch again, and later ones are given it.
   */
  #learnTypes(sql: postgres.Sql): void {
    if (this.#types) return;
    const options = sql.options as unknown as SharedOptions;
    if (Object.keys(options.shared.typeArrayMap).length === 0) return;
    this.#types = {
      parsers: { ...options.parsers },
      serializers: { ...options.serializers },
      typeArrayMap: { ...options.shared.typeArrayMap },
    };
    for (const client of this.#clients) {
      if (client === undefined) continue;
      const other = client.sql.options as unknown as SharedOptions;
      if (Object.keys(other.shared.typeArrayMap).length === 0) {
        Object.assign(other.parsers, this.#types.parsers);
        Object.assign(other.serializers, this.#types.serializers);
        Object.assign(other.shared.typeArrayMap, this.#types.typeArrayMap);
      }
      other.fetch_types = false;
    }
  }

  /** New clients for every lane; the old ones are ended at once (their running statements fail). */
  async reset(): Promise<void> {
    if (this.#closing) return;
    const old = this.#clients.splice(0, this.#clients.length, ...this.#clients.map(() => undefined));
    await Promise.all(old.filter((c): c is Client => c !== undefined).map((c) => this.#retire(c.sql)));
  }

  counts(): PoolCounts {
    return this.#gate.counts();
  }

  query(
    text: string,
    params: readonly unknown[],
    mode: ResultMode,
    prepare: boolean,
    watch?: SharedStatement,
  ): Promise<QueryResult> {
    const lane = this.#gate.tryShared();
    if (lane !== undefined) return this.#run(lane, text, params, mode, prepare, watch);
    return this.#gate.acquireShared().then(
      (waited) => this.#run(waited, text, params, mode, prepare, watch),
      (err: unknown) => failStatement(watch, err),
    );
  }

  #run(
    lane: Lane,
    text: string,
    params: readonly unknown[],
    mode: ResultMode,
    prepare: boolean,
    watch: SharedStatement | undefined,
  ): Promise<QueryResult> {
    let pending: Promise<QueryResult>;
    let sql: postgres.Sql;
    try {
      const client = this.#clientOf(lane);
      client.uses++;
      sql = client.sql;
      const q = sql.unsafe(text, params as Params, { prepare });
      if (watch !== undefined) {
        watch.lane = lane;
        watch.query = q;
      }
      // A postgres.js query is a Promise whose `then` gives plain promises (its species is Promise).
      pending = mode === 'array' ? q.values() : q;
      start(client, q);
    } catch (err) {
      this.#gate.releaseShared(lane);
      const error = err instanceof Error ? err : new Error(String(err));
      return new Promise<never>(() => failStatement(watch, error));
    }
    // One reaction instead of an async function's: this runs for every statement outside a transaction.
    return pending.then(
      (rows) => {
        this.#gate.releaseShared(lane);
        if (this.#types === undefined) this.#learnTypes(sql);
        return watch?.answered === undefined ? rows : watch.answered(rows);
      },
      (err: unknown) => {
        this.#gate.releaseShared(lane);
        return failStatement(watch, err);
      },
    );
  }

  /**
   * Cancels a statement sent with {@link query} and a `watch`, on the server, when that is safe: only while it is
   * the one statement on its connection (a cancel request stops whatever the session runs when it lands, so with
   * others pipelined behind it, one of theirs could be the victim). The connection takes nothing new until the
   * request landed and the statement ended. Resolves false when it could not be cancelled.
   */
  async cancelShared(watch: SharedStatement, settled: Promise<unknown>): Promise<boolean> {
    const { lane, query } = watch;
    if (lane === undefined || query === undefined || lane.shared !== 1 || (query as Pending).active !== true) {
      return false;
    }
    const landed = withTimeout(requestCancel(query as Pending), 2000, () => new Error('cancel timed out'))
      .then(() => withTimeout(settled, 2000, () => new Error('settle timed out')))
      .catch(() => undefined);
    await this.#gate.block(lane, landed);
    return true;
  }

  async reserve(withdrawal?: Withdrawal): Promise<PooledConnection> {
    const lane = await this.#gate.acquireExclusive(withdrawal);
    try {
      return new PostgresConnection(this.#clientOf(lane), lane, this.#leaseHost);
    } catch (err) {
      this.#gate.releaseExclusive(lane);
      throw toDatabaseError(err);
    }
  }

  readonly #leaseHost: LeaseHost = {
    release: (lane, client, closed) => {
      if (closed) this.#discardClient(lane, client);
      if (this.#types === undefined) this.#learnTypes(client.sql);
      this.#gate.releaseExclusive(lane);
    },
    discard: (lane, client) => this.#discardClient(lane, client),
    terminateBackend: (pid) => this.#terminateBackend(pid),
    onDestroyed: (confirmed) => this.#options.onConnectionDestroyed?.(this.name, confirmed),
  };

  /** Takes a client out of its lane (the next user opens a new one) and ends it. */
  #discardClient(lane: Lane, client: Client): void {
    if (this.#clients[lane.index] === client) this.#clients[lane.index] = undefined;
    void this.#retire(client.sql);
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
      undefined,
      true,
    ));
  }

  async #terminateBackend(pid: number): Promise<void> {
    if (this.#closing) return;
    const probe = this.#probeClient();
    try {
      // The pid is bound, and matched with our application_name so a recycled pid of another client is left alone.
      await withTimeout(
        // Its connection may open here: outside the caller's async context (see start()).
        detached(() =>
          probe
            .unsafe('select pg_terminate_backend(pid) from pg_stat_activity where pid = $1 and application_name = $2', [
              pid,
              this.#options.applicationName,
            ])
            .execute(),
        ) as unknown as Promise<unknown>,
        TERMINATE_TIMEOUT_MS,
        () => new ConnectionError(`No answer from ${this.name} within ${TERMINATE_TIMEOUT_MS} ms`),
      );
    } catch (err) {
      log.warn({ pool: this.name, err: toDatabaseError(err) }, 'could not end the backend of a connection in doubt');
      if (this.#probe === probe) this.#probe = undefined;
      void this.#retire(probe);
    }
  }

  async probe(timeoutMs: number): Promise<void> {
    if (this.#closing) throw new ConnectionError(`The ${this.name} pool is closed`);
    const probe = this.#probeClient();
    try {
      await withTimeout(
        detached(() => probe.unsafe('select 1').execute()) as unknown as Promise<unknown>,
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
    clearInterval(this.#sweeper);
    const probe = this.#probe;
    this.#probe = undefined;
    if (probe) await this.#retire(probe);
    const seconds = Math.max(0, Math.floor(timeoutMs / 1000));
    const clients = this.#clients.splice(0).filter((c): c is Client => c !== undefined);
    await Promise.all(
      clients.map(async ({ sql }) => {
        try {
          await withTimeout(sql.end({ timeout: seconds }), timeoutMs + 500, () => new Error('end timed out'));
        } catch {
          // postgres.js can hang in end() after a reset connection; force the sockets closed.
          await withTimeout(sql.end({ timeout: 0 }), 1000, () => new Error('end timed out')).catch(() => undefined);
        }
      }),
    );
  }
}
