import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, waitFor, type TestDatabase } from '../helpers/pg.js';
import { writeMigrations } from './folder.js';

/**
 * Several deploy instances migrating one database at once: each child process imports the BUILT package, connects,
 * waits for the common start signal on stdin, and runs runMigrations(), printing one JSON line per step.
 */
const CHILD = `
const dist = process.env.SPFN_DIST;
const { DatabaseManager, runMigrations } = await import(dist);
const print = (o) => process.stdout.write(JSON.stringify({ pid: process.pid, t: Date.now(), ...o }) + '\\n');
const manager = new DatabaseManager({
  url: process.env.TEST_DB_URL,
  applicationName: process.env.TEST_APP_NAME,
  healthCheck: { enabled: false },
  pool: { max: 2 },
});
await manager.init();
print({ type: 'ready' });
await new Promise((r) => process.stdin.once('data', r));
process.stdin.destroy();
try {
  const result = await runMigrations({
    manager,
    migrationsFolder: process.env.FOLDER,
    onProgress: (p) => print(p),
  });
  print({ type: 'done', applied: result.applied.map((m) => m.name), alreadyApplied: result.alreadyApplied,
    lockWaitMs: Math.round(result.lockWaitMs), durationMs: Math.round(result.durationMs) });
} catch (err) {
  print({ type: 'error', code: err.code, message: err.message });
  process.exitCode = 1;
} finally {
  await manager.close();
}
`;

interface Line {
  pid: number;
  t: number;
  type: string;
  name?: string;
  applied?: string[];
  alreadyApplied?: number;
  lockWaitMs?: number;
  durationMs?: number;
  waitedMs?: number;
  message?: string;
}

interface Child {
  proc: ChildProcess;
  lines: Line[];
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr: () => string;
}

let tdb: TestDatabase;
let dir: string;
let script: string;
const dist = pathToFileURL(join(import.meta.dirname, '..', '..', 'dist', 'db', 'index.js')).href;

beforeAll(async () => {
  tdb = await createTestDatabase('migration_race');
  dir = mkdtempSync(join(tmpdir(), 'spfn-race-'));
  script = join(dir, 'child.mjs');
  writeFileSync(script, CHILD);
});

afterAll(async () => {
  expect(await waitFor(async () => (await tdb.leaks()).length === 0, 15_000)).toBe(true);
  await tdb?.drop();
  rmSync(dir, { recursive: true, force: true });
});

function start(folder: string): Child {
  const proc = spawn(process.execPath, [script], {
    env: {
      ...process.env,
      SPFN_DIST: dist,
      TEST_DB_URL: tdb.url,
      TEST_APP_NAME: tdb.appName,
      FOLDER: folder,
      LOG_LEVEL: 'warn',
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const lines: Line[] = [];
  let buffer = '';
  let err = '';
  proc.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    buffer += chunk;
    let nl;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      if (line.startsWith('{')) lines.push(JSON.parse(line) as Line);
    }
  });
  proc.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { proc, lines, exit, stderr: () => err };
}

/** Starts four instances, waits until all are connected, then lets them go at once. */
async function race(folder: string): Promise<{ children: Child[]; startedAt: number }> {
  const children = Array.from({ length: 4 }, () => start(folder));
  const allReady = await waitFor(() => children.every((c) => c.lines.some((l) => l.type === 'ready')), 60_000);
  expect(allReady, children.map((c) => c.stderr()).join('\n')).toBe(true);
  const startedAt = Date.now();
  for (const c of children) c.proc.stdin!.end('go\n');
  return { children, startedAt };
}

async function recorded(): Promise<string[]> {
  const rows = await tdb.sql`select hash from drizzle.__drizzle_migrations order by id`;
  return rows.map((r) => r.hash as string);
}

describe('four instances migrating one empty database at once', () => {
  it('apply every migration exactly once, without an error', async () => {
    const folder = join(dir, 'race');
    writeMigrations(folder, [
      { tag: '0000_users', sql: 'create table race_users (id bigint primary key, email text not null);' },
      {
        tag: '0001_posts',
        sql: 'create table race_posts (id bigint primary key, user_id bigint references race_users(id));',
      },
      {
        tag: '0002_slowish',
        sql: 'select pg_sleep(0.5);\n--> statement-breakpoint\ncreate table race_marks (pid int);',
      },
      { tag: '0003_index', sql: 'create index race_posts_user on race_posts (user_id);' },
      { tag: '0004_seed', sql: 'insert into race_marks values (pg_backend_pid());' },
    ]);
    const { children, startedAt } = await race(folder);
    const exits = await Promise.all(children.map((c) => c.exit));
    for (const [i, e] of exits.entries()) expect(e, children[i]!.stderr()).toEqual({ code: 0, signal: null });

    const done = children.map((c) => c.lines.find((l) => l.type === 'done')!);
    const appliedCounts = done.map((d) => d.applied!.length);
    expect(appliedCounts.reduce((a, b) => a + b, 0)).toBe(5);
    const winners = done.filter((d) => d.applied!.length > 0);
    expect(winners).toHaveLength(1);
    expect(winners[0]!.applied).toEqual(['0000_users', '0001_posts', '0002_slowish', '0003_index', '0004_seed']);
    const waited = children.filter((c) => c.lines.some((l) => l.type === 'lock:wait'));
    expect(waited.length).toBeGreaterThanOrEqual(1);
    for (const d of done.filter((x) => x.applied!.length === 0)) expect(d.alreadyApplied).toBe(5);

    const hashes = await recorded();
    expect(hashes).toHaveLength(5);
    expect(new Set(hashes).size).toBe(5);
    const [marks] = await tdb.sql`select count(*)::int as n from race_marks`;
    expect(marks!.n).toBe(1);

    const figures = done.map((d) => ({
      applied: d.applied!.length,
      lockWaitMs: d.lockWaitMs,
      durationMs: d.durationMs,
    }));
    const allDoneMs = Math.max(...children.flatMap((c) => c.lines.map((l) => l.t))) - startedAt;
    console.log('race figures', JSON.stringify({ waiters: waited.length, allDoneMs, figures }));
  });

  it('when the lock holder is killed -9 mid-migration, the others finish and the result is complete', async () => {
    await tdb.sql`drop schema drizzle cascade`;
    const folder = join(dir, 'kill');
    writeMigrations(folder, [
      { tag: '0000_base', sql: 'create table kill_base (id int);' },
      {
        tag: '0001_slow',
        sql: 'insert into kill_base values (1);\n--> statement-breakpoint\nselect pg_sleep(4);\n--> statement-breakpoint\ncreate table kill_slow (id int);',
      },
      { tag: '0002_after', sql: 'create table kill_after (id int);' },
    ]);
    const { children } = await race(folder);
    let victim: Child | undefined;
    expect(
      await waitFor(() => {
        victim = children.find((c) => c.lines.some((l) => l.type === 'migration:start' && l.name === '0001_slow'));
        return victim !== undefined;
      }, 30_000),
    ).toBe(true);
    await new Promise((r) => setTimeout(r, 300));
    const killedAt = Date.now();
    victim!.proc.kill('SIGKILL');
    const exits = await Promise.all(children.map((c) => c.exit));
    const survivors = children.filter((c) => c !== victim);
    expect(exits[children.indexOf(victim!)]!.signal).toBe('SIGKILL');
    for (const s of survivors) expect(await s.exit, s.stderr()).toEqual({ code: 0, signal: null });

    const hashes = await recorded();
    expect(hashes).toHaveLength(3);
    expect(new Set(hashes).size).toBe(3);
    const [base] = await tdb.sql`select count(*)::int as n from kill_base`;
    expect(base!.n).toBe(1); // the killed instance's half-done 0001 was rolled back, then applied once
    const [tables] = await tdb.sql`
      select to_regclass('kill_slow') is not null as slow, to_regclass('kill_after') is not null as after`;
    expect(tables).toEqual({ slow: true, after: true });

    const done = survivors.map((s) => s.lines.find((l) => l.type === 'done')!);
    const appliedBySurvivors = done.flatMap((d) => d.applied!);
    expect(appliedBySurvivors.sort()).toEqual(['0001_slow', '0002_after']);
    const nextHolder = survivors.find((s) =>
      s.lines.some((l) => l.type === 'migration:start' && l.name === '0001_slow'),
    )!;
    const resumedAt = nextHolder.lines.find((l) => l.type === 'lock:acquired')!.t;
    const finishedAt = Math.max(...survivors.flatMap((s) => s.lines.map((l) => l.t)));
    console.log(
      'kill figures',
      JSON.stringify({ lockTakenOverAfterKillMs: resumedAt - killedAt, allDoneAfterKillMs: finishedAt - killedAt }),
    );
  });
});
