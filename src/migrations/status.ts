import { toDatabaseError } from '../errors/index.js';
import { MigrationError, PendingMigrationsError } from './errors.js';
import { readMigrations } from './files.js';
import { pendingOf, readApplied, type AppliedMigration } from './journal-table.js';
import { resolveTarget, type MigrationTargetOptions } from './options.js';

/** A migration of the folder that the database has not applied. */
export interface PendingMigration {
  /** The journal tag, e.g. `0003_add_posts`. */
  readonly name: string;
  readonly hash: string;
  /** The journal timestamp (ms). */
  readonly createdAt: number;
}

/** Applied and pending migrations of one database and folder. */
export interface MigrationStatus {
  /** The folder that was read (absolute). */
  readonly folder: string;
  /** Recorded migrations, oldest first. */
  readonly applied: readonly AppliedMigration[];
  /** Migrations still to apply, in order. */
  readonly pending: readonly PendingMigration[];
}

/**
 * Compares the migrations folder with Drizzle's migrations table (read-only, no lock). A database that was never
 * migrated has every migration pending.
 *
 * @example
 * ```ts
 * const { applied, pending } = await getMigrationStatus();            // DB_MIGRATIONS_FOLDER, default ./server/db/migrations
 * if (pending.length) console.log('to apply:', pending.map((m) => m.name));
 * ```
 */
export async function getMigrationStatus(options: MigrationTargetOptions = {}): Promise<MigrationStatus> {
  const { manager, folder, table } = resolveTarget(options);
  const primary = manager.pools.primary;
  const files = readMigrations(folder);
  let applied: AppliedMigration[];
  try {
    applied = await readApplied(primary, table, files);
  } catch (err) {
    const mapped = toDatabaseError(err);
    throw new MigrationError(`Could not read the migrations table: ${mapped.message}`, {
      cause: mapped,
      sqlState: mapped.sqlState,
    });
  }
  const pending = pendingOf(files, applied).map(({ name, hash, createdAt }) =>
    Object.freeze({ name, hash, createdAt }),
  );
  return Object.freeze({ folder, applied: Object.freeze(applied), pending: Object.freeze(pending) });
}

/**
 * Throws {@link PendingMigrationsError} (listing them) when the database lacks migrations of the folder. For deploys
 * that do not migrate at start-up (AUTO_MIGRATE off): refuse to serve traffic on an old schema.
 *
 * @example
 * ```ts
 * await initDatabase();
 * await assertNoPendingMigrations(); // throws PendingMigrationsError: "2 pending migrations in …/drizzle: …"
 * ```
 */
export async function assertNoPendingMigrations(options: MigrationTargetOptions = {}): Promise<void> {
  const status = await getMigrationStatus(options);
  if (status.pending.length > 0) {
    throw new PendingMigrationsError(
      status.pending.map((m) => m.name),
      status.folder,
    );
  }
}
