import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packedProject, ROOT, type PackedProject } from '../helpers/pack.js';
import { createTestDatabase, expectNoLeaksThenDrop, type TestDatabase } from '../helpers/pg.js';

// The seed proposal's snippets (test/fixtures/seed-client: entities with foreignKey, PostRepository.findWithAuthor,
// Transactional({ timeout }), getDrizzleConfig(), dbEvents.on('query:slow'), runWithTransaction(tx) with Drizzle's
// tx) in a client project against the packed package: compiled by tsc (strict, NodeNext), migrations generated
// with the package's `spfn db generate` from getDrizzleConfig()'s defaults, then run on PostgreSQL.

const execFileAsync = promisify(execFile);
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const transcript: string[] = [];

let packed: PackedProject;
let client: string;
let tdb: TestDatabase;

async function step(file: string, args: string[], env: Record<string, string> = {}) {
  const started = performance.now();
  try {
    const out = await execFileAsync(file, args, {
      cwd: client,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? client, NODE_ENV: 'test', ...env },
      timeout: 180_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    transcript.push(`$ ${[file, ...args].join(' ')}   # exit 0 in ${Math.round(performance.now() - started)} ms`);
    return { code: 0, stdout: out.stdout, stderr: out.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    transcript.push(`$ ${[file, ...args].join(' ')}   # exit ${e.code}\n${e.stdout ?? ''}${e.stderr ?? ''}`);
    return { code: e.code ?? 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

beforeAll(async () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  packed = await packedProject([`drizzle-orm@${pkg.dependencies['drizzle-orm']}`]);
  transcript.push(...packed.log);
  client = mkdtempSync(join(packed.dir, 'seed-'));
  cpSync(join(ROOT, 'test', 'fixtures', 'seed-client'), client, { recursive: true });
  writeFileSync(
    join(client, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2023',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        noUncheckedIndexedAccess: true,
        skipLibCheck: true,
        outDir: 'out',
        rootDir: '.',
        types: ['node'],
        typeRoots: [join(ROOT, 'node_modules', '@types')],
      },
      include: ['**/*.ts'],
      exclude: ['out'],
    }),
  );
  tdb = await createTestDatabase('seed_client');
}, 600_000);

afterAll(async () => {
  console.log(`Seed snippets transcript:\n${transcript.join('\n')}`);
  if (client) rmSync(client, { recursive: true, force: true });
  if (tdb) await expectNoLeaksThenDrop(tdb);
});

describe("the seed proposal's snippets in a client project, against the packed package", () => {
  it('compile with tsc --strict (NodeNext), and the wrong forms do not', async () => {
    const tsc = await step(process.execPath, [TSC, '-p', 'tsconfig.json']);
    expect(tsc.stdout + tsc.stderr).toBe('');
    expect(tsc.code).toBe(0);
  });

  it('generate migrations with getDrizzleConfig() defaults and run end to end on PostgreSQL', async () => {
    const env = { DATABASE_URL: tdb.url, DB_APPLICATION_NAME: tdb.appName, LOG_LEVEL: 'warn' };
    const spfn = join(packed.dir, 'node_modules', '.bin', 'spfn');
    const generated = await step(spfn, ['db', 'generate', '--name', 'seed'], env);
    expect(generated.code, generated.stderr).toBe(0);
    const run = await step(process.execPath, ['out/main.js'], env);
    expect(run.code, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
    expect(result).toEqual({
      migrated: 1,
      status: { created: 201, rolledBack: 500, viaMiddleware: 201 },
      author: 'author@example.com',
      missing: null,
      updatedMissing: null,
      emails: ['author@example.com', 'mw@example.com'],
      relational: 2,
      columns: ['author_id', 'editor_id'],
      config: { schema: './server/db/entities/**/*.ts', out: './server/db/migrations', dialect: 'postgresql' },
      slowEvents: true,
    });
    const [fk] = await tdb.sql<{ rule: string }[]>`
      select delete_rule as rule from information_schema.referential_constraints
      where constraint_name = 'posts_author_id_users_id_fk'`;
    expect(fk?.rule).toBe('CASCADE');
  });
});
