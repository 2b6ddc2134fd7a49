import type { PooledConnection } from '../connection/index.js';
import { findServerError, toDatabaseError } from '../errors/index.js';
import { dbEvents } from '../events/index.js';
import { logger } from '../logger/index.js';
import { MigrationError, MigrationLockTimeoutError } from './errors.js';
import { readMigrations } from './files.js';
import { createTableSql, lockKey, pendingOf, qualifiedName, readApplied } from './journal-table.js';
import { resolveTarget, type MigrationTargetOptions } from './options.js';

const log = logger.child('migrations');

/** Progress of `runMigrations()`, for a CLI or a deploy log. */
export type MigrationProgress =
  | { type: 'lock:wait' }
  | { type: 'lock:acquired'; waitedMs: number }
  | { type: 'migration:start'; name: string }
  | { type: 'migration:applied'; name: string; durationMs: number };

/** Options of {@link runMigrations}. */
export interface RunMigrationsOptions extends MigrationTargetOptions {
  /** Milliseconds to wait for another instance's migration lock; 0 waits forever. Default 600000 (10 min). */
  lockTimeout?: number;
  /** Called at each step (waiting for the lock, each migration). A throwing callback is ignored. */
  onProgress?: (progress: MigrationProgress) => void;
}

/** What one `runMigrations()` call did. */
export interface MigrationRunResult {
  /** Migrations this call applied, in order. Empty when another instance had applied them all. */
  readonly applied: readonly { name: string; hash: string; durationMs: number }[];
  /** Migrations already recorded when this call got the lock. */
  readonly alreadyApplied: number;
  /** Milliseconds spent waiting for the lock. */
  readonly lockWaitMs: number;
  /** Milliseconds from the call to the release of the lock. */
  readonly durationMs: number;
}

/**
 * Applies the pending Drizzle migrations of `migrationsFolder`, exactly once even when several instances start
 * together: it takes a PostgreSQL advisory lock on one dedicated connection, reads the migrations table under the
 * lock, and applies each pending migration on that same connection in its own transaction, recording it in
 * Drizzle's table (`drizzle.__drizzle_migrations`) so drizzle-kit stays in step. Each one emits
 * `migration:applied`. If the process dies, the server rolls back the unfinished migration and frees the lock,
 * and the next instance carries on. Works on the embedded PGlite too.
 *
 * @example
 * ```ts
 * await initDatabase();
 * const { applied } = await runMigrations({ migrationsFolder: './server/db/migrations' });
 * console.log(`applied ${applied.length} migrations`);
 * ```
 */
export async function runMigrations(options: RunMigrationsOptions = {}): Promise<MigrationRunResult> {
  const started = performance.now();
  const { manager, folder, table } = resolveTarget(options);
  const lockTimeout = options.lockTimeout ?? 600_000;
  if (!Number.isInteger(lockTimeout) || lockTimeout < 0) {
    throw new MigrationError(`lockTimeout: expected milliseconds ≥ 0, got ${String(lockTimeout)}`);
  }
  const progress = (p: MigrationProgress): void => {
    try {
      options.onProgress?.(p);
    } catch {
      // A reporting callback must not break a migration.
    }
  };
  const primary = manager.pools.primary;
  const files = readMigrations(folder);
  const conn = await primary.reserve();
  const key = lockKey(table);
  let locked = false;
  let clean = true;
  try {
    if (primary.role !== 'embedded') {
      // If this process dies mid-migration, its backend notices within a second even inside a long statement,
      // rolls back and frees the lock, instead of running on until the statement ends (PostgreSQL ≥ 14).
      await conn.script('set client_connection_check_interval = 1000').catch(() => undefined);
    }
    const lockStarted = performance.now();
    locked = await tryLock(conn, key);
    if (!locked) {
      progress({ type: 'lock:wait' });
      log.info({ folder }, 'another instance is migrating; waiting for the migration lock');
      await lock(conn, key, lockTimeout);
      locked = true;
    }
    const lockWaitMs = performance.now() - lockStarted;
    progress({ type: 'lock:acquired', waitedMs: lockWaitMs });

    await conn.script(createTableSql(table));
    const applied = await readApplied(conn, table, files);
    const pending = pendingOf(files, applied);
    const done: { name: string; hash: string; durationMs: number }[] = [];
    for (const migration of pending) {
      progress({ type: 'migration:start', name: migration.name });
      const t0 = performance.now();
      await conn.script('begin');
      try {
        for (const statement of migration.statements) await conn.script(statement);
        await conn.query(
          `insert into ${qualifiedName(table)} ("hash", "created_at") values ($1, $2)`,
          [migration.hash, migration.createdAt],
          'array',
          false,
        );
        await conn.script('commit');
      } catch (err) {
        await conn.script('rollback').catch(() => {
          clean = false;
        });
        const mapped = toDatabaseError(err);
        throw new MigrationError(
          `Migration ${migration.name} failed and was rolled back: ${describe(err, mapped.message)}`,
          {
            cause: mapped,
            sqlState: mapped.sqlState,
            table: mapped.table,
            column: mapped.column,
            constraint: mapped.constraint,
            migration: migration.name,
          },
        );
      }
      const durationMs = performance.now() - t0;
      done.push({ name: migration.name, hash: migration.hash, durationMs });
      log.info({ migration: migration.name, durationMs: Math.round(durationMs) }, 'migration applied');
      dbEvents.emit('migration:applied', { name: migration.name, durationMs });
      progress({ type: 'migration:applied', name: migration.name, durationMs });
    }
    return Object.freeze({
      applied: Object.freeze(done),
      alreadyApplied: applied.length,
      lockWaitMs,
      durationMs: performance.now() - started,
    });
  } catch (err) {
    if (err instanceof MigrationError) throw err;
    clean = false;
    const mapped = toDatabaseError(err);
    throw new MigrationError(`Migrating ${folder} failed: ${mapped.message}`, {
      cause: mapped,
      sqlState: mapped.sqlState,
    });
  } finally {
    try {
      if (locked) await conn.query('select pg_advisory_unlock($1::bigint)', [key], 'array', false);
      if (primary.role !== 'embedded') await conn.script('reset client_connection_check_interval');
    } catch {
      clean = false;
    }
    // A connection in an unknown state is closed rather than returned (closing also frees the lock).
    if (clean) conn.release();
    else await conn.destroy();
  }
}

async function tryLock(conn: PooledConnection, key: string): Promise<boolean> {
  const rows = await conn.query('select pg_try_advisory_lock($1::bigint) as ok', [key], 'object', false);
  return (rows[0] as { ok: boolean } | undefined)?.ok === true;
}

async function lock(conn: PooledConnection, key: string, timeoutMs: number): Promise<void> {
  await conn.query("select set_config('lock_timeout', $1, false)", [String(timeoutMs)], 'array', false);
  try {
    await conn.query('select pg_advisory_lock($1::bigint)', [key], 'array', false);
  } catch (err) {
    if (findServerError(err)?.code === '55P03') {
      throw new MigrationLockTimeoutError(
        `Another instance held the migration lock for more than ${timeoutMs} ms (lockTimeout)`,
        { cause: toDatabaseError(err), sqlState: '55P03' },
      );
    }
    throw err;
  } finally {
    // If this fails the connection is broken; the caller's unlock fails too and closes it.
    await conn.script('reset lock_timeout').catch(() => undefined);
  }
}

/**
 * The server's own words for a failed migration statement ("syntax error at or near …"): the SQL is the
 * developer's migration file, not user data, and the generic mapped message would hide what to fix.
 */
function describe(err: unknown, fallback: string): string {
  const server: { code: string; message?: unknown } | undefined = findServerError(err);
  if (server && typeof server.message === 'string' && server.message.length > 0) {
    return `${server.message} (SQLSTATE ${server.code})`;
  }
  return fallback;
}
