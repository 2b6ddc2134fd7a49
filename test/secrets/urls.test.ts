import { inspect } from 'node:util';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatabaseManager, dbEvents, type DatabaseEventName } from '@spfn/core/db';
import { ConfigError, ConnectionError, DatabaseError } from '@spfn/core/errors';
import { logger } from '@spfn/core/logger';
import { captureLogs } from '../helpers/log-capture.js';
import { closedPort, waitFor } from '../helpers/pg.js';
import { startScramCluster, type ScramCluster } from '../helpers/scram-cluster.js';

const APP_NAME = `spfn-test-secrets-${process.pid}`;
/** The real password of role spfn_app: every character that needs encoding in a URL. */
const APP_PASSWORD = `ok-Sp3c!al:@/#?%&'" +pw`;
const DB_NAME = 'spfn_secrets';

let cluster: ScramCluster;
let logs: ReturnType<typeof captureLogs>;
const events: { name: DatabaseEventName; payload: unknown }[] = [];
const listeners = (['connection:open', 'connection:error', 'connection:close', 'replica:down'] as const).map(
  (name) => [name, (payload: unknown) => events.push({ name, payload })] as const,
);

beforeAll(async () => {
  cluster = await startScramCluster();
  await cluster.admin.unsafe(`create role spfn_app login password '${APP_PASSWORD.replace(/'/g, "''")}'`);
  await cluster.admin.unsafe(`create database ${DB_NAME} owner spfn_app`);
  logs = captureLogs('trace');
  for (const [name, fn] of listeners) dbEvents.on(name, fn);
}, 120_000);

afterAll(async () => {
  for (const [name, fn] of listeners) dbEvents.off(name, fn);
  if (cluster) {
    const left = await cluster.admin`select pid from pg_stat_activity where application_name = ${APP_NAME}`;
    expect(left).toHaveLength(0);
    await cluster.stop();
  }
});

const enc = encodeURIComponent;
const host = (): string => `127.0.0.1:${cluster.port}`;

interface Case {
  title: string;
  url: () => string | Promise<string>;
  /** Strings that must appear nowhere: the password, raw and encoded. */
  secrets: string[];
  expected: typeof ConfigError | typeof ConnectionError;
  sqlState?: string;
}

const wrong = (password: string, user = 'spfn_app'): Pick<Case, 'url' | 'secrets'> => ({
  url: () => `postgres://${user}:${enc(password)}@${host()}/${DB_NAME}`,
  secrets: [password, enc(password)],
});

const CASES: Case[] = [
  { title: 'wrong password', ...wrong('wrong-pass-a1b2c3'), expected: ConnectionError, sqlState: '28P01' },
  {
    title: 'wrong password full of URL specials',
    ...wrong(`Wr0ng:@/#?%&'" +pw`),
    expected: ConnectionError,
    sqlState: '28P01',
  },
  { title: 'wrong password, unicode', ...wrong('pässwörd-ünï-ßecret'), expected: ConnectionError, sqlState: '28P01' },
  {
    title: 'the right password for another role',
    ...wrong(APP_PASSWORD, 'postgres'),
    expected: ConnectionError,
    sqlState: '28P01',
  },
  { title: 'unknown role with a password', ...wrong('ghost-pass-778', 'ghost'), expected: ConnectionError },
  {
    title: 'wrong password with an unencoded @',
    url: () => `postgres://spfn_app:unenc@pass-4411@${host()}/${DB_NAME}`,
    secrets: ['unenc@pass-4411', 'pass-4411'],
    expected: ConnectionError,
    sqlState: '28P01',
  },
  {
    title: 'wrong password with unencoded spaces',
    url: () => `postgres://spfn_app:space pass 9911@${host()}/${DB_NAME}`,
    secrets: ['space pass 9911', 'space%20pass%209911', 'pass 9911'],
    expected: ConnectionError,
    sqlState: '28P01',
  },
  {
    title: 'bad percent-encoding in the password',
    url: () => `postgres://spfn_app:bad%zz-pct-5151@${host()}/${DB_NAME}`,
    secrets: ['bad%zz-pct-5151', 'pct-5151'],
    expected: ConfigError,
  },
  {
    title: 'truncated percent-escape in the password',
    url: () => `postgres://spfn_app:trunc-6262%E2%82@${host()}/${DB_NAME}`,
    secrets: ['trunc-6262'],
    expected: ConfigError,
  },
  {
    title: 'unencoded # in the password',
    url: () => `postgres://spfn_app:hash#frag-7373@${host()}/${DB_NAME}`,
    secrets: ['hash#frag-7373', 'frag-7373'],
    expected: ConfigError,
  },
  {
    title: 'unencoded / in the password',
    url: () => `postgres://spfn_app:sl/ash-8484@${host()}/${DB_NAME}`,
    secrets: ['sl/ash-8484', 'ash-8484'],
    expected: ConfigError,
  },
  {
    title: 'unencoded ? in the password',
    url: () => `postgres://spfn_app:qm?ark-9595@${host()}/${DB_NAME}`,
    secrets: ['qm?ark-9595', 'ark-9595'],
    expected: ConfigError,
  },
  {
    title: 'port out of range',
    url: () => `postgres://spfn_app:port-secret-1212@127.0.0.1:99999/${DB_NAME}`,
    secrets: ['port-secret-1212'],
    expected: ConfigError,
  },
  {
    title: 'port 0',
    url: () => `postgres://spfn_app:zero-secret-2323@127.0.0.1:0/${DB_NAME}`,
    secrets: ['zero-secret-2323'],
    expected: ConfigError,
  },
  {
    title: 'non-numeric port',
    url: () => `postgres://spfn_app:alpha-secret-3434@127.0.0.1:pg/${DB_NAME}`,
    secrets: ['alpha-secret-3434'],
    expected: ConfigError,
  },
  {
    title: 'wrong scheme',
    url: () => `mysql://spfn_app:scheme-secret-4545@${host()}/${DB_NAME}`,
    secrets: ['scheme-secret-4545'],
    expected: ConfigError,
  },
  {
    title: 'no host',
    url: () => `postgres://spfn_app:nohost-secret-5656@/${DB_NAME}`,
    secrets: ['nohost-secret-5656'],
    expected: ConfigError,
  },
  {
    title: 'closed port',
    url: async () => `postgres://spfn_app:refused-secret-6767@127.0.0.1:${await closedPort()}/${DB_NAME}`,
    secrets: ['refused-secret-6767'],
    expected: ConnectionError,
  },
  {
    title: 'unresolvable host',
    url: () => `postgres://spfn_app:dns-secret-7878@no-such-host.invalid:5432/${DB_NAME}`,
    secrets: ['dns-secret-7878'],
    expected: ConnectionError,
  },
  {
    title: 'host list: a closed port, then the real server with a wrong password',
    url: async () => `postgres://spfn_app:multi-secret-8989@127.0.0.1:${await closedPort()},${host()}/${DB_NAME}`,
    secrets: ['multi-secret-8989'],
    expected: ConnectionError,
  },
  {
    title: 'password passed as a query parameter',
    url: () => `postgres://spfn_app@${host()}/${DB_NAME}?password=query-secret-9090`,
    secrets: ['query-secret-9090'],
    expected: ConnectionError,
  },
];

/** Every place a secret could hide in an error: messages, stacks, enumerable and hidden fields, the cause chain. */
function surfaces(err: unknown): string[] {
  const out = [inspect(err, { showHidden: true, depth: 20 }), JSON.stringify(err), String(err)];
  let current: unknown = err;
  for (let i = 0; i < 10 && current != null; i++) {
    if (current instanceof Error) out.push(current.message, current.stack ?? '', JSON.stringify(current));
    if (current instanceof DatabaseError) out.push(JSON.stringify(current.toJSON()));
    current = (current as { cause?: unknown }).cause;
  }
  return out;
}

function expectNoSecret(texts: string[], secrets: string[]): void {
  const all = texts.join('\n');
  for (const secret of secrets) expect(all, `"${secret}" leaked`).not.toContain(secret);
}

describe('malformed and wrong-password URLs never show the password', () => {
  it('the throwaway cluster really checks passwords, and the right special-character password works', async () => {
    const manager = new DatabaseManager({
      url: `postgres://spfn_app:${enc(APP_PASSWORD)}@${host()}/${DB_NAME}`,
      applicationName: APP_NAME,
      healthCheck: { enabled: false },
    });
    const start = logs.lines.length;
    const eventStart = events.length;
    try {
      const { write } = await manager.init();
      const rows = await write.execute<{ user: string }>(sql`select current_user as user`);
      expect([...rows][0]).toEqual({ user: 'spfn_app' });
    } finally {
      await manager.close();
    }
    const open = events.slice(eventStart).find((e) => e.name === 'connection:open');
    expect(open?.payload).toMatchObject({ url: `postgres://spfn_app:***@${host()}/${DB_NAME}` });
    expectNoSecret(
      [logs.lines.slice(start).join(''), JSON.stringify(events.slice(eventStart))],
      [APP_PASSWORD, enc(APP_PASSWORD)],
    );
  });

  it.each(CASES)('$title', async (c) => {
    const url = await c.url();
    const start = logs.lines.length;
    const eventStart = events.length;
    const manager = new DatabaseManager({
      url,
      applicationName: APP_NAME,
      connectRetries: 1,
      connectRetryDelay: 10,
      healthCheck: { enabled: false },
      pool: { connectTimeout: 3 },
    });
    let caught: unknown;
    try {
      await manager.init();
    } catch (err) {
      caught = err;
    } finally {
      await manager.close();
    }
    expect(caught).toBeInstanceOf(c.expected);
    if (c.sqlState) expect((caught as DatabaseError).sqlState).toBe(c.sqlState);
    if (c.expected === ConfigError) expect((caught as ConfigError).variable).toBe('options.url');
    // An application logging the error must not print the password either.
    logger.error(caught, 'database init failed');
    logger.child('app').warn({ err: caught, url }, `init failed for ${url}`);

    const newEvents = events.slice(eventStart);
    if (c.expected === ConnectionError) {
      expect(newEvents.some((e) => e.name === 'connection:error')).toBe(true);
    }
    const newLogs = logs.lines.slice(start).join('');
    expect(newLogs).toContain('database init failed');
    expectNoSecret([...surfaces(caught), JSON.stringify(newEvents), newLogs], c.secrets);
  });

  it('a replica with a wrong password: replica:down and its log line show no password', async () => {
    const start = logs.lines.length;
    const eventStart = events.length;
    const manager = new DatabaseManager({
      url: `postgres://spfn_app:${enc(APP_PASSWORD)}@${host()}/${DB_NAME}`,
      readUrls: [`postgres://spfn_app:replica-secret-4242@${host()}/${DB_NAME}`],
      applicationName: APP_NAME,
      healthCheck: { enabled: false },
    });
    try {
      await manager.init();
    } finally {
      await manager.close();
    }
    const down = events.slice(eventStart).find((e) => e.name === 'replica:down');
    expect(down?.payload).toMatchObject({ pool: 'replica:0', url: `postgres://spfn_app:***@${host()}/${DB_NAME}` });
    expectNoSecret(
      [JSON.stringify(events.slice(eventStart)), logs.lines.slice(start).join('')],
      ['replica-secret-4242', APP_PASSWORD, enc(APP_PASSWORD)],
    );
  });

  it('no connection of these attempts is left on the cluster', async () => {
    expect(
      await waitFor(async () => {
        const rows = await cluster.admin`select 1 from pg_stat_activity where application_name = ${APP_NAME}`;
        return rows.length === 0;
      }, 5000),
    ).toBe(true);
  });
});
