import { describe, expect, it } from 'vitest';
import {
  getHealthCheckConfig,
  getPoolConfig,
  resolveDatabaseConfig,
  resolveLogLevel,
  resolveRedisConfig,
  resolveServerConfig,
  type Env,
} from '../../src/config/index.js';
import { ConfigError } from '../../src/errors/index.js';

const URL_A = 'postgres://app:pw-a@db-a:5432/app';
const URL_B = 'postgres://app:pw-b@db-b:5432/app';

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError, nothing was thrown');
}

describe('defaults by NODE_ENV', () => {
  it('outside production: pool 10/20, health check true/60000/true/3/5000, monitoring on', () => {
    for (const NODE_ENV of [undefined, 'development', 'test', 'staging']) {
      const c = resolveDatabaseConfig({}, { NODE_ENV });
      expect(c.pool).toEqual({
        max: 10,
        idleTimeout: 20,
        acquireTimeout: 10_000,
        connectTimeout: 10,
        maxLifetime: 1800,
      });
      expect(c.healthCheck).toEqual({
        enabled: true,
        interval: 60_000,
        reconnect: true,
        maxRetries: 3,
        retryInterval: 5000,
      });
      expect(c.monitoring).toEqual({ enabled: true, slowThreshold: 1000 });
      expect(c.production).toBe(false);
      expect(c.nodeEnv).toBe(NODE_ENV ?? 'development');
    }
  });

  it('in production: pool 20/30 and monitoring off, the rest unchanged', () => {
    const c = resolveDatabaseConfig({}, { NODE_ENV: 'production', DATABASE_URL: 'postgres://app@db/app' });
    expect(c.pool.max).toBe(20);
    expect(c.pool.idleTimeout).toBe(30);
    expect(c.pool.acquireTimeout).toBe(10_000);
    expect(c.healthCheck).toEqual({
      enabled: true,
      interval: 60_000,
      reconnect: true,
      maxRetries: 3,
      retryInterval: 5000,
    });
    expect(c.monitoring.enabled).toBe(false);
    expect(c.production).toBe(true);
  });

  it('every other setting has its documented default', () => {
    const c = resolveDatabaseConfig({}, {});
    expect(c.url).toBeUndefined();
    expect(c.urlSource).toBeUndefined();
    expect(c.readUrls).toEqual([]);
    expect(c.connectRetries).toBe(2);
    expect(c.connectRetryDelay).toBe(250);
    expect(c.transaction.timeout).toBe(30_000);
    expect(c.readConsistency).toBe('lsn');
    expect(c.stickyWindow).toBe(2000);
    expect(c.prepare).toBe(true);
    expect(c.migrations).toEqual({ auto: false, folder: './server/db/migrations' });
    expect(c.pgliteDataDir).toBe('./.data/pglite');
    expect(c.applicationName).toBe('spfn');
    expect(resolveLogLevel(undefined, {})).toBe('info');
    expect(resolveServerConfig({}, {})).toEqual({ port: 8790, host: '0.0.0.0', shutdownTimeout: 10_000 });
    expect(resolveRedisConfig({}, {})).toEqual({ writeUrl: undefined, readUrl: undefined });
  });

  it('the resolved config is frozen, nested objects too', () => {
    const c = resolveDatabaseConfig({}, {});
    for (const part of [c, c.pool, c.healthCheck, c.monitoring, c.transaction, c.migrations, c.readUrls]) {
      expect(Object.isFrozen(part)).toBe(true);
    }
    expect(() => {
      (c.pool as { max: number }).max = 99;
    }).toThrow(TypeError);
  });
});

/**
 * Every variable: its environment name, the option that overrides it, a valid environment string with the value
 * it resolves to, an option value, and where the result lands in the resolved config.
 */
interface Variable {
  env: string;
  option: string;
  envValue: string;
  parsed: unknown;
  optionValue: unknown;
  read: (options: Record<string, unknown>, env: Env) => unknown;
  invalid: string[];
  accepted: RegExp;
}

function nest(path: string, value: unknown): Record<string, unknown> {
  const keys = path.split('.');
  let out: Record<string, unknown> = { [keys.pop()!]: value };
  while (keys.length > 0) out = { [keys.pop()!]: out };
  return out;
}

const db = (pick: (c: ReturnType<typeof resolveDatabaseConfig>) => unknown) => (o: Record<string, unknown>, e: Env) =>
  pick(resolveDatabaseConfig(o, e));
const BOOL = /expected true or false/;
const NOT_INT = ['abc', '-1', '1.5', '1e3', '0x10', 'ten', '12abc'];
const NOT_BOOL = ['maybe', '2', 'tru', 'enabled'];

const VARIABLES: Variable[] = [
  {
    env: 'DB_POOL_MAX',
    option: 'pool.max',
    envValue: '7',
    parsed: 7,
    optionValue: 3,
    read: db((c) => c.pool.max),
    invalid: [...NOT_INT, '0'],
    accepted: /integer from 1 to \d+/,
  },
  {
    env: 'DB_POOL_IDLE_TIMEOUT',
    option: 'pool.idleTimeout',
    envValue: '45',
    parsed: 45,
    optionValue: 0,
    read: db((c) => c.pool.idleTimeout),
    invalid: NOT_INT,
    accepted: /integer from 0 to \d+ \(seconds\)/,
  },
  {
    env: 'DB_POOL_ACQUIRE_TIMEOUT',
    option: 'pool.acquireTimeout',
    envValue: '2500',
    parsed: 2500,
    optionValue: 100,
    read: db((c) => c.pool.acquireTimeout),
    invalid: [...NOT_INT, '0'],
    accepted: /integer from 1 to \d+ \(milliseconds\)/,
  },
  {
    env: 'DB_CONNECT_TIMEOUT',
    option: 'pool.connectTimeout',
    envValue: '3',
    parsed: 3,
    optionValue: 1,
    read: db((c) => c.pool.connectTimeout),
    invalid: [...NOT_INT, '0'],
    accepted: /integer from 1 to \d+ \(seconds\)/,
  },
  {
    env: 'DB_POOL_MAX_LIFETIME',
    option: 'pool.maxLifetime',
    envValue: '600',
    parsed: 600,
    optionValue: 0,
    read: db((c) => c.pool.maxLifetime),
    invalid: NOT_INT,
    accepted: /integer from 0 to \d+ \(seconds\)/,
  },
  {
    env: 'DB_HEALTH_CHECK_ENABLED',
    option: 'healthCheck.enabled',
    envValue: 'off',
    parsed: false,
    optionValue: true,
    read: db((c) => c.healthCheck.enabled),
    invalid: NOT_BOOL,
    accepted: BOOL,
  },
  {
    env: 'DB_HEALTH_CHECK_INTERVAL',
    option: 'healthCheck.interval',
    envValue: '15000',
    parsed: 15_000,
    optionValue: 500,
    read: db((c) => c.healthCheck.interval),
    invalid: [...NOT_INT, '0'],
    accepted: /integer from 1 to \d+ \(milliseconds\)/,
  },
  {
    env: 'DB_HEALTH_CHECK_RECONNECT',
    option: 'healthCheck.reconnect',
    envValue: 'no',
    parsed: false,
    optionValue: true,
    read: db((c) => c.healthCheck.reconnect),
    invalid: NOT_BOOL,
    accepted: BOOL,
  },
  {
    env: 'DB_HEALTH_CHECK_MAX_RETRIES',
    option: 'healthCheck.maxRetries',
    envValue: '0',
    parsed: 0,
    optionValue: 9,
    read: db((c) => c.healthCheck.maxRetries),
    invalid: NOT_INT,
    accepted: /integer from 0 to \d+/,
  },
  {
    env: 'DB_HEALTH_CHECK_RETRY_INTERVAL',
    option: 'healthCheck.retryInterval',
    envValue: '750',
    parsed: 750,
    optionValue: 50,
    read: db((c) => c.healthCheck.retryInterval),
    invalid: [...NOT_INT, '0'],
    accepted: /integer from 1 to \d+ \(milliseconds\)/,
  },
  {
    env: 'DB_CONNECT_RETRIES',
    option: 'connectRetries',
    envValue: '5',
    parsed: 5,
    optionValue: 0,
    read: db((c) => c.connectRetries),
    invalid: NOT_INT,
    accepted: /integer from 0 to \d+/,
  },
  {
    env: 'DB_CONNECT_RETRY_DELAY',
    option: 'connectRetryDelay',
    envValue: '0',
    parsed: 0,
    optionValue: 40,
    read: db((c) => c.connectRetryDelay),
    invalid: NOT_INT,
    accepted: /integer from 0 to \d+ \(milliseconds\)/,
  },
  {
    env: 'DB_MONITORING_ENABLED',
    option: 'monitoring.enabled',
    envValue: 'FALSE',
    parsed: false,
    optionValue: true,
    read: db((c) => c.monitoring.enabled),
    invalid: NOT_BOOL,
    accepted: BOOL,
  },
  {
    env: 'DB_SLOW_QUERY_THRESHOLD',
    option: 'monitoring.slowThreshold',
    envValue: '250',
    parsed: 250,
    optionValue: 0,
    read: db((c) => c.monitoring.slowThreshold),
    invalid: NOT_INT,
    accepted: /integer from 0 to \d+ \(milliseconds\)/,
  },
  {
    env: 'TRANSACTION_TIMEOUT',
    option: 'transaction.timeout',
    envValue: '0',
    parsed: 0,
    optionValue: 1234,
    read: db((c) => c.transaction.timeout),
    invalid: NOT_INT,
    accepted: /integer from 0 to \d+ \(milliseconds, 0 disables\)/,
  },
  {
    env: 'DB_READ_CONSISTENCY',
    option: 'readConsistency',
    envValue: 'sticky',
    parsed: 'sticky',
    optionValue: 'none',
    read: db((c) => c.readConsistency),
    invalid: ['LSN', 'strong', 'eventual', '1'],
    accepted: /expected one of lsn, sticky, none/,
  },
  {
    env: 'DB_READ_STICKY_WINDOW',
    option: 'stickyWindow',
    envValue: '5000',
    parsed: 5000,
    optionValue: 0,
    read: db((c) => c.stickyWindow),
    invalid: NOT_INT,
    accepted: /integer from 0 to \d+ \(milliseconds\)/,
  },
  {
    env: 'DB_PREPARE',
    option: 'prepare',
    envValue: 'false',
    parsed: false,
    optionValue: true,
    read: db((c) => c.prepare),
    invalid: NOT_BOOL,
    accepted: BOOL,
  },
  {
    env: 'AUTO_MIGRATE',
    option: 'migrations.auto',
    envValue: 'true',
    parsed: true,
    optionValue: false,
    read: db((c) => c.migrations.auto),
    invalid: NOT_BOOL,
    accepted: BOOL,
  },
  {
    env: 'DB_MIGRATIONS_FOLDER',
    option: 'migrations.folder',
    envValue: './db/migrations',
    parsed: './db/migrations',
    optionValue: '/srv/migrations',
    read: db((c) => c.migrations.folder),
    invalid: [],
    accepted: /non-empty string/,
  },
  {
    env: 'PGLITE_DATA_DIR',
    option: 'pgliteDataDir',
    envValue: 'memory://',
    parsed: 'memory://',
    optionValue: '/tmp/pglite-x',
    read: db((c) => c.pgliteDataDir),
    invalid: [],
    accepted: /non-empty string/,
  },
  {
    env: 'DB_APPLICATION_NAME',
    option: 'applicationName',
    envValue: 'billing',
    parsed: 'billing',
    optionValue: 'billing-worker',
    read: db((c) => c.applicationName),
    invalid: [],
    accepted: /non-empty string/,
  },
  {
    env: 'LOG_LEVEL',
    option: 'level',
    envValue: 'debug',
    parsed: 'debug',
    optionValue: 'silent',
    read: (o, e) => resolveLogLevel(o.level as never, e),
    invalid: ['verbose', 'INFO', 'warning', '3'],
    accepted: /expected one of fatal, error, warn, info, debug, trace, silent/,
  },
  {
    env: 'PORT',
    option: 'port',
    envValue: '3000',
    parsed: 3000,
    optionValue: 0,
    read: (o, e) => resolveServerConfig(o, e).port,
    invalid: [...NOT_INT, '65536', '99999'],
    accepted: /integer from 0 to 65535/,
  },
  {
    env: 'HOST',
    option: 'host',
    envValue: '127.0.0.1',
    parsed: '127.0.0.1',
    optionValue: '::',
    read: (o, e) => resolveServerConfig(o, e).host,
    invalid: [],
    accepted: /non-empty string/,
  },
  {
    env: 'SHUTDOWN_TIMEOUT',
    option: 'shutdownTimeout',
    envValue: '25000',
    parsed: 25_000,
    optionValue: 0,
    read: (o, e) => resolveServerConfig(o, e).shutdownTimeout,
    invalid: NOT_INT,
    accepted: /integer from 0 to \d+ \(milliseconds\)/,
  },
];

describe.each(VARIABLES)('$env', (v) => {
  it('is read from the environment, trimmed', () => {
    expect(v.read({}, { [v.env]: v.envValue })).toEqual(v.parsed);
    expect(v.read({}, { [v.env]: `  ${v.envValue}  ` })).toEqual(v.parsed);
  });

  it('an explicit option wins over the environment', () => {
    expect(v.read(nest(v.option, v.optionValue), { [v.env]: v.envValue })).toEqual(v.optionValue);
  });

  it('an empty or blank variable counts as unset', () => {
    const unset = v.read({}, {});
    expect(v.read({}, { [v.env]: '' })).toEqual(unset);
    expect(v.read({}, { [v.env]: '   ' })).toEqual(unset);
  });

  it.each(v.invalid.length > 0 ? v.invalid : ['<none>'])(
    'rejects %j with a ConfigError naming the variable and the accepted form',
    (bad) => {
      if (bad === '<none>') {
        // Free-form strings: only an empty option value is invalid.
        const err = configError(() => v.read(nest(v.option, ''), {}));
        expect(err.variable).toBe(v.option);
        expect(err.message).toMatch(v.accepted);
        return;
      }
      const err = configError(() => v.read({}, { [v.env]: bad }));
      expect(err.variable).toBe(v.env);
      expect(err.code).toBe('CONFIG_ERROR');
      expect(err.message.startsWith(`${v.env}: `)).toBe(true);
      expect(err.message).toMatch(v.accepted);
      expect(err.message).toMatch(new RegExp(`got (${JSON.stringify(bad)}|${bad})$`));
    },
  );

  it('a bad explicit option is named by its option path', () => {
    const bad = typeof v.optionValue === 'string' ? 42 : 'x';
    const err = configError(() => v.read(nest(v.option, bad), { [v.env]: v.envValue }));
    expect(err.variable).toBe(v.option);
    expect(err.message).toMatch(v.accepted);
  });
});

describe('numeric options', () => {
  it.each([1.5, -1, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 60])('pool.max = %s is a ConfigError', (max) => {
    const err = configError(() => getPoolConfig({ max }, {}));
    expect(err.variable).toBe('pool.max');
  });

  it('getPoolConfig and getHealthCheckConfig follow the same precedence', () => {
    expect(getPoolConfig({ idleTimeout: 5 }, { NODE_ENV: 'production', DB_POOL_MAX: '12' })).toMatchObject({
      max: 12,
      idleTimeout: 5,
    });
    expect(
      getHealthCheckConfig({ interval: 10 }, { DB_HEALTH_CHECK_INTERVAL: '20', DB_HEALTH_CHECK_ENABLED: '0' }),
    ).toMatchObject({ interval: 10, enabled: false });
  });

  it('accepts every documented boolean spelling', () => {
    for (const [text, value] of [
      ['true', true],
      ['1', true],
      ['yes', true],
      ['ON', true],
      ['false', false],
      ['0', false],
      ['No', false],
      ['off', false],
    ] as const) {
      expect(getHealthCheckConfig({}, { DB_HEALTH_CHECK_ENABLED: text }).enabled).toBe(value);
    }
  });
});

describe('database URLs', () => {
  it('options.url > DATABASE_WRITE_URL > DATABASE_URL, and the source is recorded', () => {
    expect(resolveDatabaseConfig({}, { DATABASE_URL: URL_A })).toMatchObject({ url: URL_A, urlSource: 'DATABASE_URL' });
    expect(resolveDatabaseConfig({}, { DATABASE_URL: URL_A, DATABASE_WRITE_URL: URL_B })).toMatchObject({
      url: URL_B,
      urlSource: 'DATABASE_WRITE_URL',
    });
    expect(
      resolveDatabaseConfig({ url: 'postgresql://o@opt/db' }, { DATABASE_URL: URL_A, DATABASE_WRITE_URL: URL_B }),
    ).toMatchObject({ url: 'postgresql://o@opt/db', urlSource: 'options.url' });
  });

  it('DATABASE_READ_URL takes one URL or a comma-separated list; DATABASE_REPLICA_URL is an alias', () => {
    expect(resolveDatabaseConfig({}, { DATABASE_URL: URL_A, DATABASE_READ_URL: URL_B }).readUrls).toEqual([URL_B]);
    expect(
      resolveDatabaseConfig({}, { DATABASE_URL: URL_A, DATABASE_READ_URL: ` ${URL_A} , ${URL_B},` }).readUrls,
    ).toEqual([URL_A, URL_B]);
    expect(resolveDatabaseConfig({}, { DATABASE_URL: URL_A, DATABASE_REPLICA_URL: URL_B }).readUrls).toEqual([URL_B]);
    expect(
      resolveDatabaseConfig({}, { DATABASE_URL: URL_A, DATABASE_READ_URL: URL_A, DATABASE_REPLICA_URL: URL_B })
        .readUrls,
    ).toEqual([URL_A]);
    expect(
      resolveDatabaseConfig({ readUrls: [URL_B] }, { DATABASE_URL: URL_A, DATABASE_READ_URL: URL_A }).readUrls,
    ).toEqual([URL_B]);
  });

  it('replicas without a primary are a ConfigError', () => {
    const err = configError(() => resolveDatabaseConfig({}, { DATABASE_READ_URL: URL_B }));
    expect(err.variable).toBe('DATABASE_READ_URL');
    expect(err.message).toMatch(/DATABASE_URL/);
  });

  const BAD_URLS: [string, RegExp][] = [
    ['not a url', /not a valid URL/],
    ['localhost:5432/app', /postgres:\/\/|not a valid URL/],
    ['mysql://root:pw-mysql@db/app', /must start with postgres:\/\/ or postgresql:\/\//],
    ['http://user:pw-http@db/app', /must start with postgres:\/\//],
    ['postgres://', /no host|not a valid URL/],
    ['postgres:///app', /no host/],
    ['postgres://user:pw-port@db:99999/app', /not a valid URL|invalid port/],
    ['postgres://user:pw-port0@db:0/app', /invalid port/],
    ['postgres://user:pw-alpha@db:abc/app', /not a valid URL|invalid port/],
    ['postgres://user:pw%zzbad@db/app', /percent-encoding/],
    ['postgres://user%E0%A4%A@db/app', /percent-encoding/],
  ];

  it.each(BAD_URLS)('DATABASE_URL=%s is a ConfigError that does not echo the URL', (url, accepted) => {
    for (const name of ['DATABASE_URL', 'DATABASE_WRITE_URL', 'DATABASE_READ_URL'] as const) {
      const env: Record<string, string> = name === 'DATABASE_READ_URL' ? { DATABASE_URL: URL_A } : {};
      env[name] = url;
      const err = configError(() => resolveDatabaseConfig({}, env));
      expect(err.variable).toBe(name);
      expect(err.message).toMatch(accepted);
      const text = `${err.message}\n${err.stack}\n${JSON.stringify(err)}`;
      if (url.includes('pw')) expect(text).not.toContain(url);
      for (const secret of url.match(/pw[-%][a-z0-9]+/gi) ?? []) expect(text).not.toContain(secret);
      expect(err.cause).toBeUndefined();
    }
    const err = configError(() => resolveDatabaseConfig({ url }, {}));
    expect(err.variable).toBe('options.url');
  });

  it('one bad entry in a replica list is reported', () => {
    const err = configError(() =>
      resolveDatabaseConfig({}, { DATABASE_URL: URL_A, DATABASE_READ_URL: `${URL_B},redis://x:pw-r@h/0` }),
    );
    expect(err.variable).toBe('DATABASE_READ_URL');
    expect(err.message).not.toContain('pw-r');
  });

  it('a host list with a bad port in a later host is a ConfigError', () => {
    const err = configError(() => resolveDatabaseConfig({ url: 'postgres://u:pw-hl@h1:5432,h2:99999/app' }, {}));
    expect(err.variable).toBe('options.url');
    expect(err.message).not.toContain('pw-hl');
  });

  it('accepts host lists, unix sockets via ?host= and encoded special characters', () => {
    for (const url of [
      'postgres://u:p@h1:5432,h2:5433/app',
      'postgres:///app?host=/var/run/postgresql',
      'postgres://u:p%40ss%2Fw%3Ard%23@db/app',
      'postgresql://db/app?sslmode=require',
    ]) {
      expect(resolveDatabaseConfig({ url }, {}).url).toBe(url);
    }
  });
});

describe('Redis URLs', () => {
  it('REDIS_WRITE_URL wins over REDIS_URL; options win over both', () => {
    expect(resolveRedisConfig({}, { REDIS_URL: 'redis://a:6379' }).writeUrl).toBe('redis://a:6379');
    expect(resolveRedisConfig({}, { REDIS_URL: 'redis://a', REDIS_WRITE_URL: 'rediss://b' }).writeUrl).toBe(
      'rediss://b',
    );
    expect(resolveRedisConfig({ url: 'redis://o' }, { REDIS_WRITE_URL: 'rediss://b' }).writeUrl).toBe('redis://o');
    expect(resolveRedisConfig({}, { REDIS_URL: 'redis://a', REDIS_READ_URL: 'redis://r' }).readUrl).toBe('redis://r');
  });

  it.each([
    ['REDIS_URL', 'postgres://u:pw-redis@h/0'],
    ['REDIS_URL', 'nonsense'],
    ['REDIS_WRITE_URL', 'http://h'],
  ])('%s=%s is a ConfigError', (name, value) => {
    const err = configError(() => resolveRedisConfig({}, { [name]: value }));
    expect(err.variable).toBe(name);
    expect(err.message).toMatch(/redis:\/\//);
    expect(err.message).not.toContain('pw-redis');
  });

  it('REDIS_READ_URL alone is a ConfigError', () => {
    expect(configError(() => resolveRedisConfig({}, { REDIS_READ_URL: 'redis://r' })).variable).toBe('REDIS_READ_URL');
  });
});
