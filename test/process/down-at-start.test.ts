import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { closedPort } from '../helpers/pg.js';

// A database that is down at start-up: the user's process must wait through the configured retries, then get a
// ConnectionError it can catch, and end with a non-zero exit code — not vanish after the first attempt because
// the retry wait did not hold the event loop.

const ROOT = resolve(import.meta.dirname, '..', '..');
const dist = (path: string): string => JSON.stringify(join(ROOT, 'dist', path));
const work = mkdtempSync(join(tmpdir(), 'spfn-down-'));

afterAll(() => rmSync(work, { recursive: true, force: true }));

interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(args: string[], env: Record<string, string>): Promise<Exit> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, args, {
      cwd: work,
      env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', fail);
    child.on('close', (code) => {
      clearTimeout(killer);
      done({ code, stdout, stderr });
    });
  });
}

function script(name: string, code: string): string {
  const file = join(work, name);
  writeFileSync(file, code);
  return file;
}

async function downEnv(): Promise<Record<string, string>> {
  return {
    DATABASE_URL: `postgres://postgres@127.0.0.1:${await closedPort()}/x`,
    DB_CONNECT_RETRIES: '2',
    DB_CONNECT_RETRY_DELAY: '100',
  };
}

const retries = (out: string): number => out.split('database connection failed; retrying').length - 1;

describe('a primary that is down at start-up', () => {
  it('`await initDatabase()` alone: ConnectionError after the configured retries, non-zero exit', async () => {
    const file = script(
      'init-only.mjs',
      `import { initDatabase } from ${dist('db/index.js')};\nawait initDatabase();\n`,
    );
    const result = await run([file], await downEnv());
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /ConnectionError: Could not connect to postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/x after 3 attempts/,
    );
    expect(retries(result.stdout)).toBe(2);
  });

  it("the caller's try/catch runs and sees ConnectionError", async () => {
    const file = script(
      'init-catch.mjs',
      `import { initDatabase } from ${dist('db/index.js')};
try { await initDatabase(); console.log('CONNECTED'); }
catch (err) { console.log('CAUGHT ' + err.name + ' ' + err.code); process.exitCode = 7; }\n`,
    );
    const result = await run([file], await downEnv());
    expect(result.stdout).toContain('CAUGHT ConnectionError CONNECTION_ERROR');
    expect(result.code).toBe(7);
  });

  it('`await startServer()` alone: ConnectionError, non-zero exit', async () => {
    const file = script(
      'server.mjs',
      `import { startServer } from ${dist('server/index.js')};\nawait startServer({ configFile: false, port: 0 });\n`,
    );
    const result = await run([file], await downEnv());
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('ConnectionError');
    expect(retries(result.stdout)).toBe(2);
  });

  it.each(['migrate', 'status'])('`spfn db %s`: exit 1 with the connection error', async (command) => {
    const result = await run([join(ROOT, 'dist', 'cli', 'index.js'), 'db', command, '--verbose'], await downEnv());
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/after 3 attempts: .*\[CONNECTION_ERROR\]/);
  });
});
