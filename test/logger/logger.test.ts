import { execFile } from 'node:child_process';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { DrizzleQueryError } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { ConnectionError, UniqueViolationError } from '@spfn/core/errors';
import { createLogger, getLogger, logger, maskUrl, redactSecrets, setLogger, type Logger } from '@spfn/core/logger';

const run = promisify(execFile);
const DIST_LOGGER = fileURLToPath(new URL('../../dist/logger/index.js', import.meta.url));
const original = getLogger();

afterAll(() => {
  setLogger(original);
});

function memory(): { stream: Writable; text(): string; json(): Record<string, unknown>[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk.toString('utf8'));
      cb();
    },
  });
  return {
    stream,
    text: () => chunks.join(''),
    json: () =>
      chunks
        .join('')
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

function jsonLogger(level: 'trace' | 'debug' | 'info' | 'warn' = 'trace'): {
  log: Logger;
  out: ReturnType<typeof memory>;
} {
  const out = memory();
  return { log: createLogger({ level, format: 'json', destination: out.stream }), out };
}

describe('redactSecrets', () => {
  it.each([
    ['connecting to postgres://app:s3cret-1@db:5432/app', 'connecting to postgres://app:***@db:5432/app', 's3cret-1'],
    [
      'url=postgresql://app:s3cret-2@db/app?sslmode=require',
      'url=postgresql://app:***@db/app?sslmode=require',
      's3cret-2',
    ],
    ['redis://:s3cret-3@cache:6379/0 is down', 'redis://:***@cache:6379/0 is down', 's3cret-3'],
    [
      'two: postgres://a:s3cret-4@h1/x and postgres://b:s3cret-5@h2/y',
      'two: postgres://a:***@h1/x and postgres://b:***@h2/y',
      's3cret-5',
    ],
    ['"postgres://app:quo\'te"s3cret-6@db/app"', '"postgres://app:***@db/app"', 's3cret-6'],
    ['postgres://app:un@enc@s3cret-7@db:5432/app', 'postgres://app:***@db:5432/app', 's3cret-7'],
    ['postgres://app:with space s3cret-8@db/app', 'postgres://app:***@db/app', 's3cret-8'],
    ['postgres://app:s3cret-9@h1:5432,h2:5433/app', 'postgres://app:***@h1:5432,h2:5433/app', 's3cret-9'],
    ['password=s3cret-10 user=app', 'password=*** user=app', 's3cret-10'],
    ['PASSWORD: "s3cret 11" next', 'PASSWORD: *** next', 's3cret 11'],
    ["host=db pwd='s3cret-12'", 'host=db pwd=***', 's3cret-12'],
    ['{"pass":"s3cret-13"}', '{"pass":***}', 's3cret-13'],
  ])('%s', (input, expected, secret) => {
    const out = redactSecrets(input);
    expect(out).toBe(expected);
    expect(out).not.toContain(secret);
  });

  it.each([
    'user alice@example.com signed in',
    'GET http://example.com/path?x=1',
    'postgres://app@db:5432/app',
    'no secrets here',
    'passed 3 tests',
  ])('leaves %j alone', (text) => {
    expect(redactSecrets(text)).toBe(text);
  });
});

describe('maskUrl', () => {
  it.each([
    ['postgres://app:s3cret@db:5432/app', 'postgres://app:***@db:5432/app'],
    ['postgres://app:p%40ss%2F@db/app?sslmode=require&password=x', 'postgres://app:***@db/app'],
    ['postgresql://db/app', 'postgresql://db/app'],
    ['postgres://app:s3cret@h1:5432,h2:5433/app', 'postgres://app:***@h1:5432,h2:5433/app'],
    ['postgres://us%20er:pw@db/app', 'postgres://us er:***@db/app'],
    ['not a url with s3cret', '<invalid url>'],
    ['postgres://app:s3cret#x@db/app', '<invalid url>'],
  ])('%s → %s', (url, masked) => {
    expect(maskUrl(url)).toBe(masked);
  });
});

describe('log lines', () => {
  it('redacts URLs and passwords inside message strings', () => {
    const { log, out } = jsonLogger();
    log.info('connect postgres://app:msg-secret@db:5432/app with password=pw-in-msg');
    log.warn({ n: 1 }, 'retrying postgres://app:msg-secret-2@db/app');
    expect(out.text()).not.toMatch(/msg-secret|pw-in-msg/);
    const [first, second] = out.json();
    expect(first!.msg).toBe('connect postgres://app:***@db:5432/app with password=***');
    expect(second).toMatchObject({ n: 1, msg: 'retrying postgres://app:***@db/app' });
  });

  it('redacts inside objects: URL values, secret-named fields, arrays and nesting', () => {
    const { log, out } = jsonLogger();
    log.info(
      {
        url: 'postgres://app:obj-secret-1@db/app',
        password: 'obj-secret-2',
        nested: { connectionString: 'anything obj-secret-3', list: ['redis://:obj-secret-4@cache:6379'] },
        Secret: 'obj-secret-5',
        keep: 42,
      },
      'config',
    );
    expect(out.text()).not.toContain('obj-secret');
    expect(out.json()[0]).toMatchObject({
      url: 'postgres://app:***@db/app',
      password: '***',
      nested: { connectionString: '***', list: ['redis://:***@cache:6379'] },
      Secret: '***',
      keep: 42,
    });
  });

  it('redacts errors: message, stack, own fields and the cause chain; drops driver parameter values', () => {
    const { log, out } = jsonLogger();
    const driver = Object.assign(new Error('duplicate key value violates unique constraint "users_email_key"'), {
      code: '23505',
      severity: 'ERROR',
      detail: 'Key (email)=(err-param-1@example.com) already exists.',
      params: ['err-param-2'],
    });
    Object.defineProperty(driver, 'parameters', { value: ['err-param-3'], enumerable: true });
    const drizzle = new DrizzleQueryError('insert into users (email) values ($1)', ['err-param-4'], driver);
    const outer = new ConnectionError('lost postgres://app:err-secret-1@db/app', {
      cause: Object.assign(new Error('inner postgres://app:err-secret-2@db/app'), {
        url: 'postgres://app:err-secret-3@db/app',
        cause: drizzle,
      }),
    });
    log.error(outer);
    log.error(
      { err: new UniqueViolationError('Unique constraint "users_email_key" violated', { cause: driver }) },
      'x',
    );
    const text = out.text();
    expect(text).not.toMatch(/err-secret|err-param/);
    const [line] = out.json();
    const err = line!.err as Record<string, unknown>;
    expect(err).toMatchObject({
      type: 'ConnectionError',
      code: 'CONNECTION_ERROR',
      message: 'lost postgres://app:***@db/app',
    });
    expect(String(err.stack)).toContain('ConnectionError: lost postgres://app:***@db/app');
    expect(line!.msg).toBe('lost postgres://app:***@db/app');
    const inner = err.cause as Record<string, unknown>;
    expect(inner.url).toBe('postgres://app:***@db/app');
    const wrapped = inner.cause as Record<string, unknown>;
    expect(wrapped.query).toBe('insert into users (email) values ($1)');
    expect(wrapped.params).toBeUndefined();
    expect(String(wrapped.message)).toContain('params: [redacted]');
    expect((wrapped.cause as Record<string, unknown>).detail).toBe('Key (email)=(…) already exists.');
  });

  it('LOG_LEVEL: lines below the level are not written; level can change at run time', () => {
    const { log, out } = jsonLogger('warn');
    log.debug('d');
    log.info('i');
    log.warn('w');
    log.error('e');
    expect(out.json().map((l) => l.msg)).toEqual(['w', 'e']);
    expect(log.isLevelEnabled('info')).toBe(false);
    log.level = 'debug';
    log.debug('d2');
    expect(out.json().map((l) => l.msg)).toEqual(['w', 'e', 'd2']);
    expect(out.json()[0]!.level).toBe(40);
  });

  it('child(name) tags lines with the component; logger.child follows setLogger', () => {
    const { log, out } = jsonLogger();
    log.child('billing').info('charged');
    const early = logger.child('early');
    setLogger(log);
    early.info('after replace');
    expect(out.json().map((l) => [l.component, l.msg])).toEqual([
      ['billing', 'charged'],
      ['early', 'after replace'],
    ]);
  });

  it('the readable format is one human line per entry, redacted too', () => {
    const out = memory();
    const log = createLogger({ level: 'info', format: 'pretty', destination: out.stream });
    log.child('db').info({ url: 'postgres://app:pretty-secret@db/app' }, 'connected');
    log.warn('slow postgres://app:pretty-secret-2@db/app');
    const text = out.text();
    expect(text).not.toContain('pretty-secret');
    expect(text).toMatch(/INFO.*\(db\)?.*connected|INFO.*connected/);
    expect(text).toContain('postgres://app:***@db/app');
    expect(() => JSON.parse(text.split('\n')[0]!) as unknown).toThrow();
  });
});

describe('LOG_LEVEL and NODE_ENV in a fresh process', () => {
  async function runWith(env: Record<string, string>): Promise<{ stdout: string; stderr: string }> {
    const script = `
      const { logger } = await import(${JSON.stringify(DIST_LOGGER)});
      try {
        logger.trace('t-line'); logger.debug('d-line'); logger.info('i-line postgres://u:proc-secret@h/db');
        logger.child('svc').warn({ password: 'proc-secret-2' }, 'w-line');
      } catch (e) { console.log('THREW ' + e.name + ' ' + e.variable + ' ' + e.message); }`;
    return run(process.execPath, ['--input-type=module', '-e', script], {
      env: { PATH: process.env.PATH, ...env },
      cwd: fileURLToPath(new URL('.', import.meta.url)),
    });
  }

  it('production: JSON lines at LOG_LEVEL', async () => {
    const { stdout } = await runWith({ NODE_ENV: 'production', LOG_LEVEL: 'debug' });
    const lines = stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => l.msg)).toEqual(['d-line', 'i-line postgres://u:***@h/db', 'w-line']);
    expect(lines[2]).toMatchObject({ component: 'svc', password: '***', level: 40 });
    expect(stdout).not.toContain('proc-secret');
  });

  it('development: readable lines, default level info', async () => {
    const { stdout } = await runWith({ NODE_ENV: 'development' });
    expect(stdout).not.toMatch(/t-line|d-line/);
    expect(stdout).toMatch(/INFO.*i-line postgres:\/\/u:\*\*\*@h\/db/);
    expect(stdout).toMatch(/WARN.*w-line/);
    expect(stdout).not.toContain('proc-secret');
    expect(stdout.trim().startsWith('{')).toBe(false);
  });

  it('development without pino-pretty installed: JSON lines after a one-line hint, no import error', async () => {
    const block = fileURLToPath(new URL('../fixtures/no-pino-pretty.mjs', import.meta.url));
    const { stdout } = await runWith({ NODE_ENV: 'development', NODE_OPTIONS: `--import ${block}` });
    expect(stdout).not.toContain('THREW');
    const lines = stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { msg: string; level: number });
    expect(lines.map((l) => l.msg)).toEqual([
      'readable logs need pino-pretty (npm install --save-dev pino-pretty); logging JSON lines',
      'i-line postgres://u:***@h/db',
      'w-line',
    ]);
    expect(stdout).not.toContain('proc-secret');
  });

  it('LOG_LEVEL=silent writes nothing; an unknown level is reported once and logging goes on at info', async () => {
    expect((await runWith({ NODE_ENV: 'production', LOG_LEVEL: 'silent' })).stdout).toBe('');
    const { stdout } = await runWith({ NODE_ENV: 'production', LOG_LEVEL: 'verbose' });
    expect(stdout).not.toContain('THREW');
    const lines = stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { msg: string; err?: { message?: string } });
    expect(lines[0]!.msg).toBe('invalid logger configuration; logging at info');
    expect(lines[0]!.err?.message).toContain(
      'LOG_LEVEL: expected one of fatal, error, warn, info, debug, trace, silent',
    );
    expect(lines.slice(1).map((l) => l.msg)).toEqual(['i-line postgres://u:***@h/db', 'w-line']);
  });

  it('an unknown LOG_LEVEL fails initDatabase() with a ConfigError naming LOG_LEVEL', async () => {
    const script = `
      const { initDatabase } = await import(${JSON.stringify(DIST_LOGGER.replace('/logger/', '/db/'))});
      try { await initDatabase({ url: 'postgres://postgres@127.0.0.1:1/x' }); }
      catch (e) { console.log('THREW ' + e.name + ' ' + e.variable); }`;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
      env: { PATH: process.env.PATH, NODE_ENV: 'production', LOG_LEVEL: 'verbose' },
      cwd: fileURLToPath(new URL('.', import.meta.url)),
    });
    expect(stdout).toContain('THREW ConfigError LOG_LEVEL');
  });
});
