import { relative } from 'node:path';
import { getMigrationStatus } from '../../migrations/index.js';
import { withDatabase } from '../database.js';
import { EXIT, plural, type CliIo } from '../io.js';

/** `spfn db status`: lists applied and pending migrations. @internal */
export async function statusCommand(
  io: CliIo,
  options: { folder?: string | undefined; check: boolean },
): Promise<number> {
  return withDatabase(async (manager) => {
    const folder = options.folder ?? manager.config.migrations.folder;
    const status = await getMigrationStatus({ manager, migrationsFolder: folder });
    io.out(`Database ${manager.pools.primary.displayUrl}`);
    io.out(`  folder: ${relative(io.cwd, status.folder) || '.'}`);
    for (const m of status.applied) {
      io.out(`  applied  ${m.name ?? `(not in folder, hash ${m.hash.slice(0, 12)})`}`);
    }
    for (const m of status.pending) io.out(`  pending  ${m.name}`);
    io.out(`${plural(status.applied.length, 'migration')} applied, ${status.pending.length} pending.`);
    if (status.pending.length > 0 && options.check) {
      io.err('Pending migrations: run `spfn db migrate`.');
      return EXIT.pending;
    }
    return EXIT.ok;
  });
}
