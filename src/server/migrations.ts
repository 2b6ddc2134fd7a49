import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { getDatabaseManager } from '../database/index.js';
import { logger } from '../logger/index.js';
import { getMigrationStatus, PendingMigrationsError, runMigrations } from '../migrations/index.js';
import type { MigrationCheck } from './readiness.js';

const log = logger.child('server');

/**
 * Start-up migrations: with AUTO_MIGRATE they run (under the advisory lock, so several instances starting together
 * apply each one once) before the port opens; without it, pending migrations refuse a production start and are
 * logged elsewhere. Returns the readiness check of pending migrations (`disabled` when there is no migrations
 * folder).
 * @internal
 */
export async function prepareMigrations(): Promise<() => Promise<MigrationCheck>> {
  const { migrations, production } = getDatabaseManager().config;
  const folder = resolve(migrations.folder);
  if (migrations.auto) {
    const result = await runMigrations({ migrationsFolder: folder });
    log.info(
      { folder, applied: result.applied.length, alreadyApplied: result.alreadyApplied },
      'migrations checked at start-up',
    );
  }
  if (!existsSync(join(folder, 'meta', '_journal.json'))) {
    return () => Promise.resolve({ status: 'disabled' });
  }
  if (!migrations.auto) {
    const { pending } = await getMigrationStatus({ migrationsFolder: folder });
    if (pending.length > 0) {
      const names = pending.map((m) => m.name);
      if (production) throw new PendingMigrationsError(names, folder);
      log.warn({ folder, pending: names }, 'pending migrations: run `spfn db migrate` or set AUTO_MIGRATE=true');
    }
  }
  return async () => {
    try {
      const { pending } = await getMigrationStatus({ migrationsFolder: folder });
      return pending.length === 0
        ? { status: 'up', pending: 0 }
        : { status: 'pending', pending: pending.length, names: pending.map((m) => m.name) };
    } catch (err) {
      return { status: 'unknown', error: err instanceof Error ? err.message : String(err) };
    }
  };
}
