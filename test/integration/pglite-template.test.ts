import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const cwd = mkdtempSync(join(tmpdir(), 'spfn-template-'));
const cache = join(cwd, 'node_modules', '.cache', 'spfn');

afterAll(() => rmSync(cwd, { recursive: true, force: true }));

/** Runs the fixture from `cwd` (whose node_modules holds only the cache) on `dataDir`. */
async function open(dataDir: string): Promise<{ n: number; sb: string }> {
  const { stdout } = await promisify(execFile)(process.execPath, [join(ROOT, 'test/fixtures/pglite-open.mjs')], {
    cwd,
    env: {
      ...process.env,
      PGLITE_DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
      NODE_ENV: 'test',
    },
  });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as { n: number; sb: string };
}

const template = (): string | undefined => {
  if (!existsSync(cache)) return undefined;
  const file = readdirSync(cache).find((f) => /^pglite-.+\.tar$/.test(f));
  return file === undefined ? undefined : join(cache, file);
};

describe('a new embedded database starts from a cached template', () => {
  it('the first new database leaves a template; the next ones start from it, in memory and on disk', async () => {
    mkdirSync(join(cwd, 'node_modules'));
    expect(await open('memory://')).toEqual({ n: 1, sb: '16MB' });
    const path = template();
    expect(path, 'a template under node_modules/.cache/spfn').toBeDefined();
    const written = statSync(path!).mtimeMs;
    expect(await open('memory://')).toEqual({ n: 1, sb: '16MB' });
    const disk = join(cwd, 'data');
    expect(await open(disk)).toEqual({ n: 1, sb: '16MB' });
    // On disk it is an ordinary data directory: opened again, the row is still there.
    expect(await open(disk)).toEqual({ n: 2, sb: '16MB' });
    // Started from the template, nobody rewrote it; and nothing of the data reached it.
    expect(statSync(path!).mtimeMs).toBe(written);
  }, 300_000);

  it('a damaged template is dropped and the database still opens (with initdb), leaving a good one', async () => {
    const path = template()!;
    writeFileSync(path, 'not a tarball');
    expect(await open('memory://')).toEqual({ n: 1, sb: '16MB' });
    expect(statSync(path).size).toBeGreaterThan(1_000_000);
  }, 300_000);
});
