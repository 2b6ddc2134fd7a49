import { DatabaseError, type DatabaseErrorDetails } from '../errors/index.js';

/**
 * A migration could not be read or applied, or the migration lock could not be taken. `migration` names the
 * migration (its journal tag, e.g. `0003_add_posts`) when one is concerned; the database is left as it was before
 * that migration.
 */
export class MigrationError extends DatabaseError {
  override readonly code: string = 'MIGRATION_ERROR';
  /** The migration that failed, when one did. */
  readonly migration: string | undefined;
  constructor(message: string, details: DatabaseErrorDetails & { migration?: string | undefined } = {}) {
    super(message, details);
    this.migration = details.migration;
  }
}

/** Another instance held the migration lock longer than `lockTimeout`. */
export class MigrationLockTimeoutError extends MigrationError {
  override readonly code = 'MIGRATION_LOCK_TIMEOUT';
  override readonly retryable = true;
}

/**
 * The migrations folder holds migrations the database has not applied (`assertNoPendingMigrations()`).
 * `pending` lists their names.
 */
export class PendingMigrationsError extends DatabaseError {
  override readonly code = 'PENDING_MIGRATIONS';
  /** Names of the unapplied migrations, oldest first. */
  readonly pending: readonly string[];
  constructor(pending: readonly string[], folder: string) {
    super(
      `${pending.length} pending migration${pending.length === 1 ? '' : 's'} in ${folder}: ${pending.join(', ')}. ` +
        'Run `spfn db migrate` or set AUTO_MIGRATE=true.',
    );
    this.pending = Object.freeze([...pending]);
  }
}
