import { execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, expectNoLeaksThenDrop, type TestDatabase } from '../helpers/pg.js';

// The package as a user gets it: `npm pack`, installed with production dependencies only into an empty project,
// every subpath imported, the README's first look run as a script (PGlite and PostgreSQL), and a small TypeScript
// client type-checked against the installed types. Needs `npm run build` first (npm test does it) and access to
// the npm registry or its cache for the dependencies.

const ROOT = resolve(import.meta.dirname, '..', '..');
const SUBPATHS = ['db', 'errors', 'logger', 'server', 'cache'] as const;
/**
 * A first look that has not exited by then hangs (the bug this guards against kept PGlite alive for minutes). The
 * time it took is in the transcript; it is not asserted: creating a fresh PGlite data directory takes ~5 s on an
 * idle machine and three times that on a loaded CI runner.
 */
const HANG_LIMIT_MS = 60_000;
const execFileAsync = promisify(execFile);

const work = mkdtempSync(join(tmpdir(), 'spfn-consumer-'));
const project = join(work, 'app');
const transcript: string[] = [];

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

function run(
  file: string,
  args: string[],
  options: { cwd: string; env?: Record<string, string>; killAfterMs?: number },
): Promise<Exit> {
  return new Promise((done, fail) => {
    const started = performance.now();
    const child = spawn(file, args, {
      cwd: options.cwd,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? work, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const killer = options.killAfterMs ? setTimeout(() => child.kill('SIGKILL'), options.killAfterMs) : undefined;
    child.on('error', fail);
    child.on('close', (code, signal) => {
      clearTimeout(killer);
      const result = { code, signal, stdout, stderr, ms: Math.round(performance.now() - started) };
      const tail = (s: string): string => s.trim().split('\n').slice(-6).join('\n');
      transcript.push(
        `$ ${[file === process.execPath ? 'node' : file, ...args].join(' ')}   # exit ${code ?? signal} in ${result.ms} ms` +
          (stdout.trim() ? `\n${tail(stdout)}` : '') +
          (stderr.trim() ? `\n[stderr]\n${tail(stderr)}` : ''),
      );
      done(result);
    });
  });
}

/** The README's first ```ts block, as JavaScript (types stripped by the repository's TypeScript). */
function firstLook(): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const code = /## A first look[\s\S]*?```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  if (!code) throw new Error('README.md has no "A first look" TypeScript block');
  return ts.transpileModule(code, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  }).outputText;
}

beforeAll(async () => {
  const packed = await execFileAsync('npm', ['pack', '--json', '--pack-destination', work], { cwd: ROOT });
  const [info] = JSON.parse(packed.stdout) as { filename: string; size: number; entryCount: number }[];
  const tarball = join(work, info!.filename);
  transcript.push(`$ npm pack   # ${info!.filename}, ${info!.entryCount} files, ${info!.size} bytes`);
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  // The README's install line: the package and drizzle-orm (for the user's own tables), production only.
  const install = await run(
    'npm',
    [
      'install',
      '--omit=dev',
      '--no-audit',
      '--no-fund',
      '--prefer-offline',
      tarball,
      `drizzle-orm@${pkg.dependencies['drizzle-orm']}`,
    ],
    { cwd: project },
  );
  if (install.code !== 0) throw new Error(`npm install failed:\n${install.stderr}`);
}, 600_000);

afterAll(() => {
  console.log(`Consumer transcript:\n${transcript.join('\n')}`);
  rmSync(work, { recursive: true, force: true });
});

describe('the packed package, installed with production dependencies only', () => {
  it.each(SUBPATHS)('imports @spfn/core/%s', async (subpath) => {
    const result = await run(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const m = await import('@spfn/core/${subpath}'); console.log(Object.keys(m).length + ' exports');`,
      ],
      { cwd: project, env: { NODE_ENV: 'development' } },
    );
    expect(result.stderr).not.toContain('ERR_MODULE_NOT_FOUND');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^[1-9]\d* exports$/m);
  });

  it('runs the README first look on the embedded database: exit 0 by itself, fresh and existing data', async () => {
    writeFileSync(join(project, 'first-look.mjs'), firstLook());
    for (const [run_, rows] of [
      ['fresh', "[ { id: 1, body: 'hello' } ]"],
      ['existing', "{ id: 2, body: 'hello' }"],
    ] as const) {
      const result = await run(process.execPath, ['first-look.mjs'], {
        cwd: project,
        env: { NODE_ENV: 'development' },
        killAfterMs: HANG_LIMIT_MS,
      });
      expect(result.signal, `${run_} data directory: killed after ${HANG_LIMIT_MS} ms`).toBeNull();
      expect(result.code).toBe(0);
      expect(result.stdout).toContain(rows);
      // No pino-pretty in a production install: JSON lines after one hint.
      expect(result.stdout).toContain('readable logs need pino-pretty');
    }
  }, 180_000);

  it('runs the README first look on PostgreSQL: exit 0 by itself, no connection left', async () => {
    const tdb: TestDatabase = await createTestDatabase('consumer');
    try {
      writeFileSync(join(project, 'first-look.mjs'), firstLook());
      const result = await run(process.execPath, ['first-look.mjs'], {
        cwd: project,
        env: { NODE_ENV: 'production', DATABASE_URL: tdb.url, DB_APPLICATION_NAME: tdb.appName },
        killAfterMs: HANG_LIMIT_MS,
      });
      expect(result.signal).toBeNull();
      expect(result.code).toBe(0);
      expect(result.stdout).toContain("body: 'hello'");
    } finally {
      await expectNoLeaksThenDrop(tdb);
    }
  }, 120_000);

  it('type-checks a TypeScript client using every subpath (strict, NodeNext)', async () => {
    writeFileSync(join(project, 'client.ts'), readFileSync(join(import.meta.dirname, 'client.ts.txt'), 'utf8'));
    writeFileSync(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          target: 'ES2022',
          noEmit: true,
          skipLibCheck: true,
          types: ['node'],
          typeRoots: [join(ROOT, 'node_modules', '@types')],
        },
        files: ['client.ts'],
      }),
    );
    const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const result = await run(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: project });
    expect(result.stdout + result.stderr).toBe('');
    expect(result.code).toBe(0);
  });
});
