import { describe, expect, it } from 'vitest';
import { checkOptions, is, MAX_MILLISECONDS, resolveDatabaseConfig, type Shape } from '../../src/config/index.js';
import { ConfigError, InvalidQueryError } from '../../src/errors/index.js';

const SHAPE: Shape = {
  limit: is.integer(0, 100),
  name: is.string,
  flag: is.boolean,
  mode: is.oneOf(['a', 'b']),
  nested: is.object({ depth: is.integer(1, 3, 'levels') }),
  cursor: is.nullable(is.string),
  target: is.anyOf('a column name or a list of them', is.string, is.arrayOf(is.string)),
};

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a throw');
}

describe('checkOptions', () => {
  it('accepts undefined, an empty object and every listed key with a valid value', () => {
    expect(() => checkOptions(undefined, SHAPE, 'f()')).not.toThrow();
    expect(() => checkOptions({}, SHAPE, 'f()')).not.toThrow();
    expect(() =>
      checkOptions(
        { limit: 0, name: 'x', flag: false, mode: 'b', nested: { depth: 3 }, cursor: null, target: ['a', 'b'] },
        SHAPE,
        'f()',
      ),
    ).not.toThrow();
    expect(() => checkOptions({ limit: undefined, target: 'a' }, SHAPE, 'f()')).not.toThrow();
    expect(() => checkOptions(Object.assign(Object.create(null) as object, { limit: 1 }), SHAPE, 'f()')).not.toThrow();
  });

  it('refuses an unknown key with a ConfigError naming it and listing the accepted keys', () => {
    const err = thrown(() => checkOptions({ limt: 1 }, SHAPE, 'f()'));
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).variable).toBe('limt');
    expect(err.message).toBe('limt: is not an option; accepted: limit, name, flag, mode, nested, cursor, target (f())');
  });

  it('refuses unknown nested keys by their path', () => {
    const err = thrown(() => checkOptions({ nested: { dept: 1 } }, SHAPE, 'f()')) as ConfigError;
    expect(err.variable).toBe('nested.dept');
    expect(err.message).toMatch(/accepted: depth/);
  });

  it('uses InvalidQueryError for query options', () => {
    const err = thrown(() => checkOptions({ filters: { a: 1 } }, SHAPE, 'findMany()', 'query'));
    expect(err).toBeInstanceOf(InvalidQueryError);
    expect(err.message).toMatch(/^findMany\(\): option "filters" is not an option; accepted: limit, name/);
  });

  it.each([
    [{ limit: '10' }, 'limit', /integer from 0 to 100, got the string "10"/],
    [{ limit: 1.5 }, 'limit', /integer from 0 to 100, got 1.5/],
    [{ limit: 101 }, 'limit', /integer from 0 to 100, got 101/],
    [{ limit: Number.NaN }, 'limit', /got NaN/],
    [{ name: '' }, 'name', /non-empty string/],
    [{ flag: 'true' }, 'flag', /true or false/],
    [{ mode: 'c' }, 'mode', /one of a, b/],
    [{ nested: { depth: 0 } }, 'nested.depth', /integer from 1 to 3 \(levels\)/],
    [{ nested: 'deep' }, 'nested', /plain object/],
    [{ cursor: 5 }, 'cursor', /non-empty string/],
    [{ target: 5 }, 'target', /a column name or a list of them, got 5/],
    [{ target: ['a', 5] }, 'target', /a column name or a list of them/],
  ])('refuses %j naming %s', (options, key, reason) => {
    const err = thrown(() => checkOptions(options, SHAPE, 'f()')) as ConfigError;
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.variable).toBe(key);
    expect(err.message).toMatch(reason);
  });

  it.each([
    ['a string', 'postgres://u:secret@h/d'],
    ['an array', []],
    ['a class instance', new (class PostgresJsDatabase {})()],
    ['null', null],
    ['a function', () => undefined],
  ])('refuses %s in place of the options object', (_, value) => {
    const err = thrown(() => checkOptions(value, SHAPE, 'initDatabase()'));
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toMatch(/expected the options of initDatabase\(\) as a plain object/);
    expect(err.message).not.toContain('secret');
  });

  it('never echoes a string value that may be a secret or SQL', () => {
    const err = thrown(() => checkOptions({ limit: '1000; create table x(i int); select 1' }, SHAPE, 'f()'));
    expect(err.message).not.toContain('create table');
    const secret = thrown(() => checkOptions({ flag: 'postgres://u:pw@h/d' }, SHAPE, 'f()'));
    expect(secret.message).not.toContain('pw');
  });
});

describe('database options', () => {
  it('refuses a misspelt key with the accepted ones', () => {
    const err = thrown(() => resolveDatabaseConfig({ databaseUrl: 'postgres://h/d' } as never, {})) as ConfigError;
    expect(err.variable).toBe('databaseUrl');
    expect(err.message).toMatch(/accepted: url, readUrls, embedded, pool, healthCheck/);
  });

  it(`caps timeouts at ${MAX_MILLISECONDS} ms`, () => {
    expect(resolveDatabaseConfig({ transaction: { timeout: MAX_MILLISECONDS } }, {}).transaction.timeout).toBe(
      MAX_MILLISECONDS,
    );
    for (const timeout of [MAX_MILLISECONDS + 1, 2_147_483_647, 2 ** 31]) {
      const err = thrown(() => resolveDatabaseConfig({ transaction: { timeout } }, {})) as ConfigError;
      expect(err.variable).toBe('transaction.timeout');
      expect(err.message).toMatch(/integer from 0 to 2000000000 \(milliseconds, 0 disables\)/);
    }
    const env = thrown(() => resolveDatabaseConfig({}, { TRANSACTION_TIMEOUT: '2147483647' })) as ConfigError;
    expect(env.variable).toBe('TRANSACTION_TIMEOUT');
  });
});
