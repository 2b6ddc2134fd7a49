// Installs the peers benchmark's own dependencies when missing and generates the Prisma client.
// Prisma 7's client uses its query compiler with a driver adapter, so no query engine is needed; `prisma
// generate` still checks for the schema engine (used only by migrations, which this benchmark does not run) and
// would try to download it, so an existing file stands in for it.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

export function setup() {
  if (!existsSync(join(here, 'node_modules', '.package-lock.json'))) {
    console.error('bench/peers: installing its dependencies (npm ci --ignore-scripts)…');
    // No install scripts: none of these packages needs one, and Prisma's would try to download engines.
    execFileSync(npm, ['ci', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: here, stdio: 'inherit' });
  }
  if (!existsSync(join(here, 'generated', 'js', 'client.js'))) {
    console.error('bench/peers: generating the Prisma client…');
    execFileSync(join(here, 'node_modules', '.bin', 'prisma'), ['generate', '--schema', 'prisma/schema.prisma'], {
      cwd: here,
      stdio: 'inherit',
      env: { ...process.env, PRISMA_SCHEMA_ENGINE_BINARY: process.execPath, PRISMA_HIDE_UPDATE_MESSAGE: '1' },
    });
    const tsc = join(here, '..', '..', 'node_modules', '.bin', 'tsc');
    execFileSync(
      tsc,
      [
        '--ignoreConfig',
        '--outDir',
        'generated/js',
        '--module',
        'nodenext',
        '--moduleResolution',
        'nodenext',
        '--target',
        'es2022',
        '--skipLibCheck',
        '--types',
        'node',
        '--typeRoots',
        '../../node_modules/@types',
        'generated/prisma/client.ts',
      ],
      { cwd: here, stdio: 'inherit' },
    );
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) setup();
