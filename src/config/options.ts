import { ConfigError, InvalidQueryError } from '../errors/index.js';

/**
 * The one run-time check of every options object of the public API. TypeScript callers get compile errors for a
 * typo'd key; JavaScript callers and `as any` do not, and a silently dropped `where` is a whole-table answer. So
 * each public entry point describes its options once as a {@link Shape} and calls {@link checkOptions}: an
 * unknown key or a value of the wrong type is an error naming the key and listing the accepted ones. Values are
 * never echoed beyond a number or a short, non-secret-looking string.
 *
 * Adding an option to a public API means adding its key here, next to the entry point's shape.
 * @internal
 */

/** Raises the error for `key` (a dotted path such as `pool.max`) with `reason`. */
export type Fail = (key: string, reason: string) => never;

/** Checks one value (never undefined: an undefined option is the same as an absent one). */
export type Rule = (value: unknown, key: string, fail: Fail) => void;

/** The accepted keys of an options object and the rule of each. */
export type Shape = Readonly<Record<string, Rule>>;

/** Which error a refused option becomes: ConfigError for configuration, InvalidQueryError for query options. */
export type OptionsErrorKind = 'config' | 'query';

/** The largest millisecond value accepted by timeouts and delays (about 23 days; below setTimeout's 2^31−1). */
export const MAX_MILLISECONDS = 2_000_000_000;

/** Describes a rejected value without echoing strings that may be long or secret. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (typeof value === 'string') {
    return value.length > 40 || /[@:/;'"\\\s]/.test(value) ? 'a string' : `the string "${value}"`;
  }
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') {
    const name = (Object.getPrototypeOf(value) as { constructor?: { name?: string } } | null)?.constructor?.name;
    return name && name !== 'Object' ? `a ${name}` : 'an object';
  }
  return typeof value === 'function' ? 'a function' : typeof value;
}

/** True for `{}` literals and `Object.create(null)`: not class instances, arrays or functions. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

function fail(kind: OptionsErrorKind, where: string): Fail {
  return (key, reason) => {
    if (kind === 'config') throw new ConfigError(key, `${reason} (${where})`);
    throw new InvalidQueryError(`${where}: option "${key}" ${reason}`);
  };
}

function checkShape(value: unknown, shape: Shape, prefix: string, failWith: Fail, what: string): void {
  if (!isPlainObject(value)) {
    failWith(prefix || 'options', `expected ${what} as a plain object, got ${describeValue(value)}`);
  }
  const accepted = Object.keys(shape);
  for (const [key, v] of Object.entries(value)) {
    const path = prefix ? `${prefix}.${key}` : key;
    const rule = Object.hasOwn(shape, key) ? shape[key] : undefined;
    if (rule === undefined) {
      failWith(path, `is not an option; accepted: ${accepted.length > 0 ? accepted.join(', ') : 'none'}`);
    }
    if (v !== undefined) rule(v, path, failWith);
  }
}

/**
 * Refuses an options object with an unknown key or a value of the wrong type. `undefined` options pass (every
 * options argument is optional); anything else must be a plain object.
 *
 * @param where the entry point, for the message: `initDatabase()`, `findMany()`…
 * @param prefix a path the keys are reported under (`pool` for the pool settings: `pool.max`)
 */
export function checkOptions(
  options: unknown,
  shape: Shape,
  where: string,
  kind: OptionsErrorKind = 'config',
  prefix = '',
): void {
  if (options === undefined) return;
  checkShape(options, shape, prefix, fail(kind, where), `the options of ${where}`);
}

/** The rules the shapes are built from. */
export const is = {
  /** Anything (a schema, a Hono app, a registry): checked where it is used. */
  any: (() => undefined) as Rule,

  boolean: ((value, key, f) => {
    if (typeof value !== 'boolean') f(key, `expected true or false, got ${describeValue(value)}`);
  }) as Rule,

  string: ((value, key, f) => {
    if (typeof value !== 'string' || value.length === 0) {
      f(key, `expected a non-empty string, got ${describeValue(value)}`);
    }
  }) as Rule,

  function: ((value, key, f) => {
    if (typeof value !== 'function') f(key, `expected a function, got ${describeValue(value)}`);
  }) as Rule,

  /** An integer from `min` to `max`; `unit` (e.g. `milliseconds, 0 disables`) goes into the message. */
  integer(min: number, max: number, unit?: string): Rule {
    return (value, key, f) => {
      if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
        f(key, `expected an integer from ${min} to ${max}${unit ? ` (${unit})` : ''}, got ${describeValue(value)}`);
      }
    };
  },

  /** One of the listed strings. */
  oneOf(values: readonly string[]): Rule {
    return (value, key, f) => {
      if (typeof value !== 'string' || !values.includes(value)) {
        f(key, `expected one of ${values.join(', ')}, got ${describeValue(value)}`);
      }
    };
  },

  /** A plain object with these keys (unknown keys refused too). */
  object(shape: Shape): Rule {
    return (value, key, f) => checkShape(value, shape, key, f, `"${key}"`);
  },

  /** An array whose items all pass `item`. */
  arrayOf(item: Rule): Rule {
    return (value, key, f) => {
      if (!Array.isArray(value)) return f(key, `expected an array, got ${describeValue(value)}`);
      (value as unknown[]).forEach((v, i) => item(v, `${key}[${i}]`, f));
    };
  },

  /** Passes when any of `rules` passes; otherwise the message says `expected`. */
  anyOf(expected: string, ...rules: Rule[]): Rule {
    return (value, key, f) => {
      for (const rule of rules) {
        try {
          rule(value, key, () => {
            throw NO_MATCH;
          });
          return;
        } catch (err) {
          if (err !== NO_MATCH) throw err;
        }
      }
      f(key, `expected ${expected}, got ${describeValue(value)}`);
    };
  },

  /** `null` (accepted as such), or what `rule` accepts. */
  nullable(rule: Rule): Rule {
    return (value, key, f) => {
      if (value !== null) rule(value, key, f);
    };
  },
} as const;

/** Thrown by a rule tried inside `anyOf`; never leaves it. */
const NO_MATCH = new Error('no match');
