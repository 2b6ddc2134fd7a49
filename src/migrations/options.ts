import { resolve } from 'node:path';
import { getDatabaseManager, type DatabaseManager } from '../database/index.js';
import { ConfigError } from '../errors/index.js';
import type { MigrationTable } from './journal-table.js';

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

/** @internal */
export interface MigrationTarget {
  manager: Pick<DatabaseManager, 'pools' | 'config'>;
  folder: string;
  table: MigrationTable;
}

/** @internal */
export function resolveTarget(options: MigrationTargetOptions): MigrationTarget {
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
