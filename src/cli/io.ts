/** Where the CLI writes: the process's streams, or buffers in tests. @internal */
export interface CliIo {
  out(line: string): void;
  err(line: string): void;
  /** Working directory the command runs in (paths and .env files are relative to it). */
  cwd: string;
}

/** Exit codes of `spfn`. */
export const EXIT = {
  ok: 0,
  /** The command failed (database unreachable, migration error…). */
  failure: 1,
  /** Bad arguments or configuration. */
  usage: 2,
  /** `spfn db status --check` found pending migrations. */
  pending: 3,
} as const;

/** Thrown for a bad command line; printed with the usage. @internal */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export function ms(value: number): string {
  return value < 1000 ? `${Math.round(value)} ms` : `${(value / 1000).toFixed(1)} s`;
}

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
