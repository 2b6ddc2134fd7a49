import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError } from '../errors/index.js';
import type { ServerConfig } from './types.js';

const CANDIDATES = ['server.config.ts', 'server.config.mts', 'server.config.js', 'server.config.mjs'];

/** The config file `startServer()` would load, or undefined. @internal */
export function findConfigFile(option: string | false | undefined, cwd = process.cwd()): string | undefined {
  if (option === false) return undefined;
  if (option !== undefined) {
    const path = isAbsolute(option) ? option : resolve(cwd, option);
    if (!existsSync(path)) throw new ConfigError('configFile', `${path} does not exist`);
    return path;
  }
  return CANDIDATES.map((name) => resolve(cwd, name)).find((path) => existsSync(path));
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * Loads a server config file. TypeScript files go through jiti (Node 20 cannot import `.ts`); the default export
 * must be an object (usually `{ … } satisfies ServerConfig`) or a function returning one.
 * @internal
 */
export async function loadConfigFile(path: string): Promise<ServerConfig> {
  let loaded: unknown;
  try {
    if (/\.m?ts$/.test(path)) {
      const { createJiti } = await import('jiti');
      const jiti = createJiti(import.meta.url, { fsCache: false, moduleCache: false, interopDefault: true });
      loaded = await jiti.import(path, { default: true });
    } else {
      const mod = (await import(pathToFileURL(path).href)) as { default?: unknown };
      loaded = mod.default;
    }
  } catch (err) {
    throw new ConfigError(path, `could not be loaded: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (typeof loaded === 'function') loaded = await (loaded as () => unknown)();
  if (!isPlainObject(loaded)) {
    throw new ConfigError(path, 'must default-export an object: export default { … } satisfies ServerConfig');
  }
  return loaded;
}

/** Merges plain objects recursively; anything else (arrays, apps, schemas' tables) in `over` replaces. @internal */
export function mergeConfig<T extends object>(base: T, over: T): T {
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [key, value] of Object.entries(over as Record<string, unknown>)) {
    if (value === undefined) continue;
    const current = out[key];
    out[key] = isPlainObject(current) && isPlainObject(value) && key !== 'schema' ? mergeConfig(current, value) : value;
  }
  return out as T;
}
