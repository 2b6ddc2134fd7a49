import { spawn } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { updatedAtTriggerSql } from '@spfn/core/db';
import { closedPort, createTestDatabase, type TestDatabase } from '../helpers/pg.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const PASSWORD = 'cli-Secret-5e7a';
const SCHEMA = `import { pgTable, text } from 'drizzle-orm/pg-core';
import { foreignKey, id, timestamps } from '@spfn/core/db';

export const users = pgTable('users', { id: id(), email: text('email').notNull().unique(), ...timestamps() });
export const posts = pgTable('posts', {
  id: id(),
  authorId: foreignKey('author', () => users.id),
  title: text('title').notNull(),
  ...timestamps(),
});
`;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

let tdb: TestDatabase;
const dirs: string[] = [];
const bin = (): string => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { bin: { spfn: string } };
  return resolve(ROOT, pkg.bin.spfn);
};

/** A throwaway project that depends on this package, as an application would. */
function project(): string {
  const dir = mkdtempSync(join(tmpdir(), 'spfn-cli-'));
  dirs.push(dir);
  mkdirSync(join(dir, 'src'));
  mkdirSync(join(dir, 'node_modules', '@spfn'), { recursive: true });
  symlinkSync(ROOT, join(dir, 'node_modules', '@spfn', 'core'), 'dir');
  symlinkSync(join(ROOT, 'node_modules', 'drizzle-orm'), join(dir, 'node_modules', 'drizzle-orm'), 'dir');
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  writeFileSync(join(dir, 'src', 'schema.ts'), SCHEMA);
  return dir;
}

/** Runs `spfn …` in `cwd` with only the given database variables set. */
function spfn(cwd: string, args: string[], env: Record<string, string> = {}): Promise<Run> {
  const base = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !/^(DATABASE_|PGLITE_|DB_|AUTO_MIGRATE)/.test(k)),
  );
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [bin(), ...args], {
      cwd,
      env: { ...base, DB_APPLICATION_NAME: tdb.appName, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.once('error', fail);
    child.once('close', (code) => done({ code, stdout, stderr }));
  });
}

function transcript(cwd: string, args: string[], run: Run): string {
  return `$ spfn ${args.join(' ')}\n${run.stdout}${run.stderr}(exit ${run.code})\n`;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && !e.parentPath.includes('node_modules'))
    .map((e) => join(e.parentPath, e.name));
}

beforeAll(async () => {
  tdb = await createTestDatabase('cli');
});

afterAll(async () => {
  expect(await tdb.leaks()).toEqual([]);
  await tdb?.drop();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('spfn db, end to end in a temporary project', () => {
  let migrations: string;

  it('generates, reports and applies migrations on a real server (first run)', async () => {
    const dir = project();
    const url = new URL(tdb.url);
    url.password = PASSWORD;
    // The URL comes from the project's .env, as it would in an application.
    writeFileSync(join(dir, '.env'), `DATABASE_URL=${url.toString()}\n`);
    let log = '';
    const step = async (args: string[]): Promise<Run> => {
      const run = await spfn(dir, args);
      log += transcript(dir, args, run);
      return run;
    };

    const noJournal = await step(['db', 'status']);
    expect(noJournal.code).toBe(1);
    expect(noJournal.stderr).toMatch(/No migrations journal .*server\/db\/migrations.*spfn db generate/);

    const generated = await step(['db', 'generate', '--schema', './src/schema.ts']);
    expect(generated.code, generated.stderr).toBe(0);
    const custom = await step(['db', 'generate', '--schema', './src/schema.ts', '--custom', '--name', 'updated_at']);
    expect(custom.code, custom.stderr).toBe(0);
    const sqlFiles = readdirSync(join(dir, 'server', 'db', 'migrations')).filter((f) => f.endsWith('.sql'));
    expect(sqlFiles).toHaveLength(2);
    const triggerFile = join(
      dir,
      'server',
      'db',
      'migrations',
      sqlFiles.find((f) => f.includes('updated_at'))!,
    );
    writeFileSync(
      triggerFile,
      readFileSync(triggerFile, 'utf8') + '\n' + updatedAtTriggerSql('users') + updatedAtTriggerSql('posts'),
    );

    const pending = await step(['db', 'status', '--check']);
    expect(pending.code).toBe(3);
    expect(pending.stdout).toMatch(/0 migrations applied, 2 pending\./);
    expect(pending.stdout).toContain('postgres://postgres:***@');

    const migrated = await step(['db', 'migrate']);
    expect(migrated.code, migrated.stderr).toBe(0);
    expect(migrated.stdout.match(/✓ \d{4}_\w+ \(\d/g)).toHaveLength(2);
    expect(migrated.stdout).toMatch(/Applied 2 migrations in /);

    const status = await step(['db', 'status', '--check']);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/2 migrations applied, 0 pending\./);
    const again = await step(['db', 'migrate']);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('Already up to date: 2 migrations applied.');

    const [row] = await tdb.sql`
      select count(*)::int as n from information_schema.triggers where event_object_table in ('users', 'posts')`;
    expect(row!.n).toBe(2);
    // The password is in .env only: not in any output, nor in any file the CLI or drizzle-kit wrote.
    expect(log).not.toContain(PASSWORD);
    for (const file of filesUnder(dir).filter((f) => !f.endsWith('.env'))) {
      expect(readFileSync(file, 'utf8'), file).not.toContain(PASSWORD);
    }
    migrations = join(dir, 'server', 'db', 'migrations');
    console.log(`CLI transcript (real server):\n${log}`);
  });

  it('applies the same migrations on the embedded PGlite', async () => {
    expect(migrations).toBeDefined();
    const dir = project();
    cpSync(migrations, join(dir, 'server', 'db', 'migrations'), { recursive: true });
    const env = { PGLITE_DATA_DIR: join(dir, '.data', 'pglite') };
    const migrated = await spfn(dir, ['db', 'migrate'], env);
    expect(migrated.code, migrated.stderr).toBe(0);
    expect(migrated.stdout).toContain(`Migrating pglite://${join(dir, '.data', 'pglite')}`);
    expect(migrated.stdout).toMatch(/Applied 2 migrations in /);
    const status = await spfn(dir, ['db', 'status', '--check'], env);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/2 migrations applied, 0 pending\./);
    expect(existsSync(join(dir, '.data', 'pglite', 'PG_VERSION'))).toBe(true);
    console.log(`CLI transcript (PGlite):\n${transcript(dir, ['db', 'migrate'], migrated)}`);
  });

  it('fails with clear messages and exit codes', async () => {
    const dir = project();
    const port = await closedPort();
    const down = await spfn(dir, ['db', 'migrate'], {
      DATABASE_URL: `postgres://app:${PASSWORD}@127.0.0.1:${port}/app`,
      DB_CONNECT_RETRIES: '0',
    });
    expect(down.code).toBe(1);
    expect(down.stderr).toContain(`postgres://app:***@127.0.0.1:${port}/app`);
    expect(down.stderr).toContain('[CONNECTION_ERROR]');
    expect(down.stdout + down.stderr).not.toContain(PASSWORD);

    const badConfig = await spfn(dir, ['db', 'status'], { DATABASE_URL: tdb.url, DB_READ_CONSISTENCY: 'eventually' });
    expect(badConfig.code).toBe(2);
    expect(badConfig.stderr).toMatch(/invalid configuration: DB_READ_CONSISTENCY/);

    const unknown = await spfn(dir, ['db', 'frobnicate']);
    expect(unknown).toMatchObject({ code: 2, stderr: expect.stringContaining('unknown command "db frobnicate"') });
    const badFlag = await spfn(dir, ['db', 'migrate', '--force']);
    expect(badFlag.code).toBe(2);
    expect(badFlag.stderr).toContain("Unknown option '--force'");
    const nothing = await spfn(dir, []);
    expect(nothing.code).toBe(2);
    expect(nothing.stdout).toContain('Usage: spfn db <command>');
    const help = await spfn(dir, ['--help']);
    expect(help.code).toBe(0);
    const version = await spfn(dir, ['--version']);
    expect(version.stdout.trim()).toBe(
      (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version,
    );
    const noSchema = await spfn(dir, ['db', 'generate']);
    expect(noSchema.code).toBe(2);
    expect(noSchema.stderr).toContain('--schema');

    writeFileSync(
      join(dir, 'src', 'broken.ts'),
      "import { nothing } from './missing.js';\nexport const x = nothing;\n",
    );
    const broken = await spfn(dir, ['db', 'generate', '--schema', './src/broken.ts']);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toContain('drizzle-kit generate failed');
  });

  it('is the package bin, built with a shebang', () => {
    expect(readFileSync(bin(), 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
  });
});
