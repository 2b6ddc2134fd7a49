import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseEnv } from 'node:util';

/** A read-only view of environment variables. */
export type Env = Readonly<Record<string, string | undefined>>;

let loadedFrom: string | undefined;

/**
 * Loads `.env.local` then `.env` from `cwd` into `process.env`, never overriding a variable that is already set
 * (so `.env.local` wins over `.env`, and the real environment wins over both). Runs once per directory.
 * @internal
 */
export function loadEnvFiles(cwd: string = process.cwd()): void {
  if (loadedFrom === cwd) return;
  loadedFrom = cwd;
  for (const name of ['.env.local', '.env']) {
    const file = resolve(cwd, name);
    if (!existsSync(file)) continue;
    const parsed = parseEnv(readFileSync(file, 'utf8'));
    for (const [key, value] of Object.entries(parsed)) {
      if (process.env[key] === undefined && value !== undefined) process.env[key] = value;
    }
  }
}

/**
 * The environment as the configuration resolver sees it. This module and the resolver are the only places that
 * read `process.env`.
 * @internal
 */
export function currentEnv(): Env {
  loadEnvFiles();
  return process.env;
}
