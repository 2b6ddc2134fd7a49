import { resolveDatabaseConfig, type DatabaseOptions } from '../config/index.js';
import { ConfigError } from '../errors/index.js';

/** Options of {@link getDrizzleConfig}. */
export interface DrizzleConfigOptions {
  /** Only `postgresql`, the default (detected: every database of this package is PostgreSQL). */
  dialect?: 'postgresql';
  /** Path(s) or glob(s) of the files that define your tables. Default `./server/db/entities/**\/*.ts`. */
  schema?: string | readonly string[];
  /** Where migrations are written and read. Default DB_MIGRATIONS_FOLDER, else `./server/db/migrations`. */
  out?: string;
  /** The database drizzle-kit connects to (push, migrate, studio). Default DATABASE_WRITE_URL / DATABASE_URL; unset: the embedded PGlite in PGLITE_DATA_DIR. */
  connectionString?: string;
  /** Other settings, resolved like `initDatabase()` does (options > environment > defaults). */
  database?: DatabaseOptions;
}

/** A drizzle-kit configuration (`drizzle.config.ts`'s default export). */
export type DrizzleKitConfig = {
  readonly dialect: 'postgresql';
  readonly schema: string | string[];
  readonly out: string;
  /** The same table `runMigrations()` records in. */
  readonly migrations: { readonly table: string; readonly schema: string };
  readonly strict: boolean;
} & (
  | { readonly dbCredentials: { readonly url: string } }
  | { readonly driver: 'pglite'; readonly dbCredentials: { readonly url: string } }
);

/** Where the seed keeps its table files. */
const DEFAULT_SCHEMA = './server/db/entities/**/*.ts';

/**
 * A drizzle-kit configuration built from the same resolved settings as the rest of the package, so the migrations
 * folder (DB_MIGRATIONS_FOLDER, default `./server/db/migrations`) and the database are the same everywhere. Keep the call in
 * `drizzle.config.ts`: the URL is read from the environment when drizzle-kit runs, so no password is written to a
 * file.
 *
 * @example
 * ```ts
 * // drizzle.config.ts — schema ./server/db/entities/**\/*.ts, out ./server/db/migrations, DATABASE_URL
 * import { getDrizzleConfig } from '@spfn/core/db';
 * export default getDrizzleConfig();
 * // or: getDrizzleConfig({ schema: './src/db/schema.ts', out: './drizzle' })
 * ```
 */
export function getDrizzleConfig(options: DrizzleConfigOptions = {}): DrizzleKitConfig {
  if (options.dialect !== undefined && options.dialect !== 'postgresql') {
    throw new ConfigError('dialect', `only "postgresql" is supported, got "${String(options.dialect)}"`);
  }
  const schema = options.schema ?? DEFAULT_SCHEMA;
  const schemas = typeof schema === 'string' ? [schema] : [...schema];
  if (schemas.length === 0 || schemas.some((s) => typeof s !== 'string' || s.trim().length === 0)) {
    throw new ConfigError('schema', 'expected the path of your schema file(s), e.g. "./src/db/schema.ts"');
  }
  const database: DatabaseOptions = { ...options.database };
  if (options.connectionString !== undefined) database.url = options.connectionString;
  if (options.out !== undefined) database.migrations = { ...database.migrations, folder: options.out };
  const config = resolveDatabaseConfig(database);
  const base = {
    dialect: 'postgresql' as const,
    schema: schemas.length === 1 ? schemas[0]! : schemas,
    out: config.migrations.folder,
    migrations: { table: '__drizzle_migrations', schema: 'drizzle' },
    strict: true,
  };
  if (config.url === undefined) {
    return { ...base, driver: 'pglite', dbCredentials: { url: config.pgliteDataDir } };
  }
  return { ...base, dbCredentials: { url: config.url } };
}
