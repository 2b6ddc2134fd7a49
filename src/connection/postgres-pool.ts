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
}

type Params = postgres.ParameterOrJSON<never>[];
type Pending = { cancel(): void } & PromiseLike<unknown>;

const IDENTITY = (value: unknown): unknown => value;
/** Date/time types Drizzle parses and serializes itself; postgres.js must hand them over as strings. */
const DRIZZLE_TEXT_TYPES = [1184, 1082, 1083, 1114, 1182, 1185, 1115, 1231];
const DRIZZLE_SERIALIZED = [114, 3802];

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
  readonly #gate: Gate;
  #closing: Promise<void> | undefined;

  constructor(options: PostgresPoolOptions) {
    this.name = options.name;
    this.role = options.role;
    this.displayUrl = maskUrl(options.url);
    this.#gate = new Gate(options.name, options.max, options.acquireTimeout, options.onPoolTimeout);
    this.#options = options;
    this.#sql = PostgresPool.#client(options);
  }

  static #client(options: PostgresPoolOptions): postgres.Sql {
    const sql = postgres(options.url, {
      max: options.max,
      idle_timeout: options.idleTimeout,
      connect_timeout: options.connectTimeout,
      max_lifetime: options.maxLifetime === 0 ? null : options.maxLifetime,
      prepare: options.prepare,
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
    return sql;
  }

  async reset(): Promise<void> {
    if (this.#closing) return;
    const old = this.#sql;
    this.#sql = PostgresPool.#client(this.#options);
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
      return await (mode === 'array' ? q.values() : q);
    } finally {
      this.#gate.releaseShared();
    }
  }

  async reserve(): Promise<PooledConnection> {
    const started = performance.now();
    await this.#gate.acquireExclusive();
    const remaining = Math.max(1, this.#gate.acquireTimeout - (performance.now() - started));
    const pending = this.#sql.reserve();
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
    const probe = (this.#probe ??= PostgresPool.#client({ ...this.#options, max: 1, prepare: false, idleTimeout: 1 }));
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
