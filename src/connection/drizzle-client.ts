import type { QueryResult, ResultMode } from '../context/index.js';

/** Runs one statement somewhere: a pool, a replica set, or a transaction's connection. @internal */
export type Executor = (text: string, params: readonly unknown[], mode: ResultMode) => Promise<QueryResult>;

/** What Drizzle's transaction API calls on the client. @internal */
export interface TransactionHooks {
  begin?: (callback: (client: DrizzleClient) => Promise<unknown>) => Promise<unknown>;
  savepoint?: (callback: (client: DrizzleClient) => Promise<unknown>) => Promise<unknown>;
}

/**
 * The object Drizzle's postgres-js driver talks to in place of a postgres.js client. Every statement Drizzle
 * sends goes through one {@link Executor}, which is where routing (ambient transaction, primary, replicas),
 * admission (acquire timeout), monitoring and prepared statements are decided.
 * @internal
 */
export class DrizzleClient {
  /** Drizzle writes its type overrides here; the pools apply the same overrides themselves. */
  readonly options = { parsers: {} as Record<string, unknown>, serializers: {} as Record<string, unknown> };
  readonly #execute: Executor;
  readonly #hooks: TransactionHooks;

  constructor(execute: Executor, hooks: TransactionHooks = {}) {
    this.#execute = execute;
    this.#hooks = hooks;
  }

  /** Runs one statement: rows as objects (`'object'`) or as arrays (`'array'`). */
  run(text: string, params: readonly unknown[], mode: ResultMode): Promise<QueryResult> {
    return this.#execute(text, params, mode);
  }

  /** Drizzle calls `unsafe(sql, params, { prepare })` and then awaits it or calls `.values()`. */
  unsafe(text: string, params: readonly unknown[] = []): LazyQuery {
    return new LazyQuery(this.#execute, text, params);
  }

  begin(callback: (client: DrizzleClient) => Promise<unknown>): Promise<unknown> {
    if (!this.#hooks.begin) return Promise.reject(new Error('transactions cannot begin here'));
    return this.#hooks.begin(callback);
  }

  savepoint(callback: (client: DrizzleClient) => Promise<unknown>): Promise<unknown> {
    if (!this.#hooks.savepoint) return Promise.reject(new Error('savepoints need a transaction'));
    return this.#hooks.savepoint(callback);
  }
}

/** A statement that runs when awaited (rows as objects) or when `.values()` is called (rows as arrays). */
class LazyQuery implements PromiseLike<QueryResult> {
  readonly #execute: Executor;
  readonly #text: string;
  readonly #params: readonly unknown[];

  constructor(execute: Executor, text: string, params: readonly unknown[]) {
    this.#execute = execute;
    this.#text = text;
    this.#params = params;
  }

  values(): Promise<QueryResult> {
    return this.#execute(this.#text, this.#params, 'array');
  }

  then<A = QueryResult, B = never>(
    onFulfilled?: ((value: QueryResult) => A | PromiseLike<A>) | null,
    onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    return this.#execute(this.#text, this.#params, 'object').then(onFulfilled, onRejected);
  }
}
