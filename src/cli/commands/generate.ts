import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { getDrizzleConfig } from '../../migrations/index.js';
import { EXIT, UsageError, type CliIo } from '../io.js';

/** @internal */
export interface GenerateOptions {
  schema?: string | undefined;
  out?: string | undefined;
  name?: string | undefined;
  custom: boolean;
  config?: string | undefined;
}

const CONFIG_FILES = ['drizzle.config.ts', 'drizzle.config.mts', 'drizzle.config.js', 'drizzle.config.mjs'];

/**
 * `spfn db generate`: runs drizzle-kit's `generate` with the settings of `getDrizzleConfig()`, passed as flags so no
 * configuration (and no URL) is written anywhere; generating needs no database. Without `--schema` it uses the
 * project's drizzle.config file.
 * @internal
 */
export async function generateCommand(io: CliIo, options: GenerateOptions): Promise<number> {
  const args = ['generate'];
  if (options.schema !== undefined) {
    const config = getDrizzleConfig({
      schema: options.schema,
      ...(options.out === undefined ? {} : { out: options.out }),
    });
    args.push('--dialect', config.dialect, '--schema', options.schema, '--out', config.out);
  } else {
    const file = options.config ?? CONFIG_FILES.find((f) => existsSync(resolve(io.cwd, f)));
    if (file === undefined) {
      throw new UsageError('spfn db generate needs --schema <path to your schema file> or a drizzle.config.ts');
    }
    if (options.out !== undefined) throw new UsageError('--out goes with --schema; with a config file set `out` there');
    args.push('--config', file);
  }
  if (options.name !== undefined) args.push('--name', options.name);
  if (options.custom) args.push('--custom');
  const bin = drizzleKitBin();
  io.out(`Running drizzle-kit ${args.join(' ')}`);
  // drizzle-kit exits 0 even when it cannot load the schema; it then prints the error on stderr, so stderr is
  // watched (and passed through) while stdin/stdout stay on the terminal for its rename prompts.
  let stderr = '';
  const code = await new Promise<number>((done, fail) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: io.cwd, stdio: ['inherit', 'inherit', 'pipe'] });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr += chunk;
      process.stderr.write(chunk);
    });
    child.once('error', fail);
    child.once('close', (exitCode, signal) => done(exitCode ?? (signal ? 128 : 1)));
  });
  if (code !== 0 || /\bError\b/.test(stderr)) {
    io.err(`drizzle-kit generate failed (exit code ${code}${code === 0 ? ', error on stderr' : ''})`);
    return EXIT.failure;
  }
  return EXIT.ok;
}

function drizzleKitBin(): string {
  const require = createRequire(import.meta.url);
  // drizzle-kit exports no package.json; its CLI sits next to its main file.
  return join(dirname(require.resolve('drizzle-kit')), 'bin.cjs');
}
