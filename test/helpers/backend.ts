import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql as drizzleSql } from 'drizzle-orm';
import { it } from 'vitest';
import { getDatabase, getDatabaseManager, runOutsideTransaction, type DatabaseOptions } from '@spfn/core/db';
import { createTestDatabase, expectNoLeaksThenDrop, type TestDatabase } from './pg.js';

/**
 * The backend the integration suites of the matrix run on: the shared PostgreSQL server (default) or the embedded
 * PGlite (`SPFN_TEST_BACKEND=pglite`, set by the `pglite` vitest project). See docs/adr/1100-backend-matrix.md.
 */
export const BACKEND: 'postgres' | 'pglite' = process.env.SPFN_TEST_BACKEND === 'pglite' ? 'pglite' : 'postgres';
export const onPglite = BACKEND === 'pglite';

/**
 * `it`, skipped on PGlite with the reason in the test's name, for what the embedded database truly cannot do
 * (a second session, cancel of a running statement, pg_terminate_backend…). docs/07-troubleshooting.md lists them.
 */
export function itPostgresOnly(
  reason: string,
): (name: string, fn: () => Promise<void> | void, timeout?: number) => void {
  return (name, fn, timeout) =>
    onPglite ? it.skip(`${name} [not on PGlite: ${reason}]`, fn, timeout) : it(name, fn, timeout);
}

type Row = Record<string, unknown>;

/** One test file's database on the chosen backend. */
export interface TestBackend {
  readonly kind: 'postgres' | 'pglite';
  /** What to pass to initDatabase() (merge your own options in). */
  readonly options: DatabaseOptions;
  /** The PostgreSQL test database, on the server backend only (admin client, leak probe…). */
  readonly server: TestDatabase | undefined;
  /**
   * Runs SQL from outside the code under test: an admin connection on the server; on PGlite the one embedded
   * session through the initialised database, outside any ambient transaction (it waits for a running one).
   * Several statements may be given when there are no parameters.
   */
  exec<T extends Row = Row>(text: string, params?: readonly unknown[]): Promise<T[]>;
  /** The end of the file: on the server the leak probe, then the drop; nothing to do in memory. */
  finish(): Promise<void>;
}

/**
 * Opens this file's database: a fresh database on the shared server, or an embedded one — in memory, or with
 * `persistent` in a temporary directory (for files that close and re-open the database), removed by `finish()`.
 */
export async function openTestBackend(label: string, options: { persistent?: boolean } = {}): Promise<TestBackend> {
  if (onPglite) {
    const dir = options.persistent ? mkdtempSync(join(tmpdir(), `spfn-${label}-`)) : undefined;
    return {
      kind: 'pglite',
      options: { pgliteDataDir: dir ?? 'memory://', healthCheck: { enabled: false } },
      server: undefined,
      async exec<T extends Row>(text: string, params: readonly unknown[] = []): Promise<T[]> {
        if (params.length === 0 && text.includes(';')) {
          // Several statements: the simple protocol on the embedded session, as a migration would.
          const session = await getDatabaseManager().pools.primary.reserve();
          try {
            await session.script(text);
          } finally {
            session.release();
          }
          return [];
        }
        return runOutsideTransaction(async () => {
          const query = params.length === 0 ? drizzleSql.raw(text) : bound(text, params);
          return [...((await getDatabase().execute<T>(query)) as unknown as T[])];
        });
      },
      finish: async () => {
        if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const t = await createTestDatabase(label);
  return {
    kind: 'postgres',
    options: { url: t.url, applicationName: t.appName, healthCheck: { enabled: false } },
    server: t,
    async exec<T extends Row>(text: string, params: readonly unknown[] = []): Promise<T[]> {
      const rows = params.length === 0 ? await t.sql.unsafe(text) : await t.sql.unsafe(text, params as never[]);
      return [...rows] as unknown as T[];
    },
    finish: () => expectNoLeaksThenDrop(t),
  };
}

/** `$1`-style text with values, as one Drizzle SQL object (values stay bound parameters). */
function bound(text: string, params: readonly unknown[]): ReturnType<typeof drizzleSql.raw> {
  const parts = text.split(/\$(\d+)/);
  const chunks = [drizzleSql.raw(parts[0] ?? '')];
  for (let i = 1; i < parts.length; i += 2) {
    chunks.push(drizzleSql`${params[Number(parts[i]) - 1]}`, drizzleSql.raw(parts[i + 1] ?? ''));
  }
  return drizzleSql.join(chunks);
}
