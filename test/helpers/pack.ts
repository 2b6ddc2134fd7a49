import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** The repository root. */
export const ROOT = resolve(import.meta.dirname, '..', '..');
const CACHE = join(ROOT, 'node_modules', '.cache', 'spfn-packed');

/** An empty project with the packed package installed, production dependencies only. */
export interface PackedProject {
  /** The project folder (`package.json`, `node_modules/@spfn/core`). Tests write their own files into it. */
  readonly dir: string;
  /** The `npm pack` tarball that was installed. */
  readonly tarball: string;
  /** What packing and installing printed, for a test's transcript. */
  readonly log: readonly string[];
}

/** A key of what would be packed: package.json and every file of dist/ (path, size, mtime). */
function packKey(): string {
  const hash = createHash('sha256').update(readFileSync(join(ROOT, 'package.json')));
  for (const entry of readdirSync(join(ROOT, 'dist'), { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const file = join(entry.parentPath, entry.name);
    const stat = statSync(file);
    hash.update(`${file}:${stat.size}:${stat.mtimeMs}\n`);
  }
  return hash.digest('hex').slice(0, 16);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * `npm pack` of the built package, installed with `npm install --omit=dev` (plus `extra` packages, e.g. the
 * drizzle-orm a user adds for their own tables) into an empty ESM project — once per build: the result is kept
 * under node_modules/.cache/spfn-packed/<key of dist/ and package.json>, and test files that ask at the same time
 * wait for the one doing the work instead of packing twice. Needs `npm run build` first and the npm registry (or
 * its cache) for the dependencies.
 */
export async function packedProject(extra: readonly string[] = []): Promise<PackedProject> {
  const key = `${packKey()}-${createHash('sha256').update(extra.join(' ')).digest('hex').slice(0, 8)}`;
  const home = join(CACHE, key);
  const done = join(home, 'done.json');
  mkdirSync(CACHE, { recursive: true });
  for (;;) {
    if (existsSync(done)) return JSON.parse(readFileSync(done, 'utf8')) as PackedProject;
    try {
      mkdirSync(home); // the lock: whoever creates the folder does the work
      break;
    } catch {
      await sleep(500); // another test file is packing this very build
    }
  }
  try {
    for (const old of readdirSync(CACHE)) if (old !== key) rmSync(join(CACHE, old), { recursive: true, force: true });
    const log: string[] = [];
    const packed = await execFileAsync('npm', ['pack', '--json', '--pack-destination', home], { cwd: ROOT });
    const [info] = JSON.parse(packed.stdout) as { filename: string; size: number; entryCount: number }[];
    const tarball = join(home, info!.filename);
    log.push(`$ npm pack   # ${info!.filename}, ${info!.entryCount} files, ${info!.size} bytes`);
    const dir = join(home, 'app');
    mkdirSync(dir);
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    const args = ['install', '--omit=dev', '--no-audit', '--no-fund', '--prefer-offline', tarball, ...extra];
    const started = performance.now();
    await execFileAsync('npm', args, { cwd: dir, maxBuffer: 16 * 1024 * 1024 });
    log.push(`$ npm ${args.join(' ')}   # ${Math.round(performance.now() - started)} ms`);
    const result: PackedProject = { dir, tarball, log };
    writeFileSync(done, JSON.stringify(result));
    return result;
  } catch (err) {
    rmSync(home, { recursive: true, force: true });
    throw err;
  }
}
