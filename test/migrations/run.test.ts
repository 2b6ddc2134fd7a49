import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/postgres-js';
import { migrate } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  assertNoPendingMigrations,
  DatabaseManager,
  dbEvents,
  getMigrationStatus,
  MigrationError,
  MigrationLockTimeoutError,
  PendingMigrationsError,
  runMigrations,
  type MigrationProgress,
} from '@spfn/core/db';
import { DatabaseNotInitializedError } from '@spfn/core/errors';
import { itPostgresOnly, openTestBackend, type TestBackend } from '../helpers/backend.js';
import { writeMigrations } from './folder.js';

let b: TestBackend;
let manager: DatabaseManager;
const dirs: string[] = [];

function tempFolder(): string {
  const dir = mkdtempSync(join(tmpdir(), 'spfn-mig-'));
  dirs.push(dir);
  return dir;
}

function open(): DatabaseManager {
  return new DatabaseManager(b.options);
}

/** SQL from outside the migrator: the admin connection, or on PGlite its one session through `manager`. */
async function query<T extends Record<string, unknown>>(text: string): Promise<T[]> {
  if (b.kind === 'postgres') return b.exec<T>(text);
  return [...(await manager.getDatabase().execute(sql.raw(text)))] as T[];
}

async function recorded(schema = 'drizzle', table = '__drizzle_migrations'): Promise<string[]> {
  const rows = await query<{ hash: string }>(`select hash from "${schema}"."${table}" order by id`);
  return rows.map((r) => r.hash);
}

beforeAll(async () => {
  b = await openTestBackend('migrations');
  manager = open();
  await manager.init();
});

afterAll(async () => {
  await manager?.close();
  await b.finish();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('runMigrations / getMigrationStatus', () => {
  it('detects pending migrations before, applies them once, and none are pending after', async () => {
    const folder = tempFolder();
    writeMigrations(folder, [
      { tag: '0000_accounts', sql: 'create table accounts (id bigint primary key, name text not null);' },
      {
        tag: '0001_ledger',
        sql: 'create table ledger (id bigint primary key, account_id bigint references accounts(id));\n--> statement-breakpoint\ncreate index ledger_account on ledger (account_id);',
      },
    ]);
    const before = await getMigrationStatus({ manager, migrationsFolder: folder });
    expect(before.applied).toEqual([]);
    expect(before.pending.map((m) => m.name)).toEqual(['0000_accounts', '0001_ledger']);
    const pendingErr = await assertNoPendingMigrations({ manager, migrationsFolder: folder }).catch((e: unknown) => e);
    expect(pendingErr).toBeInstanceOf(PendingMigrationsError);
    expect(pendingErr).toMatchObject({ code: 'PENDING_MIGRATIONS', pending: ['0000_accounts', '0001_ledger'] });

    const events: string[] = [];
    const progress: MigrationProgress['type'][] = [];
    const off = dbEvents.on('migration:applied', ({ name, durationMs }) => {
      expect(durationMs).toBeGreaterThanOrEqual(0);
      events.push(name);
    });
    try {
      const result = await runMigrations({
        manager,
        migrationsFolder: folder,
        onProgress: (p) => progress.push(p.type),
      });
      expect(result.applied.map((m) => m.name)).toEqual(['0000_accounts', '0001_ledger']);
      expect(result.alreadyApplied).toBe(0);
    } finally {
      off();
    }
    expect(events).toEqual(['0000_accounts', '0001_ledger']);
    expect(progress).toEqual([
      'lock:acquired',
      'migration:start',
      'migration:applied',
      'migration:start',
      'migration:applied',
    ]);

    const after = await getMigrationStatus({ manager, migrationsFolder: folder });
    expect(after.pending).toEqual([]);
    expect(after.applied.map((m) => m.name)).toEqual(['0000_accounts', '0001_ledger']);
    await expect(assertNoPendingMigrations({ manager, migrationsFolder: folder })).resolves.toBeUndefined();
    const [idx] = await query<{ n: number }>(
      `select count(*)::int as n from pg_indexes where indexname = 'ledger_account'`,
    );
    expect(idx!.n).toBe(1);

    const again = await runMigrations({ manager, migrationsFolder: folder });
    expect(again.applied).toEqual([]);
    expect(again.alreadyApplied).toBe(2);
    expect(await recorded()).toHaveLength(2);

    writeMigrations(folder, [{ tag: '0002_more', sql: 'alter table accounts add column email text;' }]);
    const later = await getMigrationStatus({ manager, migrationsFolder: folder });
    expect(later.pending.map((m) => m.name)).toEqual(['0002_more']);
    const third = await runMigrations({ manager, migrationsFolder: folder });
    expect(third.applied.map((m) => m.name)).toEqual(['0002_more']);
    expect(await recorded()).toHaveLength(3);

    // Drizzle's own migrator reads the same table and finds nothing to do (a second client: server only).
    if (b.kind === 'postgres') {
      const client = postgres(b.server!.url, { max: 1, onnotice: () => undefined });
      try {
        await migrate(drizzle(client), { migrationsFolder: folder });
      } finally {
        await client.end();
      }
    }
    expect(await recorded()).toHaveLength(3);

    // No advisory lock is left behind.
    const locks = await query<{ n: number }>(`select count(*)::int as n from pg_locks where locktype = 'advisory'`);
    expect(locks[0]!.n).toBe(0);
  });

  it('a failing migration is rolled back, named, and leaves earlier ones applied', async () => {
    const folder = tempFolder();
    const table = { migrationsSchema: 'mig_fail', migrationsTable: 'history' };
    writeMigrations(folder, [
      { tag: '0000_ok', sql: 'create table fail_ok (id int);' },
      { tag: '0001_broken', sql: 'create table fail_half (id int);\n--> statement-breakpoint\nselect * from no_such;' },
    ]);
    const err = await runMigrations({ manager, migrationsFolder: folder, ...table }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MigrationError);
    expect(err).toMatchObject({ code: 'MIGRATION_ERROR', migration: '0001_broken', sqlState: '42P01' });
    expect((err as Error).message).toMatch(/0001_broken .*relation "no_such" does not exist/);
    const [half] = await query(
      `select to_regclass('fail_half') is null as absent, to_regclass('fail_ok') is not null as ok`,
    );
    expect(half).toEqual({ absent: true, ok: true });
    expect(await recorded('mig_fail', 'history')).toHaveLength(1);
    const status = await getMigrationStatus({ manager, migrationsFolder: folder, ...table });
    expect(status.pending.map((m) => m.name)).toEqual(['0001_broken']);
    // The connection went back to the pool usable and unlocked.
    const locks = await query<{ n: number }>(`select count(*)::int as n from pg_locks where locktype = 'advisory'`);
    expect(locks[0]!.n).toBe(0);
    await expect(manager.getDatabase().execute('select 1')).resolves.toBeDefined();
  });

  itPostgresOnly('no second instance: an embedded database belongs to one process')(
    'gives up with MigrationLockTimeoutError when another instance holds the lock too long',
    async () => {
      const folder = tempFolder();
      const table = { migrationsSchema: 'mig_lock', migrationsTable: 'history' };
      writeMigrations(folder, [{ tag: '0000_slow', sql: 'select pg_sleep(2);' }]);
      const other = open();
      await other.init();
      try {
        const first = runMigrations({ manager: other, migrationsFolder: folder, ...table });
        // Wait until the first one holds the lock.
        for (let i = 0; i < 100; i++) {
          const [row] = await b.exec<{ n: number }>(
            `select count(*)::int as n from pg_locks where locktype = 'advisory' and granted`,
          );
          if (row!.n > 0) break;
          await new Promise((r) => setTimeout(r, 20));
        }
        const waits: string[] = [];
        const err = await runMigrations({
          manager,
          migrationsFolder: folder,
          lockTimeout: 200,
          onProgress: (p) => waits.push(p.type),
          ...table,
        }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(MigrationLockTimeoutError);
        expect(err).toMatchObject({ code: 'MIGRATION_LOCK_TIMEOUT', retryable: true });
        expect(waits).toEqual(['lock:wait']);
        const done = await first;
        expect(done.applied.map((m) => m.name)).toEqual(['0000_slow']);
        // With the lock free again the second instance finds nothing to do.
        const second = await runMigrations({ manager, migrationsFolder: folder, ...table });
        expect(second).toMatchObject({ applied: [], alreadyApplied: 1 });
      } finally {
        await other.close();
      }
    },
  );

  it('reports a missing folder and bad options as typed errors', async () => {
    const missing = join(tempFolder(), 'nope');
    await expect(runMigrations({ manager, migrationsFolder: missing })).rejects.toThrow(/No migrations journal/);
    await expect(getMigrationStatus({ manager, migrationsFolder: missing })).rejects.toBeInstanceOf(MigrationError);
    await expect(runMigrations({ manager, migrationsFolder: missing, lockTimeout: -1 })).rejects.toThrow(/lockTimeout/);
    const broken = tempFolder();
    writeMigrations(broken, [{ tag: '0000_x', sql: 'select 1;' }]);
    writeFileSync(join(broken, 'meta', '_journal.json'), '{not json');
    await expect(runMigrations({ manager, migrationsFolder: broken })).rejects.toThrow(/Unreadable migrations journal/);
  });

  it('defaults to ./server/db/migrations, the folder getDrizzleConfig() writes to', async () => {
    const expected = join(process.cwd(), 'server', 'db', 'migrations');
    expect(manager.config.migrations.folder).toBe('./server/db/migrations');
    await expect(runMigrations({ manager })).rejects.toThrow(`No migrations journal at ${expected}`);
    await expect(getMigrationStatus({ manager })).rejects.toThrow(`No migrations journal at ${expected}`);
  });

  it('needs an initialised database', async () => {
    const closed = new DatabaseManager(b.options);
    await expect(runMigrations({ manager: closed, migrationsFolder: tempFolder() })).rejects.toBeInstanceOf(
      DatabaseNotInitializedError,
    );
  });
});

describe('on the embedded PGlite', () => {
  it('applies, records and reports migrations', async () => {
    const folder = tempFolder();
    writeMigrations(folder, [
      {
        tag: '0000_notes',
        sql: 'create table notes (id bigint generated by default as identity primary key, body text);',
      },
      { tag: '0001_seed', sql: "insert into notes (body) values ('hello');" },
    ]);
    const embedded = new DatabaseManager({ pgliteDataDir: 'memory://', healthCheck: { enabled: false } });
    await embedded.init();
    try {
      expect((await getMigrationStatus({ manager: embedded, migrationsFolder: folder })).pending).toHaveLength(2);
      const result = await runMigrations({ manager: embedded, migrationsFolder: folder });
      expect(result.applied.map((m) => m.name)).toEqual(['0000_notes', '0001_seed']);
      const again = await runMigrations({ manager: embedded, migrationsFolder: folder });
      expect(again.applied).toEqual([]);
      const status = await getMigrationStatus({ manager: embedded, migrationsFolder: folder });
      expect(status).toMatchObject({ pending: [] });
      expect(status.applied.map((m) => m.name)).toEqual(['0000_notes', '0001_seed']);
      const rows = await embedded.getDatabase().execute('select body from notes');
      expect([...rows]).toEqual([{ body: 'hello' }]);
    } finally {
      await embedded.close();
    }
  });
});
