import { resolve } from 'node:path';
import { checkOptions, is, MAX_MILLISECONDS, type Shape, type ShapeOf } from '../config/index.js';
import { getDatabaseManager, type DatabaseManager } from '../database/index.js';
import { ConfigError } from '../errors/index.js';
import type { MigrationTable } from './journal-table.js';
import type { RunMigrationsOptions } from './runner.js';

/** What every migration function accepts. */
export interface MigrationTargetOptions {
  /** The drizzle-kit output folder. Default: DB_MIGRATIONS_FOLDER of the manager's config (`./server/db/migrations`). */
  migrationsFolder?: string;
  /** The database to migrate. Default: the default instance (`initDatabase()`); it must be initialised. */
  manager?: Pick<DatabaseManager, 'pools' | 'config'>;
  /** Schema of the migrations table. Default `drizzle` (Drizzle's). */
  migrationsSchema?: string;
  /** Name of the migrations table. Default `__drizzle_migrations` (Drizzle's). */
  migrationsTable?: string;
}

/** `MigrationTargetOptions`, for the options validator. @internal */
export const MIGRATION_TARGET_OPTIONS = {
  migrationsFolder: is.string,
  manager: (value, key, fail) => {
    if (typeof value !== 'object' || value === null || !('pools' in value) || !('config' in value)) {
      fail(key, 'expected a DatabaseManager');
    }
  },
  migrationsSchema: is.string,
  migrationsTable: is.string,
} satisfies ShapeOf<MigrationTargetOptions>;

/** `RunMigrationsOptions`. @internal */
export const RUN_MIGRATIONS_OPTIONS = {
  ...MIGRATION_TARGET_OPTIONS,
  lockTimeout: is.integer(0, MAX_MILLISECONDS, 'milliseconds, 0 waits forever'),
  onProgress: is.function,
} satisfies ShapeOf<RunMigrationsOptions>;

/** @internal */
export interface MigrationTarget {
  manager: Pick<DatabaseManager, 'pools' | 'config'>;
  folder: string;
  table: MigrationTable;
}

/** @internal */
export function resolveTarget(
  options: MigrationTargetOptions,
  where: string,
  shape: Shape = MIGRATION_TARGET_OPTIONS,
): MigrationTarget {
  checkOptions(options, shape, where);
  const manager = options.manager ?? getDatabaseManager();
  const folder = resolve(options.migrationsFolder ?? manager.config.migrations.folder);
  const table = {
    schema: identifier('migrationsSchema', options.migrationsSchema ?? 'drizzle'),
    table: identifier('migrationsTable', options.migrationsTable ?? '__drizzle_migrations'),
  };
  return { manager, folder, table };
}

function identifier(option: string, value: string): string {
  if (value.length === 0 || value.length > 63) {
    throw new ConfigError(option, 'expected a PostgreSQL identifier of 1–63 characters');
  }
  return value;
}
