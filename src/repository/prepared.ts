import { sql, type Placeholder, type SQL } from 'drizzle-orm';
import { checkOptions, is, type Shape } from '../config/index.js';
import { mayWrite } from '../connection/consistency.js';
import { planEachExecution } from '../connection/drizzle-session.js';
import { getDatabaseManager } from '../database/default.js';
import type { Database, DatabaseManager } from '../database/index.js';
import { InvalidQueryError, toDatabaseError } from '../errors/index.js';

/** A Drizzle query that can be prepared: every select, insert, update, delete and relational query. */
export interface PreparableQuery {
  prepare(name: string): { execute(values?: Record<string, unknown>): Promise<unknown> };
  toSQL(): { sql: string };
}

/**
 * Makes a named placeholder for a value given at each execution: `eq(users.id, p('id'))`. It is a Drizzle
 * placeholder; its type also says SQL so that Drizzle's types accept it in `.set({ … })` as they do in
 * `.values()`, `.where()` and `.limit()` (at run time Drizzle binds it with the column's encoder in all four).
 */
export type PlaceholderFactory = <TName extends string>(name: TName) => Placeholder<TName> & SQL;

/** What one execution of the prepared query `TQuery` resolves to (the rows, as Drizzle types them). */
export type PreparedResult<TQuery extends PreparableQuery> = Awaited<
  ReturnType<ReturnType<TQuery['prepare']>['execute']>
>;

/** Options of {@link prepare}. */
export interface PrepareOptions {
  /**
   * Where the query runs outside a transaction: `'read'` (the replicas, under the read-your-writes rule) or
   * `'write'` (the primary). Default: decided from the SQL once, `'read'` for a plain SELECT (without FOR UPDATE
   * / FOR SHARE), `'write'` for anything else. Inside a transaction the query always runs in the transaction.
   */
  role?: 'read' | 'write';
  /**
   * How the server plans the query. `'auto'` (default): a named prepared statement, planned for its values for
   * the first five executions on a connection, after which PostgreSQL may keep one generic plan — right for
   * lookups by key, where every value gets the same plan. `'custom'`: planned for its values at every execution
   * (the unnamed statement; with postgres.js one more round trip) — for filters whose best plan depends on the
   * value, e.g. `status = p('status')` on a column where one status is rare and another covers most rows.
   */
  plan?: 'auto' | 'custom';
  /** The database to run on. Default: the default one (`initDatabase()`). */
  manager?: DatabaseManager;
}

/** A query built and prepared once, executed many times with different values. */
export interface PreparedQuery<TResult> {
  /**
   * Runs the query with a value for every placeholder. Inside a transaction (`transaction()`,
   * `Transactional()`) it runs on the transaction's connection; outside one, reads go to the replicas and
   * writes to the primary. A missing or unknown placeholder name is an InvalidQueryError.
   */
  execute(values?: Record<string, unknown>): Promise<TResult>;
  /** The placeholder names the query takes. */
  readonly placeholders: readonly string[];
}

const LOCKING = /\bfor\s+(?:update|share|no\s+key\s+update|key\s+share)\b/i;
/** The options of prepare(), for the shared options check. */
const PREPARE_OPTIONS: Shape = {
  role: is.oneOf(['read', 'write']),
  plan: is.oneOf(['auto', 'custom']),
  manager: is.any,
};
let counter = 0;

/**
 * Builds a Drizzle query once, with named placeholders for its values, and returns a prepared query that joins
 * the ambient transaction and the replica routing at each execution — what Drizzle's own `.prepare()` cannot
 * do, since its prepared statement stays bound to the database it was built on. The query is built on the
 * first execution (so `prepare()` may run at module load, before `initDatabase()`) and again after the database
 * is re-initialised; every execution after that skips Drizzle's query builder.
 *
 * @example
 * ```ts
 * const userById = prepare((db, p) => db.select().from(users).where(eq(users.id, p('id'))));
 * const renameUser = prepare((db, p) =>
 *   db.update(users).set({ name: p('name') }).where(eq(users.id, p('id'))).returning(),
 * );
 *
 * const [user] = await userById.execute({ id: 1 }); // a replica, outside a transaction
 * await transaction(async () => {
 *   await renameUser.execute({ id: 1, name: 'Grace' }); // in the transaction
 *   const [again] = await userById.execute({ id: 1 }); // in the transaction too: sees the new name
 * });
 * ```
 */
export function prepare<TQuery extends PreparableQuery>(
  build: (db: Database, p: PlaceholderFactory) => TQuery,
  options: PrepareOptions = {},
): PreparedQuery<PreparedResult<TQuery>> {
  if (typeof build !== 'function') throw new InvalidQueryError('prepare() takes a function that builds the query');
  checkOptions(options, PREPARE_OPTIONS, 'prepare()', 'query');
  return new PreparedStatement<PreparedResult<TQuery>>(
    build,
    options.role,
    options.plan === 'custom',
    options.manager,
    `spfn_prepared_${++counter}`,
  );
}

interface Bound {
  execute(values?: Record<string, unknown>): Promise<unknown>;
}

class PreparedStatement<TResult> implements PreparedQuery<TResult> {
  readonly #build: (db: Database, p: PlaceholderFactory) => PreparableQuery;
  readonly #role: 'read' | 'write' | undefined;
  readonly #customPlan: boolean;
  readonly #manager: DatabaseManager | undefined;
  readonly #name: string;
  /** Per write instance of the database, so a re-initialised database gets the query built again. */
  readonly #bound = new WeakMap<Database, Bound>();
  #names: string[] | undefined;

  constructor(
    build: (db: Database, p: PlaceholderFactory) => PreparableQuery,
    role: 'read' | 'write' | undefined,
    customPlan: boolean,
    manager: DatabaseManager | undefined,
    name: string,
  ) {
    this.#build = build;
    this.#role = role;
    this.#customPlan = customPlan;
    this.#manager = manager;
    this.#name = name;
  }

  get placeholders(): readonly string[] {
    if (!this.#names) this.#bind();
    return this.#names!;
  }

  execute(values: Record<string, unknown> = {}): Promise<TResult> {
    let bound: Bound;
    try {
      bound = this.#bind();
      this.#check(values);
    } catch (err) {
      return Promise.reject(toDatabaseError(err));
    }
    return bound.execute(values) as Promise<TResult>;
  }

  #bind(): Bound {
    const manager = this.#manager ?? getDatabaseManager();
    const write = manager.getDatabase('write') as Database;
    const cached = this.#bound.get(write);
    if (cached) return cached;
    const read = manager.getDatabase('read') as Database;
    let query = this.#make(this.#role === 'write' ? write : read);
    if (this.#role === undefined && read !== write) {
      const text = query.toSQL().sql;
      if (mayWrite(text) || LOCKING.test(text)) query = this.#make(write);
    }
    const bound = query.prepare(this.#name);
    if (this.#customPlan) planEachExecution(bound);
    this.#bound.set(write, bound);
    return bound;
  }

  #make(db: Database): PreparableQuery {
    const names: string[] = [];
    const p: PlaceholderFactory = (name) => {
      if (typeof name !== 'string' || name.length === 0) {
        throw new InvalidQueryError('A placeholder name must be a non-empty string');
      }
      if (!names.includes(name)) names.push(name);
      return sql.placeholder(name) as Placeholder<typeof name> & SQL;
    };
    const query = this.#build(db, p);
    if (!query || typeof query.prepare !== 'function' || typeof query.toSQL !== 'function') {
      throw new InvalidQueryError('The function given to prepare() must return a Drizzle query');
    }
    this.#names = names;
    return query;
  }

  #check(values: Record<string, unknown>): void {
    if (typeof values !== 'object' || values === null) {
      throw new InvalidQueryError('execute() takes an object of placeholder values');
    }
    const names = this.#names!;
    let given = 0;
    for (const key in values) {
      if (!names.includes(key)) {
        throw new InvalidQueryError(
          `Unknown placeholder ${JSON.stringify(key)}; this query takes ${names.length === 0 ? 'none' : names.join(', ')}`,
        );
      }
      given++;
    }
    if (given !== names.length) {
      const absent = names.filter((n) => !Object.prototype.hasOwnProperty.call(values, n));
      throw new InvalidQueryError(`No value for placeholder ${absent.map((n) => JSON.stringify(n)).join(', ')}`);
    }
  }
}
