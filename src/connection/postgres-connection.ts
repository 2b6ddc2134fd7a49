import type postgres from 'postgres';
import { detached, type QueryResult, type ResultMode } from '../context/index.js';
import { ConnectionError } from '../errors/index.js';
import { logger } from '../logger/index.js';
import type { Lane } from './gate.js';
import type { PooledConnection } from './pool.js';
import { withTimeout } from './timeout.js';

const log = logger.child('pool');

type Params = postgres.ParameterOrJSON<never>[];
/**
 * A postgres.js query: cancellable, `active` while the server runs it, and `state` holds its connection's backend
 * pid once it was sent.
 */
export type Pending = {
  cancel(): void;
  active?: boolean;
  state?: { pid: number | null } | null;
} & PromiseLike<unknown>;

/**
 * One postgres.js client of a pool: `max: 1`, so its one connection is ours alone while a lease holds it.
 * @internal
 */
export interface Client {
  readonly sql: postgres.Sql;
  /** The lease holding this client, told when its connection closes. */
  lease: PostgresConnection | undefined;
  /**
   * False until a statement was started on it and again once its connection closed: the next statement opens the
   * connection, so it is started in a detached async context (see {@link start}).
   */
  connected: boolean;
  /** When it was opened (performance.now()), for the pool's max lifetime. */
  readonly opened: number;
  /** Statements and leases so far; the pool's idle sweep sees that it was used since its last look. */
  uses: number;
  /** The idle sweep's bookkeeping: `uses` at its last look, and for how long it has seen the client unused. */
  seenUses: number;
  idleMs: number;
}

/** What a lease needs from its pool. @internal */
export interface LeaseHost {
  /** Gives the lane back; a client whose connection closed during the lease is replaced first. */
  release(lane: Lane, client: Client, closed: boolean): void;
  /** Takes the client out of the pool and ends it (Terminate, socket closed); the lane stays held. */
  discard(lane: Lane, client: Client): void;
  /** `pg_terminate_backend(pid)` on a connection of its own, bounded; never throws. */
  terminateBackend(pid: number): Promise<void>;
  /** Counts a connection ended in doubt, and whether it was confirmed closed. */
  onDestroyed(confirmed: boolean): void;
}

/** How long the socket may take to close after the Terminate message before the server is asked to end it. */
const LOCAL_CLOSE_MS = 500;
/** How long the session may take to go after the server was asked to end it. */
const CLOSE_MS = 2000;

/**
 * One connection held exclusively: a postgres.js client of its own (`max: 1`), which no other caller uses until
 * the lease ends. A connection in doubt (a failed BEGIN or ROLLBACK, a cancel that may hit the next statement, a
 * COMMIT with no answer) is ended by {@link destroy} without another statement on it: its session may be in an
 * aborted transaction, where the server refuses everything but ROLLBACK.
 *
 * postgres.js reopens a closed connection on the next statement; inside a transaction that statement would run on
 * a new session, outside the transaction. Once the connection closed during the lease, every later statement fails
 * and the client is replaced when the lease ends.
 * @internal
 */
export class PostgresConnection implements PooledConnection {
  readonly #client: Client;
  readonly #lane: Lane;
  readonly #host: LeaseHost;
  /**
   * Statements sent and not yet answered, oldest first (a transaction pipelines at most a few). A plain array: a Set
   * reallocates its table as it grows and shrinks with every statement.
   */
  readonly #inflight: Pending[] = [];
  #backend: { pid: number | null } | undefined;
  #closed = false;
  #wakeClosed: (() => void) | undefined;
  #released = false;

  constructor(client: Client, lane: Lane, host: LeaseHost) {
    this.#client = client;
    this.#lane = lane;
    this.#host = host;
    client.lease = this;
    client.uses++;
  }

  /** Called by the pool when the client's connection closes. */
  onClosed(): void {
    this.#closed = true;
    this.#wakeClosed?.();
  }

  #closedError(): ConnectionError {
    return new ConnectionError('The connection closed during the transaction');
  }

  #settled(q: Pending): void {
    const inflight = this.#inflight;
    // Answers come in the order the statements were sent: the settled one is nearly always the first.
    const i = inflight[0] === q ? 0 : inflight.indexOf(q);
    if (i === 0) inflight.shift();
    else if (i > 0) inflight.splice(i, 1);
    if (this.#backend === undefined && q.state) this.#backend = q.state;
  }

  /**
   * Runs one statement on this connection. Called for every statement of a transaction, so it settles with one
   * reaction on the driver's promise rather than an async function's (which adds two promises and a turn per
   * statement, each one also seen by the AsyncLocalStorage hooks).
   */
  query(text: string, params: readonly unknown[], mode: ResultMode, prepare: boolean): Promise<QueryResult> {
    if (this.#closed) return Promise.reject(this.#closedError());
    let q: postgres.PendingQuery<postgres.Row[]>;
    try {
      q = this.#client.sql.unsafe(text, params as Params, { prepare });
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    this.#inflight.push(q);
    const pending: PromiseLike<QueryResult> = mode === 'array' ? q.values() : q;
    start(this.#client, q);
    return Promise.resolve(
      pending.then(
        (rows) => {
          this.#settled(q);
          return rows;
        },
        (err: unknown) => {
          this.#settled(q);
          throw err;
        },
      ),
    );
  }

  async script(text: string): Promise<void> {
    if (this.#closed) throw this.#closedError();
    const q = this.#client.sql.unsafe(text, [], { prepare: false }).simple();
    this.#inflight.push(q);
    start(this.#client, q);
    try {
      await q;
    } finally {
      this.#settled(q);
    }
  }

  async cancel(): Promise<void> {
    const running = [...this.#inflight];
    if (running.length === 0) return;
    // Only the statement the server is running is cancelled. postgres.js (3.4.9) mishandles the others: one still
    // in a reserved connection's queue is rejected but left there, and the queue stops (the ROLLBACK behind it
    // never runs); one pipelined behind the running one is dropped before its answer arrives, and that answer is
    // read as the next statement's. Statements behind a cancelled one fail at once in the aborted transaction.
    const sent = running.filter((q) => q.active === true);
    await withTimeout(Promise.allSettled(sent.map(requestCancel)), 2000, () => new Error('cancel timed out')).catch(
      () => undefined,
    );
    // Let the cancelled statements settle so a late cancel cannot hit a later statement.
    await withTimeout(Promise.allSettled(running), 2000, () => new Error('settle timed out')).catch(() => undefined);
  }

  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#client.lease = undefined;
    this.#host.release(this.#lane, this.#client, this.#closed);
  }

  /**
   * Ends the session without speaking SQL on it: the client is taken out of the pool and ended (the Terminate
   * message and a closed socket), then — when the socket does not close (a server that does not read it) —
   * `pg_terminate_backend` from another connection. The lane gets a new client; its lease is returned in every
   * case, after a bounded wait.
   */
  async destroy(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    const closed = new Promise<void>((resolve) => {
      this.#wakeClosed = resolve;
      if (this.#closed) resolve();
    });
    const pid = this.#pid();
    try {
      this.#host.discard(this.#lane, this.#client);
      // Nothing was ever sent on a connection: there is no session to end.
      let confirmed = this.#closed || pid === undefined || (await settles(closed, LOCAL_CLOSE_MS));
      if (!confirmed && pid !== undefined) {
        await this.#host.terminateBackend(pid);
        confirmed = await settles(closed, CLOSE_MS);
      }
      if (!confirmed) log.warn({ pid }, 'a connection in doubt did not close in time');
      this.#host.onDestroyed(confirmed);
    } finally {
      this.#wakeClosed = undefined;
      this.#client.lease = undefined;
      this.#host.release(this.#lane, this.#client, false);
    }
  }

  #pid(): number | undefined {
    const state = this.#backend ?? this.#inflight.find((q) => q.state)?.state ?? undefined;
    return state?.pid ?? undefined;
  }
}

/**
 * Starts `q` now, in a detached async context when it opens its client's connection (postgres.js opens it, or
 * opens it again after it closed, on the next statement). The socket keeps the async context it was opened in and
 * runs every callback in it: opened under a transaction, it would carry that transaction as the ambient one, and
 * keep it and its request reachable, for the life of the connection (docs/adr/0010). Otherwise the statement starts
 * when it is awaited, as before.
 * @internal
 */
export function start(client: Client, q: { execute(): unknown }): void {
  if (client.connected) return;
  client.connected = true;
  detached(() => q.execute());
}

/**
 * Sends the cancel request for `q` and resolves once the server has taken it. postgres.js's `cancel()` returns
 * nothing; its canceller's promise settles when the server closes the cancel connection, after it signalled the
 * backend. Waiting for that matters: a request still on its way when the statement ends anyway (by its own
 * statement_timeout) would cancel whatever runs next on the session — the ROLLBACK, or the next transaction's BEGIN.
 * A signal that reaches an idle backend is dropped by the server.
 * @internal
 */
export function requestCancel(q: Pending): Promise<void> {
  const query = q as Pending & { canceller?: ((q: Pending) => Promise<void>) | null };
  const canceller = query.canceller;
  if (typeof canceller !== 'function') {
    q.cancel();
    return Promise.resolve();
  }
  // What `cancel()` does, keeping the promise it drops.
  query.canceller = null;
  return canceller(q);
}

async function settles(promise: Promise<void>, ms: number): Promise<boolean> {
  return withTimeout(promise, ms, () => new Error('timeout')).then(
    () => true,
    () => false,
  );
}
