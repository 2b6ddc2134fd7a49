import type { QueryResult, ResultMode } from '../context/index.js';

/**
 * Runs one statement somewhere: a pool, a replica set, or a transaction's connection. `named` says the statement
 * may run as a named prepared statement, which the server may execute with a generic plan after five executions
 * (statements built once by key: `.prepare()`d ones); otherwise it runs as the unnamed statement, planned for its
 * values each time (ADR 0008). With `finish`, the promise gives what `finish` makes of the rows and a failure rejects
 * with its DatabaseError, both in the reaction that times the statement: the caller needs no reaction (and promise)
 * of its own, and every promise also costs the AsyncLocalStorage hooks on Node 20.
 * @internal
 */
export type Executor = (
  text: string,
  params: readonly unknown[],
  mode: ResultMode,
  named?: boolean,
  finish?: RowsFinish,
) => Promise<QueryResult>;

/** What a caller of an {@link Executor} makes of a statement's rows (Drizzle's row mapping). @internal */
export type RowsFinish = (rows: QueryResult) => unknown;

/** What Drizzle's transaction API calls on the client. @internal */
export interface TransactionHooks {
  begin?: (callback: (client: DrizzleClient) => Promise<unknown>) => Promise<unknown>;
  /** `client`: the client of the handle the savepoint is opened on. */
  savepoint?: (callback: (client: DrizzleClient) => Promise<unknown>, client: DrizzleClient) => Promise<unknown>;
}

/**
 * The object Drizzle's postgres-js driver talks to in place of a postgres.js client. Every statement Drizzle
 * sends goes through one {@link Executor}, which is where routing (ambient transaction, primary, replicas),
 * admission (acquire timeout), monitoring and prepared statements are decided.
 * @internal
 */
export class DrizzleClient {
  /** Drizzle writes its type overrides here; the pools apply the same overrides themselves. */
  readonly options: { readonly parsers: Record<string, unknown>; readonly serializers: Record<string, unknown> };
  readonly #execute: Executor;
  readonly #hooks: TransactionHooks;

  /** `options`: given (and shared) by clients Drizzle never writes to, the transaction handles' ones. */
  constructor(execute: Executor, hooks: TransactionHooks = {}, options?: DrizzleClient['options']) {
    this.#execute = execute;
    this.#hooks = hooks;
    this.options = options ?? { parsers: {}, serializers: {} };
  }

  /**
   * Runs one statement: rows as objects (`'object'`) or as arrays (`'array'`); `named` and `finish` as in
   * {@link Executor}.
   */
  run<T = QueryResult>(
    text: string,
    params: readonly unknown[],
    mode: ResultMode,
    named: boolean,
    finish?: (rows: QueryResult) => T,
  ): Promise<T> {
    return this.#execute(text, params, mode, named, finish) as Promise<T>;
  }

  /**
   * Drizzle calls `unsafe(sql, params, { prepare })` and then awaits it or calls `.values()`; `prepare` is true
   * only for a query Drizzle prepared by name.
   */
  unsafe(text: string, params: readonly unknown[] = [], options?: { prepare?: boolean }): LazyQuery {
    return new LazyQuery(this.#execute, text, params, options?.prepare === true);
  }

  begin(callback: (client: DrizzleClient) => Promise<unknown>): Promise<unknown> {
    if (!this.#hooks.begin) return Promise.reject(new Error('transactions cannot begin here'));
    return this.#hooks.begin(callback);
  }

  savepoint(callback: (client: DrizzleClient) => Promise<unknown>): Promise<unknown> {
    if (!this.#hooks.savepoint) return Promise.reject(new Error('savepoints need a transaction'));
    return this.#hooks.savepoint(callback, this);
  }
}

/** A statement that runs when awaited (rows as objects) or when `.values()` is called (rows as arrays). */
class LazyQuery implements PromiseLike<QueryResult> {
  readonly #execute: Executor;
  readonly #text: string;
  readonly #params: readonly unknown[];
  readonly #named: boolean;

  constructor(execute: Executor, text: string, params: readonly unknown[], named: boolean) {
    this.#execute = execute;
    this.#text = text;
    this.#params = params;
    this.#named = named;
  }

  values(): Promise<QueryResult> {
    return this.#execute(this.#text, this.#params, 'array', this.#named);
  }

  then<A = QueryResult, B = never>(
    onFulfilled?: ((value: QueryResult) => A | PromiseLike<A>) | null,
    onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    return this.#execute(this.#text, this.#params, 'object', this.#named).then(onFulfilled, onRejected);
  }
}
