import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { readMigrationFiles } from 'drizzle-orm/migrator';
import { MigrationError } from './errors.js';

/** One migration of a drizzle-kit folder. @internal */
export interface MigrationFile {
  /** The journal tag, e.g. `0000_init`. */
  readonly name: string;
  /** sha256 of the SQL file, as Drizzle records it. */
  readonly hash: string;
  /** The journal's `when` (ms): Drizzle's `created_at` and the order of application. */
  readonly createdAt: number;
  /** The file split at `--> statement-breakpoint`. */
  readonly statements: readonly string[];
}

interface Journal {
  entries: { tag: string; when: number }[];
}

/**
 * Reads a drizzle-kit migrations folder (`meta/_journal.json` plus one SQL file per entry) with Drizzle's own
 * reader, so hashes and order are exactly what drizzle-kit and Drizzle's migrator use.
 * @internal
 */
export function readMigrations(folder: string): MigrationFile[] {
  const absolute = resolve(folder);
  const journalPath = resolve(absolute, 'meta', '_journal.json');
  if (!existsSync(journalPath)) {
    throw new MigrationError(
      `No migrations journal at ${journalPath}: run \`spfn db generate\` first, or set DB_MIGRATIONS_FOLDER`,
    );
  }
  let journal: Journal;
  try {
    journal = JSON.parse(readFileSync(journalPath, 'utf8')) as Journal;
    if (!Array.isArray(journal.entries)) throw new Error('entries is not an array');
  } catch (err) {
    throw new MigrationError(`Unreadable migrations journal ${journalPath}`, { cause: err });
  }
  let metas: ReturnType<typeof readMigrationFiles>;
  try {
    metas = readMigrationFiles({ migrationsFolder: absolute });
  } catch (err) {
    throw new MigrationError(`Could not read the migrations in ${absolute}: ${(err as Error).message}`, { cause: err });
  }
  return metas.map((meta, i) => ({
    name: journal.entries[i]?.tag ?? String(meta.folderMillis),
    hash: meta.hash,
    createdAt: meta.folderMillis,
    statements: meta.sql.filter((s) => s.trim().length > 0),
  }));
}
