import { ConfigError } from '../errors/index.js';
import type { Limit } from './limits.js';

/** Where a raw value came from, for the error message. */
export interface Source {
  /** The variable or option name reported in a ConfigError. */
  name: string;
  /** The raw value: an option value or an environment string. */
  value: unknown;
}

export function pick(
  option: unknown,
  optionName: string,
  env: string | undefined,
  envName: string,
): Source | undefined {
  if (option !== undefined) return { name: optionName, value: option };
  if (env !== undefined && env.trim() !== '') return { name: envName, value: env.trim() };
  return undefined;
}

/** An integer within `limit`, from a number option or a decimal environment string. */
export function integer(src: Source | undefined, fallback: number, limit: Limit): number {
  if (src === undefined) return fallback;
  const { name, value } = src;
  const { min, max, unit } = limit;
  const n =
    typeof value === 'number' ? value : typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new ConfigError(
      name,
      `expected an integer from ${min} to ${max}${unit ? ` (${unit})` : ''}, got ${describe(value)}`,
    );
  }
  return n;
}

const TRUE = new Set(['true', '1', 'yes', 'on']);
const FALSE = new Set(['false', '0', 'no', 'off']);

export function boolean(src: Source | undefined, fallback: boolean): boolean {
  if (src === undefined) return fallback;
  const { name, value } = src;
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string') {
    const v = value.toLowerCase();
    if (TRUE.has(v)) return true;
    if (FALSE.has(v)) return false;
  }
  throw new ConfigError(name, `expected true or false (also 1/0, yes/no, on/off), got ${describe(value)}`);
}

export function oneOf<T extends string>(src: Source | undefined, fallback: T, allowed: readonly T[]): T {
  if (src === undefined) return fallback;
  const { name, value } = src;
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  throw new ConfigError(name, `expected one of ${allowed.join(', ')}, got ${describe(value)}`);
}

export function string(src: Source | undefined, fallback: string): string {
  if (src === undefined) return fallback;
  if (typeof src.value === 'string' && src.value.length > 0) return src.value;
  throw new ConfigError(src.name, `expected a non-empty string, got ${describe(src.value)}`);
}

/** Describes a rejected value without echoing long or secret-looking strings. */
function describe(value: unknown): string {
  if (typeof value === 'string') return value.length > 40 || value.includes('@') ? 'an invalid string' : `"${value}"`;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return typeof value;
}

const EMBEDDED_PREFIX = 'pglite://';

/**
 * The data directory of a `pglite://<dir>` URL (`pglite://memory` is `memory://`: nothing on disk), or undefined
 * when `value` is not such a URL.
 */
export function embeddedUrl(name: string, value: string): string | undefined {
  const trimmed = value.trim();
  if (!trimmed.startsWith(EMBEDDED_PREFIX)) return undefined;
  const dir = trimmed.slice(EMBEDDED_PREFIX.length);
  if (dir === '')
    throw new ConfigError(name, 'pglite:// needs a directory, e.g. pglite://./.data/pglite or pglite://memory');
  return dir === 'memory' ? 'memory://' : dir;
}

const URL_PROTOCOLS = new Set(['postgres:', 'postgresql:']);

/**
 * Checks a PostgreSQL connection string. The value is never echoed: it may contain a password.
 */
export function databaseUrl(name: string, value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new ConfigError(name, 'expected a connection string postgres://user:password@host:port/database');
  }
  const trimmed = value.trim();
  const hosts = hostList(trimmed);
  let url: URL;
  try {
    // postgres.js accepts a host list (h1:5432,h2:5433) that WHATWG URL does not: check the first host in the
    // URL and the others one by one.
    url = new URL(hosts.length > 1 ? trimmed.replace(hosts.join(','), hosts[0]!) : trimmed);
    for (const host of hosts.slice(1)) new URL(`postgres://${host}`);
  } catch {
    throw new ConfigError(name, 'is not a valid URL; expected postgres://user:password@host:port/database');
  }
  if (!URL_PROTOCOLS.has(url.protocol)) {
    throw new ConfigError(
      name,
      'must start with postgres:// or postgresql:// (or pglite:// for the embedded database)',
    );
  }
  if (url.hostname === '' && !url.searchParams.has('host')) {
    throw new ConfigError(name, 'has no host; expected postgres://user:password@host:port/database');
  }
  if (url.port !== '' && !(Number(url.port) > 0 && Number(url.port) < 65536)) {
    throw new ConfigError(name, 'has an invalid port');
  }
  try {
    // postgres.js decodes these two; a malformed escape would surface later as a bare URIError.
    decodeURIComponent(url.username);
    decodeURIComponent(url.password);
  } catch {
    throw new ConfigError(name, 'has invalid percent-encoding in the user or password; encode % as %25');
  }
  return trimmed;
}

/** The comma-separated hosts of a connection string's authority, as postgres.js reads them. */
function hostList(url: string): string[] {
  const authority = url.slice(url.indexOf('://') + 3).split(/[?/]/)[0] ?? '';
  const hosts = authority.slice(authority.lastIndexOf('@') + 1);
  return hosts.includes(',') ? hosts.split(',') : [hosts];
}

export function redisUrl(name: string, value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(name, 'is not a valid URL; expected redis://[:password@]host:port[/db]');
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new ConfigError(name, 'must start with redis:// or rediss://');
  }
  return value;
}
