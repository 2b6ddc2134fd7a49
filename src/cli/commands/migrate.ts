import { relative } from 'node:path';
import { runMigrations } from '../../migrations/index.js';
import { withDatabase } from '../database.js';
import { EXIT, ms, plural, type CliIo } from '../io.js';

/** `spfn db migrate`: applies pending migrations under the migration lock. @internal */
export async function migrateCommand(io: CliIo, options: { folder?: string | undefined }): Promise<number> {
  return withDatabase(async (manager) => {
    const folder = options.folder ?? manager.config.migrations.folder;
    io.out(`Migrating ${manager.pools.primary.displayUrl}`);
    io.out(`  folder: ${relative(io.cwd, folder) || '.'}`);
    const result = await runMigrations({
      manager,
      migrationsFolder: folder,
      onProgress: (p) => {
        if (p.type === 'lock:wait') io.out('  another instance is migrating; waiting for the lock…');
        else if (p.type === 'lock:acquired' && p.waitedMs >= 100) io.out(`  got the lock after ${ms(p.waitedMs)}`);
        else if (p.type === 'migration:start') io.out(`  → ${p.name}`);
        else if (p.type === 'migration:applied') io.out(`  ✓ ${p.name} (${ms(p.durationMs)})`);
      },
    });
    if (result.applied.length === 0) {
      io.out(`Already up to date: ${plural(result.alreadyApplied, 'migration')} applied.`);
    } else {
      io.out(
        `Applied ${plural(result.applied.length, 'migration')} in ${ms(result.durationMs)}` +
          (result.alreadyApplied > 0 ? ` (${result.alreadyApplied} were already applied).` : '.'),
      );
    }
    return EXIT.ok;
  });
}
