import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PGlite } from '@electric-sql/pglite';

/**
 * A freshly initialised embedded database, kept as a tarball so that the next new database (every `memory://`
 * one, and a new data directory) starts from a copy instead of running initdb again — initdb is most of PGlite's
 * start time (≈ 3 s of 4 on a quiet machine) and its peak memory. One file per PGlite version, under
 * `node_modules/.cache/spfn/` of the working directory, as other tools cache there; without a `node_modules`
 * there is no cache and every new database runs initdb as before. See docs/adr/1101-pglite-template.md.
 * @internal
 */
export class PgliteTemplate {
  readonly path: string | undefined;

  constructor(cacheRoot: string = process.cwd()) {
    const modules = join(cacheRoot, 'node_modules');
    const version = pgliteVersion();
    this.path =
      existsSync(modules) && version !== undefined
        ? join(modules, '.cache', 'spfn', `pglite-${version}.tar`)
        : undefined;
  }

  /** The tarball, or undefined when there is none yet (or no cache). */
  load(): Blob | undefined {
    if (this.path === undefined || !existsSync(this.path)) return undefined;
    try {
      return new Blob([readFileSync(this.path)]);
    } catch {
      return undefined;
    }
  }

  /** Saves a just-initialised database, before anything is written to it. Best effort: a cache is optional. */
  async save(db: PGlite): Promise<void> {
    if (this.path === undefined) return;
    try {
      const tarball = Buffer.from(await (await db.dumpDataDir('none')).arrayBuffer());
      mkdirSync(dirname(this.path), { recursive: true });
      // Written aside then renamed, so that a process starting at the same time never reads half a file.
      const partial = `${this.path}.${process.pid}.partial`;
      writeFileSync(partial, tarball);
      renameSync(partial, this.path);
    } catch {
      // No cache: the next new database runs initdb, as it would without one.
    }
  }

  /** Drops a tarball PGlite could not start from (truncated, another build's). */
  discard(): void {
    if (this.path !== undefined) rmSync(this.path, { force: true });
  }
}

/** True when `dataDir` holds no database yet: memory, or a directory without PG_VERSION. @internal */
export function isNewDataDir(dataDir: string): boolean {
  if (dataDir.startsWith('memory://')) return true;
  if (!existsSync(dataDir)) return true;
  return !existsSync(join(dataDir, 'PG_VERSION')) && readdirSync(dataDir).length === 0;
}

let version: string | null | undefined;

/** The installed PGlite's version (the template must come from the same build), or undefined if unknown. */
function pgliteVersion(): string | undefined {
  if (version === undefined) {
    try {
      const entry = fileURLToPath(import.meta.resolve('@electric-sql/pglite'));
      const pkg = JSON.parse(readFileSync(join(dirname(entry), '..', 'package.json'), 'utf8')) as {
        version?: unknown;
      };
      version = typeof pkg.version === 'string' && /^[\w.+-]+$/.test(pkg.version) ? pkg.version : null;
    } catch {
      version = null;
    }
  }
  return version ?? undefined;
}
