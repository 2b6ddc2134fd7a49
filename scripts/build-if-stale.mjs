// `npm start` builds the package only when it is missing or older than its sources: tsc takes a minute on a busy
// machine, and most starts change nothing. Stale means: a file under src/, package.json or a tsconfig is newer
// than the oldest file under dist/ (tsc rewrites every output file on each build).
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');

/**
 * Modification times (ms) of `path`, or of every file under it; none when it does not exist.
 * @param {string} path
 */
function mtimes(path) {
  /** @type {number[]} */
  const times = [];
  try {
    const stat = statSync(join(root, path));
    if (stat.isFile()) return [stat.mtimeMs];
    for (const entry of readdirSync(join(root, path), { recursive: true, withFileTypes: true })) {
      if (entry.isFile()) times.push(statSync(join(entry.parentPath, entry.name)).mtimeMs);
    }
  } catch {
    // missing: no times
  }
  return times;
}

const sources = [
  ...mtimes('src'),
  ...['package.json', 'tsconfig.json', 'tsconfig.build.json'].flatMap((f) => mtimes(f)),
];
const outputs = mtimes('dist');

if (outputs.length > 0 && Math.min(...outputs) >= Math.max(...sources)) {
  console.log('dist/ is up to date with src/: not rebuilding');
} else {
  console.log(outputs.length === 0 ? 'dist/ is missing: building' : 'src/ changed since the last build: building');
  const run = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
  process.exit(run.status ?? 1);
}
