export { MigrationError, MigrationLockTimeoutError, PendingMigrationsError } from './errors.js';
export { getDrizzleConfig, type DrizzleConfigOptions, type DrizzleKitConfig } from './drizzle-config.js';
export type { AppliedMigration } from './journal-table.js';
export type { MigrationTargetOptions } from './options.js';
export { runMigrations, type MigrationProgress, type MigrationRunResult, type RunMigrationsOptions } from './runner.js';
export {
  assertNoPendingMigrations,
  getMigrationStatus,
  type MigrationStatus,
  type PendingMigration,
} from './status.js';
