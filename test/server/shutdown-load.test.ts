import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, expectNoLeaksThenDrop, type TestDatabase } from '../helpers/pg.js';
import { startService, type ServiceProcess } from '../helpers/service.js';

const CLIENTS = 50;
const RUNS = 10;
let db: TestDatabase;
const started: ServiceProcess[] = [];

beforeAll(async () => {
  db = await createTestDatabase('shutdown_load');
});

afterAll(async () => {
  await Promise.all(started.map((s) => s.kill()));
  await expectNoLeaksThenDrop(db);
});

interface Tally {
  ok: number;
  shuttingDown: number;
  /** 503 SHUTTING_DOWN without `Connection: close`. */
  withoutClose: number;
  other: number;
  otherSamples: string[];
  /** Connections refused after the port closed: the request never reached the server. */
  refused: number;
  resets: number;
  resetCodes: string[];
}

function get(
  agent: http.Agent,
  port: number,
): Promise<{ status: number; connection: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/users?size=1', agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, body }));
      res.on('error', reject);
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      // Which socket was reset: a reused keep-alive one, or one just opened.
      if (err.code !== 'ECONNREFUSED')
        err.code = `${err.code}${req.reusedSocket ? ' (reused socket)' : ' (new socket)'}`;
      reject(err);
    });
  });
}

/** One keep-alive client: requests back to back until the server says it is shutting down or stops accepting. */
async function client(agent: http.Agent, port: number, tally: Tally, until: () => boolean): Promise<void> {
  while (!until()) {
    try {
      const res = await get(agent, port);
      if (res.status === 200) tally.ok++;
      else if (res.status === 503 && res.body.includes('SHUTTING_DOWN')) {
        tally.shuttingDown++;
        if (res.connection !== 'close') tally.withoutClose++;
        return;
      } else {
        tally.other++;
        tally.otherSamples.push(`${res.status} ${res.body.slice(0, 80)}`);
      }
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? String(err);
      if (code === 'ECONNREFUSED') tally.refused++;
      else {
        tally.resets++;
        tally.resetCodes.push(code);
      }
      return;
    }
  }
}

describe('graceful shutdown under keep-alive load', () => {
  it(
    `${CLIENTS} keep-alive clients, SIGTERM mid-load, ${RUNS} runs: every request answered, no reset`,
    { timeout: 300_000 },
    async () => {
      const totals: Tally = {
        ok: 0,
        shuttingDown: 0,
        withoutClose: 0,
        other: 0,
        otherSamples: [],
        refused: 0,
        resets: 0,
        resetCodes: [],
      };
      for (let run = 0; run < RUNS; run++) {
        const s = await startService({
          DATABASE_URL: db.url,
          DB_APPLICATION_NAME: db.appName,
          SHUTDOWN_TIMEOUT: '5000',
        });
        started.push(s);
        const agent = new http.Agent({ keepAlive: true, maxSockets: CLIENTS });
        const tally: Tally = { ...totals, ok: 0, shuttingDown: 0, withoutClose: 0, other: 0, refused: 0, resets: 0 };
        tally.resetCodes = [];
        tally.otherSamples = [];
        let stop = false;
        const stopAt = setTimeout(() => (stop = true), 15_000);
        const clients = Array.from({ length: CLIENTS }, () => client(agent, s.port, tally, () => stop));
        await new Promise((r) => setTimeout(r, 300 + run * 37));
        s.child.kill('SIGTERM');
        await Promise.all(clients);
        clearTimeout(stopAt);
        agent.destroy();
        const exit = await s.exited;
        expect(exit.code).toBe(0);
        for (const key of ['ok', 'shuttingDown', 'withoutClose', 'other', 'refused', 'resets'] as const) {
          totals[key] += tally[key];
        }
        totals.resetCodes.push(...tally.resetCodes);
        totals.otherSamples.push(...tally.otherSamples);
      }
      console.info(
        `${RUNS} runs × ${CLIENTS} keep-alive clients, SIGTERM mid-load: ${totals.ok} × 200, ` +
          `${totals.shuttingDown} × 503 SHUTTING_DOWN (${totals.withoutClose} without Connection: close), ` +
          `${totals.other} other ${JSON.stringify(totals.otherSamples.slice(0, 3))}, ${totals.refused} connections refused after the port closed, ` +
          `${totals.resets} resets ${JSON.stringify(totals.resetCodes.slice(0, 5))}`,
      );
      expect(totals.ok).toBeGreaterThan(0);
      expect(totals.shuttingDown).toBeGreaterThan(0);
      expect(totals.resets).toBe(0);
      // Every client got its answer on its keep-alive socket: none had to reconnect and find the port closed.
      expect(totals.refused).toBe(0);
      expect(totals.withoutClose).toBe(0);
      // Anything else must still be an answer in the error shape (the shared test server may refuse connections:
      // 503 CONNECTION_ERROR), never a 5xx page or a 200 cut short.
      for (const sample of totals.otherSamples) expect(sample).toMatch(/^503 \{"error":\{"code":"[A-Z_]+"/);
    },
  );
});
