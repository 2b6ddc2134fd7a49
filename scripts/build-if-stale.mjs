// `npm start` builds the package only when it is missing or older than its sources: tsc takes
// a minute on a busy machine, and most starts change nothing. Stale means: a file under src/, package.json or a
// tsconfig is newer than the oldest file under dist/ (tsc rewrites every output file on each build).
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');

function times(dir, pick) {
  let entries;
  try {
    entries = readdirSync(join(root, dir), { recursive: true, withFileTypes: true });
  } catch {
    return [];
  }
  return entries.filter((e) => e.isFile()).map((e) => statSync(join(e.parentPath, e.name)).mtimeMs).reduce(pick, []);
}

const newest = (acc, t) => [Math.max(acc[0] ?? 0, t)];
const oldest = (acc, t) => [Math.min(acc[0] ?? Infinity, t)];

const [newestSource = 0] = [
  ...times('src', newest),
  ...['package.json', 'tsconfig.json', 'tsconfig.build.json'].map((f) => statSync(join(root, f)).mtimeMs),
].reduce(newest, []);
const [oldestOutput] = times('dist', oldest);

if (oldestOutput !== undefined && oldestOutput >= newestSource) {
  console.log('dist/ is up to date with src/: not rebuilding');
} else {
  console.log(oldestOutput === undefined ? 'dist/ is missing: building' : 'src/ changed since the last build: building');
  const run = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
  process.exit(run.status ?? 1);
}
