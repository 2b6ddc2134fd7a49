import type { Transaction, TransactionOptions } from '../transaction/types.js';
import { checkOptions } from '../config/index.js';
import {
  DATABASE_MANAGER_OPTIONS,
  DatabaseManager,
  type Database,
  type DatabaseInstances,
  type DatabaseManagerOptions,
} from './manager.js';
import type { DatabaseHealth } from '../connection/health.js';
import type { Pool } from '../connection/pool.js';

const defaultManager = new DatabaseManager();

/** The DatabaseManager behind `initDatabase()`, `getDatabase()` and `transaction()`. */
export function getDatabaseManager(): DatabaseManager {
  return defaultManager;
}

/**
 * Connects the default database: the primary from DATABASE_WRITE_URL / DATABASE_URL (embedded PGlite when
 * neither is set) and the replicas from DATABASE_READ_URL. Idempotent, also when called twice at once.
 *
 * @example
 * ```ts
 * import * as schema from './schema.js';
 * const { write, read } = await initDatabase({ schema });
 * const user = await read.query.users.findFirst({ with: { posts: true } });
 * ```
 */
export function initDatabase<TSchema extends Record<string, unknown> = Record<string, unknown>>(
  options?: DatabaseManagerOptions<TSchema>,
): Promise<DatabaseInstances<TSchema>> {
  return defaultManager.init(options) as unknown as Promise<DatabaseInstances<TSchema>>;
}

/**
 * The default database for writes (`'write'`, the default) or reads (`'read'`). Inside a transaction both run in
 * it. Throws DatabaseNotInitializedError before `initDatabase()` or after `closeDatabase()`.
 */
export function getDatabase<TSchema extends Record<string, unknown> = Record<string, unknown>>(
  role: 'write' | 'read' = 'write',
): Database<TSchema> {
  return defaultManager.getDatabase(role) as unknown as Database<TSchema>;
}

/**
 * Runs `fn` in a transaction on the default database. By default it joins the transaction already running in
 * this async context (`propagation: 'required'`); every query in `fn`, at any depth — through `tx`, a
 * repository or `getDatabase()` — runs in it. It commits when `fn` resolves and rolls back when `fn` throws or
 * the timeout passes; at the timeout the running statement is cancelled and the caller gets
 * TransactionTimeoutError at once. Database errors come out typed (§5); other errors pass through unchanged.
 *
 * @example
 * ```ts
 * await transaction(async (tx) => {
 *   const [user] = await tx.insert(users).values({ email }).returning();
 *   await tx.insert(posts).values({ authorId: user.id, title: 'Hello' });
 * }, { isolationLevel: 'serializable', retry: 3, timeout: 5000 });
 * ```
 */
export function transaction<T, TSchema extends Record<string, unknown> = Record<string, unknown>>(
  fn: (tx: Transaction<TSchema>) => Promise<T> | T,
  options?: TransactionOptions,
): Promise<T> {
  return defaultManager.transaction(fn as (tx: Transaction) => Promise<T>, options);
}

/** Closes the default database: stops the health check and ends every pool within a bounded wait. Safe twice. */
export function closeDatabase(): Promise<void> {
  return defaultManager.close();
}

/** Health of the default database's pools, as last probed. */
export function getDatabaseHealth(): DatabaseHealth {
  return defaultManager.health();
}

/** What `createDatabaseFromEnv()` returns. */
export interface CreatedDatabase<
  TSchema extends Record<string, unknown> = Record<string, unknown>,
> extends DatabaseInstances<TSchema> {
  /** The manager that owns the connections. */
  manager: DatabaseManager<TSchema>;
  /** The underlying pools (primary and replicas). */
  pools: { primary: Pool; replicas: readonly Pool[] };
  /** Runs `fn` in a transaction on this database. */
  transaction<T>(fn: (tx: Transaction<TSchema>) => Promise<T>): Promise<T>;
  /** Closes this database. */
  close(): Promise<void>;
}

/**
 * The lower-level factory: a new, independent database from options and the environment, not the default one.
 *
 * @example
 * ```ts
 * const reporting = await createDatabaseFromEnv({ url: process.env.REPORTING_URL });
 * await reporting.read.select().from(events);
 * await reporting.close();
 * ```
 */
export async function createDatabaseFromEnv<TSchema extends Record<string, unknown> = Record<string, unknown>>(
  options?: DatabaseManagerOptions<TSchema>,
): Promise<CreatedDatabase<TSchema>> {
  checkOptions(options, DATABASE_MANAGER_OPTIONS, 'createDatabaseFromEnv()');
  const manager = new DatabaseManager<TSchema>(options);
  const instances = await manager.init();
  return {
    ...instances,
    manager,
    pools: manager.pools,
    transaction: (fn) => manager.transaction(fn),
    close: () => manager.close(),
  };
}
