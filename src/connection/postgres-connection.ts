import type postgres from 'postgres';
import type { QueryResult, ResultMode } from '../context/index.js';
import { logger } from '../logger/index.js';
import type { Gate } from './gate.js';
import type { PooledConnection } from './pool.js';
import { withTimeout } from './timeout.js';

const log = logger.child('pool');

type Params = postgres.ParameterOrJSON<never>[];
/**
 * A postgres.js query: cancellable, `active` while the server runs it, and `state` holds its connection's backend
 * pid once it was sent.
 */
type Pending = { cancel(): void; active?: boolean; state?: { pid: number | null } | null } & PromiseLike<unknown>;

/**
 * The connection object postgres.js hands to a query's `onexecute` hook. `terminate()` sends the protocol's
 * Terminate message and closes the socket (statements on it fail with CONNECTION_DESTROYED); `onclose` is called
 * once when the socket closes.
 */
interface DriverConnection {
  terminate(): void;
  onclose: ((err: unknown) => void) | null | undefined;
}

/** Ends a server session from another connection. @internal */
export interface BackendTerminator {
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
 * One reserved postgres.js connection. A connection in doubt (a failed BEGIN or ROLLBACK, a cancel that may hit
 * the next statement, a COMMIT with no answer) is ended by {@link destroy} without another statement on it: its
 * session may be in an aborted transaction, where the server refuses everything but ROLLBACK.
 * @internal
 */
export class PostgresConnection implements PooledConnection {
  readonly #reserved: postgres.ReservedSql;
  readonly #gate: Gate;
  readonly #terminator: BackendTerminator;
  readonly #inflight = new Set<Pending>();
  /** postgres.js's connection object, learned from the first statement that reports it. */
  #link: DriverConnection | undefined;
  #backend: { pid: number | null } | undefined;
  #closed = false;
  #wakeClosed: (() => void) | undefined;
  readonly #onClose = (): void => {
    this.#closed = true;
    this.#wakeClosed?.();
  };
  readonly #capture = (connection: DriverConnection): boolean => {
    if (this.#link === undefined) {
      this.#link = connection;
      connection.onclose = this.#onClose;
    }
    // postgres.js moves the connection to its "full" queue when the hook returns false.
    return true;
  };
  #released = false;

  constructor(reserved: postgres.ReservedSql, gate: Gate, terminator: BackendTerminator) {
    this.#reserved = reserved;
    this.#gate = gate;
    this.#terminator = terminator;
  }

  #options(prepare: boolean): postgres.UnsafeQueryOptions {
    // postgres.js calls `onexecute` with its connection object for statements sent without a describe round trip.
    if (this.#link) return { prepare };
    return { prepare, onexecute: this.#capture } as postgres.UnsafeQueryOptions;
  }

  #track(q: Pending): void {
    this.#inflight.add(q);
  }

  #settled(q: Pending): void {
    this.#inflight.delete(q);
    if (this.#backend === undefined && q.state) this.#backend = q.state;
  }

  async query(text: string, params: readonly unknown[], mode: ResultMode, prepare: boolean): Promise<QueryResult> {
    const q = this.#reserved.unsafe(text, params as Params, this.#options(prepare));
    this.#track(q);
    try {
      return await (mode === 'array' ? q.values() : q);
    } finally {
      this.#settled(q);
    }
  }

  async script(text: string): Promise<void> {
    const q = this.#reserved.unsafe(text, [], this.#options(false)).simple();
    this.#track(q);
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
    this.#unhook();
    this.#reserved.release();
    this.#gate.releaseExclusive();
  }

  /**
   * Ends the session without speaking SQL on it: the Terminate message and a closed socket, then — when the socket
   * does not close (a server that does not read it) — `pg_terminate_backend` from another connection. postgres.js
   * reopens the slot on demand; the connection is not put back in the idle list. The pool's lease is returned in
   * every case, after a bounded wait.
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
      let confirmed = this.#closed;
      if (!confirmed && this.#link) {
        // postgres.js flushes writes on the next turn; a Terminate before that would strand them on the reopened
        // connection (3.4.9 keeps the stale flush timer across the reconnect).
        await new Promise((resolve) => setImmediate(resolve));
        this.#link.terminate();
        confirmed = await settles(closed, LOCAL_CLOSE_MS);
      }
      if (!confirmed && pid !== undefined) {
        await this.#terminator.terminateBackend(pid);
        // Without the driver's connection object there is nothing to watch: the server's answer is the proof.
        confirmed = this.#link === undefined ? true : await settles(closed, CLOSE_MS);
      }
      if (!confirmed) log.warn({ pid }, 'a connection in doubt did not close in time; its slot reopens once it does');
      this.#terminator.onDestroyed(confirmed);
    } finally {
      this.#unhook();
      this.#gate.releaseExclusive();
    }
  }

  #pid(): number | undefined {
    const state = this.#backend ?? [...this.#inflight].find((q) => q.state)?.state ?? undefined;
    return state?.pid ?? undefined;
  }

  #unhook(): void {
    if (this.#link && this.#link.onclose === this.#onClose) this.#link.onclose = null;
    this.#wakeClosed = undefined;
  }
}

/**
 * Sends the cancel request for `q` and resolves once the server has taken it. postgres.js's `cancel()` returns
 * nothing; its canceller's promise settles when the server closes the cancel connection, after it signalled the
 * backend. Waiting for that matters: a request still on its way when the statement ends anyway (by its own
 * statement_timeout) would cancel whatever runs next on the session — the ROLLBACK, or the next transaction's BEGIN.
 * A signal that reaches an idle backend is dropped by the server.
 */
function requestCancel(q: Pending): Promise<void> {
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
