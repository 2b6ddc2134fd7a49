import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestDatabase, expectNoLeaksThenDrop } from '../helpers/pg.js';

// After closeDatabase() nothing of the package may keep the process alive, on either backend: the user's script
// ends by itself. The child reports what still holds its event loop right after closeDatabase() resolves
// (process.getActiveResourcesInfo(), which lists only ref'd handles and requests; stdio and a pending setImmediate,
// which runs in the same loop turn, do not count) and how long it took to exit.

const ROOT = resolve(import.meta.dirname, '..', '..');
const work = mkdtempSync(join(tmpdir(), 'spfn-exit-'));
/** A script still running after this long is held by something: the bug kept PGlite alive for minutes. */
const HANG_LIMIT_MS = 60_000;

afterAll(() => rmSync(work, { recursive: true, force: true }));

const SCRIPT = `
import { closeDatabase, getDatabase, initDatabase, transaction } from ${JSON.stringify(join(ROOT, 'dist', 'db', 'index.js'))};
import { sql } from 'drizzle-orm';
await initDatabase();
await getDatabase().execute(sql\`create table if not exists notes (id bigint generated always as identity primary key, body text not null)\`);
await transaction(async (tx) => { await tx.execute(sql\`insert into notes (body) values ('x')\`); }, { timeout: 5000 });
await getDatabase('read').execute(sql\`select count(*) from notes\`);
await closeDatabase();
const closedAt = performance.now();
console.log('HELD ' + JSON.stringify(process.getActiveResourcesInfo().filter((r) => !['TTYWrap', 'PipeWrap', 'Immediate'].includes(r))));
process.on('exit', () => console.log('EXITED_AFTER_CLOSE_MS ' + Math.round(performance.now() - closedAt)));
`;

function runScript(
  env: Record<string, string>,
): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
  const file = join(ROOT, 'test', `.exit-after-close-${process.pid}.mjs`);
  writeFileSync(file, SCRIPT);
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [file], {
      cwd: work,
      env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const killer = setTimeout(() => child.kill('SIGKILL'), HANG_LIMIT_MS);
    child.on('error', fail);
    child.on('close', (code, signal) => {
      clearTimeout(killer);
      rmSync(file, { force: true });
      done({ code, signal, stdout, stderr });
    });
  });
}

describe('after closeDatabase() the process exits by itself', () => {
  it('on the embedded database (PGlite, data on disk)', async () => {
    const result = await runScript({ PGLITE_DATA_DIR: join(work, 'pglite') });
    expect(result.signal).toBeNull();
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('HELD []');
    console.log(`PGlite: ${/EXITED_AFTER_CLOSE_MS \d+/.exec(result.stdout)?.[0] ?? result.stdout}`);
  }, 90_000);

  it('on PostgreSQL', async () => {
    const tdb = await createTestDatabase('exit_after_close');
    try {
      const result = await runScript({ DATABASE_URL: tdb.url, DB_APPLICATION_NAME: tdb.appName });
      expect(result.signal).toBeNull();
      expect(result.code).toBe(0);
      expect(result.stdout).toContain('HELD []');
      console.log(`PostgreSQL: ${/EXITED_AFTER_CLOSE_MS \d+/.exec(result.stdout)?.[0] ?? result.stdout}`);
    } finally {
      await expectNoLeaksThenDrop(tdb);
    }
  }, 90_000);
});
