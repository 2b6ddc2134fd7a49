import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { expect } from 'vitest';

/** The shared test server (trust auth). */
export const ADMIN_URL = process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export function adminClient(): postgres.Sql {
  return postgres(ADMIN_URL, {
    max: 2,
    onnotice: () => undefined,
    connection: { application_name: 'spfn-test-admin' },
  });
}

/** A URL to a database on the shared server. */
export function urlFor(database: string, user = 'postgres', password?: string): string {
  const u = new URL(ADMIN_URL);
  u.pathname = `/${database}`;
  u.username = user;
  if (password !== undefined) u.password = password;
  return u.toString();
}

/** A fresh database for one test file, dropped (with its connections) by `drop()`. */
export interface TestDatabase {
  name: string;
  url: string;
  /** An application_name unique to this test file, to find its connections in pg_stat_activity. */
  appName: string;
  /** Runs SQL as the admin on this database (a separate client, not the one under test). */
  sql: postgres.Sql;
  /** Backends of `appName` still connected (any database). */
  leaks(): Promise<{ pid: number; state: string | null; query: string | null }[]>;
  drop(): Promise<void>;
}

export async function createTestDatabase(label: string): Promise<TestDatabase> {
  const suffix = randomBytes(4).toString('hex');
  const name = `spfn_t_${label.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}_${suffix}`;
  const appName = `spfn-test-${label}-${suffix}`;
  const admin = adminClient();
  await admin.unsafe(`create database "${name}"`);
  await admin.end();
  const sql = postgres(urlFor(name), {
    max: 3,
    onnotice: () => undefined,
    connection: { application_name: 'spfn-test-admin' },
  });
  return {
    name,
    url: urlFor(name),
    appName,
    sql,
    async leaks() {
      return sql<{ pid: number; state: string | null; query: string | null }[]>`
        select pid, state, query from pg_stat_activity where application_name = ${appName}`;
    },
    async drop() {
      await sql.end({ timeout: 5 });
      const a = adminClient();
      try {
        await a.unsafe(`drop database if exists "${name}" with (force)`);
      } finally {
        await a.end();
      }
    },
  };
}

/** Polls until `check` returns true or `timeoutMs` passes; returns the last value. */
export async function waitFor(
  check: () => Promise<boolean> | boolean,
  timeoutMs = 5000,
  stepMs = 50,
): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > until) return false;
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/** A TCP port nobody listens on (bound then released). */
export async function closedPort(): Promise<number> {
  const net = await import('node:net');
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/**
 * The end of every integration file: no connection of its appName may remain (they get 5 s to go), and the
 * database is dropped whatever the probe says.
 */
export async function expectNoLeaksThenDrop(t: TestDatabase, ...others: TestDatabase[]): Promise<void> {
  try {
    const gone = await waitFor(async () => (await t.leaks()).length === 0, 5000);
    expect(gone, 'no connection of this file left in pg_stat_activity').toBe(true);
  } finally {
    await Promise.all([t, ...others].map((db) => db.drop()));
  }
}
