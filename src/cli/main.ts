import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ConfigError, DatabaseError } from '../errors/index.js';
import { createLogger, setLogger } from '../logger/index.js';
import { generateCommand } from './commands/generate.js';
import { migrateCommand } from './commands/migrate.js';
import { statusCommand } from './commands/status.js';
import { EXIT, UsageError, type CliIo } from './io.js';

const USAGE = `Usage: spfn db <command> [options]

Commands:
  migrate     apply pending migrations (under a lock: safe from several instances at once)
  status      list applied and pending migrations
  generate    write a migration from your schema changes (runs drizzle-kit generate)

Options:
  --folder <dir>    migrations folder for migrate/status (default DB_MIGRATIONS_FOLDER or ./server/db/migrations)
  --check           status: exit with code 3 when migrations are pending
  --schema <path>   generate: your schema file(s); without it drizzle.config.ts is used
  --out <dir>       generate: output folder (default DB_MIGRATIONS_FOLDER or ./server/db/migrations)
  --name <name>     generate: migration name
  --custom          generate: an empty migration for your own SQL
  --config <file>   generate: a drizzle-kit config file
  --verbose         show the package's log lines
  -h, --help        this help
  -v, --version     the version

The database comes from DATABASE_URL (or DATABASE_WRITE_URL); unset, the embedded PGlite in PGLITE_DATA_DIR.
.env.local and .env in the working directory are read. Exit codes: 0 ok, 1 failed, 2 bad usage or configuration,
3 pending migrations (status --check).`;

/**
 * Runs `spfn` with `argv` (without the node and script paths) and returns the exit code.
 * @internal
 */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (err) {
    io.err(`spfn: ${(err as Error).message}`);
    io.err('Run `spfn --help` for usage.');
    return EXIT.usage;
  }
  const { values, positionals } = parsed;
  if (values.version) {
    io.out(version());
    return EXIT.ok;
  }
  if (values.help || positionals.length === 0) {
    io.out(USAGE);
    return positionals.length === 0 && !values.help ? EXIT.usage : EXIT.ok;
  }
  setLogger(createLogger({ level: values.verbose ? 'debug' : 'warn' }));
  try {
    const [group, command, ...rest] = positionals;
    if (group !== 'db') throw new UsageError(`unknown command "${group}"; the commands are under "spfn db"`);
    if (rest.length > 0) throw new UsageError(`unexpected argument "${rest[0]}"`);
    switch (command) {
      case 'migrate':
        return await migrateCommand(io, { folder: values.folder });
      case 'status':
        return await statusCommand(io, { folder: values.folder, check: values.check === true });
      case 'generate':
        return await generateCommand(io, {
          schema: values.schema,
          out: values.out,
          name: values.name,
          custom: values.custom === true,
          config: values.config,
        });
      default:
        throw new UsageError(
          command === undefined ? 'missing command: migrate, status or generate' : `unknown command "db ${command}"`,
        );
    }
  } catch (err) {
    return report(io, err);
  }
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      folder: { type: 'string' },
      check: { type: 'boolean' },
      schema: { type: 'string' },
      out: { type: 'string' },
      name: { type: 'string' },
      custom: { type: 'boolean' },
      config: { type: 'string' },
      verbose: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean', short: 'v' },
    },
  });
}

function report(io: CliIo, err: unknown): number {
  if (err instanceof UsageError) {
    io.err(`spfn: ${err.message}`);
    io.err('Run `spfn --help` for usage.');
    return EXIT.usage;
  }
  if (err instanceof ConfigError) {
    io.err(`spfn: invalid configuration: ${err.message}`);
    return EXIT.usage;
  }
  if (err instanceof DatabaseError) {
    io.err(`spfn: ${err.message} [${err.code}]`);
    const cause = err.cause;
    if (cause instanceof DatabaseError && !err.message.includes(cause.message)) io.err(`  caused by: ${cause.message}`);
    return EXIT.failure;
  }
  io.err(`spfn: ${err instanceof Error ? err.message : String(err)}`);
  return EXIT.failure;
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}
