import { sql } from 'drizzle-orm';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeDatabase, dbEvents, getDatabase, initDatabase, Transactional } from '@spfn/core/db';
import { setLogger, createLogger } from '@spfn/core/logger';
import { captureLogs } from '../helpers/log-capture.js';
import { createTestDatabase, type TestDatabase, expectNoLeaksThenDrop } from '../helpers/pg.js';

// The seed's defaults of Transactional(): timeout TRANSACTION_TIMEOUT (else 30000, 0 disables), slowThreshold
// 1000, enableLogging true. TRANSACTION_TIMEOUT is set to 1000 ms here (wide enough that a
// 50 ms statement never reaches it on a loaded machine) (as options, the same resolved setting).
let t: TestDatabase;

beforeAll(async () => {
  t = await createTestDatabase('tx_defaults');
  await initDatabase({
    url: t.url,
    applicationName: t.appName,
    healthCheck: { enabled: false },
    transaction: { timeout: 1000 },
  });
});

afterAll(async () => {
  setLogger(createLogger({ level: 'silent' }));
  await closeDatabase();
  await expectNoLeaksThenDrop(t);
});

function sleeper(options?: Parameters<typeof Transactional>[0]): Hono {
  const app = new Hono();
  app.get('/sleep/:ms', Transactional(options), async (c) => {
    await getDatabase().execute(sql`select pg_sleep(${Number(c.req.param('ms')) / 1000})`);
    return c.text('slept');
  });
  return app;
}

describe('TransactionalOptions defaults', () => {
  it('timeout defaults to TRANSACTION_TIMEOUT; timeout: 0 disables it', async () => {
    expect((await sleeper().request('/sleep/1500')).status).toBe(504);
    expect((await sleeper().request('/sleep/50')).status).toBe(200);
    expect((await sleeper({ timeout: 0 }).request('/sleep/1500')).status).toBe(200);
    expect((await sleeper({ timeout: 5000 }).request('/sleep/1500')).status).toBe(200);
  });

  it('slowThreshold defaults to 1000 ms and enableLogging to true', async () => {
    const logs = captureLogs('debug');
    const slow: string[] = [];
    const off = dbEvents.on('transaction:slow', (e) => slow.push(e.txId));
    const app = sleeper({ timeout: 0 });
    expect((await app.request('/sleep/50')).status).toBe(200);
    expect(slow).toHaveLength(0); // 50 ms is under the default threshold
    expect(logs.text()).toContain('transaction committed'); // logging is on by default
    expect((await app.request('/sleep/1100')).status).toBe(200);
    off();
    expect(slow).toHaveLength(1);
    expect(logs.text()).toContain('slow transaction');
  });

  it('enableLogging: false keeps the events and drops the log lines', async () => {
    const logs = captureLogs('debug');
    const slow: string[] = [];
    const off = dbEvents.on('transaction:slow', (e) => slow.push(e.txId));
    const app = sleeper({ timeout: 0, enableLogging: false, slowThreshold: 10 });
    expect((await app.request('/sleep/50')).status).toBe(200);
    off();
    expect(slow).toHaveLength(1);
    expect(logs.text()).not.toContain('transaction committed');
    expect(logs.text()).not.toContain('slow transaction');
  });
});
