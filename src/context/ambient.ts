import { AsyncLocalStorage, AsyncResource } from 'node:async_hooks';

/** What a query needs to know about the ambient transaction to join it. @internal */
export interface AmbientTransaction {
  readonly txId: string;
  /**
   * Runs one statement on the transaction's connection (fails once the transaction has ended or timed out);
   * `named` lets it run as a named prepared statement (see the connection Executor).
   */
  execute(text: string, params: readonly unknown[], mode: ResultMode, named?: boolean): Promise<QueryResult>;
  /**
   * Runs a read the layer built (repository lookups by id or filter object); it may run outside the transaction
   * while the transaction has sent nothing (docs/adr/0009).
   */
  executeRead(text: string, params: readonly unknown[], mode: ResultMode, named?: boolean): Promise<QueryResult>;
}

/**
 * Where the repository counts statement shapes for its N+1 warning: on the unit of work itself (a transaction's
 * scope, a read session, the ambient store), not in a WeakMap keyed by it — an ephemeron per transaction costs the
 * garbage collector more than the count. @internal
 */
export interface ShapeCounts {
  /** The count of every shape once a second one ran; until then the first is counted in the two fields below. */
  shapeCounts?: Map<string, number> | undefined;
  firstShape?: string | undefined;
  firstShapeCount?: number | undefined;
}

/** Read-your-writes state of one request, job or script. @internal */
export interface ReadSession extends ShapeCounts {
  /** Highest primary WAL position this session wrote at, as a PostgreSQL LSN string. */
  lsn: string | undefined;
  /** performance.now() of the last write, for the sticky window. */
  lastWriteAt: number;
}

/** @internal */
export interface AmbientStore extends ShapeCounts {
  readonly tx: AmbientTransaction | undefined;
  readonly session: ReadSession | undefined;
  /** The HTTP route being served, for logs. */
  readonly route?: string | undefined;
}

/** Rows as arrays (Drizzle's select path) or as objects (execute, returning). @internal */
export type ResultMode = 'array' | 'object';

/**
 * A query result in postgres.js form: an array of rows with the command tag and the affected row count.
 * @internal
 */
export type QueryResult = unknown[] & { count?: number | null; command?: string };

/**
 * The one AsyncLocalStorage of the package. It carries the ambient transaction and the read-your-writes session.
 * @internal
 */
export const ambient = new AsyncLocalStorage<AmbientStore>();

/**
 * The async context that connections are opened in: made when the package loads, outside any request. A socket
 * keeps the async context it was opened in for as long as it lives and runs its callbacks in it; opened inside a
 * transaction, it would carry that transaction's store (and through it the request) for the whole life of the
 * connection.
 */
const DETACHED = new AsyncResource('spfn.detached', { requireManualDestroy: true });

/**
 * Runs `fn` outside every async context of the caller: no ambient transaction, and for other AsyncLocalStorage
 * users the context of the package's loading. Used to start statements that may open a connection (docs/adr/0010).
 * @internal
 */
export function detached<T>(fn: () => T): T {
  return DETACHED.runInAsyncScope(() => outside(fn));
}

/**
 * Runs `fn` with no ambient store. Not `ambient.exit()`: on Node 20 that disables and re-enables the storage, which
 * turns the promise hooks off and on again.
 */
function outside<T>(fn: () => T): T {
  return ambient.run(undefined as unknown as AmbientStore, fn);
}
