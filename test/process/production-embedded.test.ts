import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

// NODE_ENV=production without DATABASE_URL must not start the embedded database silently: the user's process gets
// a ConfigError naming DATABASE_URL and nothing is created on disk. Asked for explicitly, it starts.

const ROOT = resolve(import.meta.dirname, '..', '..');
const work = mkdtempSync(join(tmpdir(), 'spfn-prod-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const SCRIPT = `import { closeDatabase, getDatabase, initDatabase } from ${JSON.stringify(join(ROOT, 'dist', 'db', 'index.js'))};
try {
  await initDatabase();
  const rows = await getDatabase().execute('select 1 as one');
  console.log('STARTED ' + JSON.stringify(rows[0]));
  await closeDatabase();
} catch (err) {
  console.log('REFUSED ' + err.name + ' ' + err.variable + ': ' + err.message);
  process.exitCode = 1;
}
`;

function run(env: Record<string, string>): Promise<{ code: number | null; stdout: string }> {
  const file = join(work, 'main.mjs');
  writeFileSync(file, SCRIPT);
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [file], {
      cwd: work,
      env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'warn', NODE_ENV: 'production', ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', fail);
    child.on('close', (code) => {
      clearTimeout(killer);
      done({ code, stdout });
    });
  });
}

describe('NODE_ENV=production', () => {
  it('without DATABASE_URL: ConfigError naming DATABASE_URL, no embedded database created', async () => {
    const result = await run({});
    expect(result.stdout).toContain(
      'REFUSED ConfigError DATABASE_URL: DATABASE_URL: is required when NODE_ENV=production',
    );
    expect(result.code).toBe(1);
    expect(existsSync(join(work, '.data'))).toBe(false);
  });

  it('DATABASE_URL=pglite://memory: the embedded database, asked for', async () => {
    const result = await run({ DATABASE_URL: 'pglite://memory' });
    expect(result.stdout).toContain('STARTED {"one":1}');
    expect(result.code).toBe(0);
  }, 90_000);
});
