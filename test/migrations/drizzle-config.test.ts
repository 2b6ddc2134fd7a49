import { afterEach, describe, expect, it } from 'vitest';
import { getDrizzleConfig } from '@spfn/core/db';
import { ConfigError } from '@spfn/core/errors';

const VARS = ['DATABASE_URL', 'DATABASE_WRITE_URL', 'DB_MIGRATIONS_FOLDER', 'PGLITE_DATA_DIR'] as const;
const saved = Object.fromEntries(VARS.map((v) => [v, process.env[v]]));

afterEach(() => {
  for (const v of VARS) {
    if (saved[v] === undefined) delete process.env[v];
    else process.env[v] = saved[v];
  }
});

function unset(): void {
  for (const v of VARS) delete process.env[v];
}

describe('getDrizzleConfig(options?)', () => {
  it("needs no options: the seed's schema glob, ./server/db/migrations, postgresql, DATABASE_URL", () => {
    unset();
    process.env.DATABASE_URL = 'postgres://app:secret@db.example:5432/app';
    expect(getDrizzleConfig()).toEqual({
      dialect: 'postgresql',
      schema: './server/db/entities/**/*.ts',
      out: './server/db/migrations',
      dbCredentials: { url: 'postgres://app:secret@db.example:5432/app' },
      migrations: { table: '__drizzle_migrations', schema: 'drizzle' },
      strict: true,
    });
  });

  it('options win: schema, out, connectionString; DB_MIGRATIONS_FOLDER moves out everywhere', () => {
    unset();
    process.env.DATABASE_URL = 'postgres://app@env-host:5432/app';
    const config = getDrizzleConfig({
      schema: ['./src/a.ts', './src/b.ts'],
      out: './drizzle',
      connectionString: 'postgres://app@option-host:5432/app',
    });
    expect(config).toMatchObject({
      schema: ['./src/a.ts', './src/b.ts'],
      out: './drizzle',
      dbCredentials: { url: 'postgres://app@option-host:5432/app' },
    });
    process.env.DB_MIGRATIONS_FOLDER = './db/migrations';
    expect(getDrizzleConfig().out).toBe('./db/migrations');
  });

  it('without a URL, the embedded PGlite in PGLITE_DATA_DIR', () => {
    unset();
    process.env.PGLITE_DATA_DIR = './.data/test-pglite';
    expect(getDrizzleConfig()).toMatchObject({ driver: 'pglite', dbCredentials: { url: './.data/test-pglite' } });
  });

  it('refuses an empty schema and another dialect', () => {
    expect(() => getDrizzleConfig({ schema: [] })).toThrow(ConfigError);
    expect(() => getDrizzleConfig({ dialect: 'mysql' as 'postgresql' })).toThrow(ConfigError);
  });
});
