import { inspect } from 'node:util';
import { DrizzleQueryError, eq, sql } from 'drizzle-orm';
import { integer, pgTable, text } from 'drizzle-orm/pg-core';
import { drizzle } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  closeDatabase,
  DatabaseManager,
  dbEvents,
  getDatabase,
  httpStatusOf,
  initDatabase,
  transaction,
  type DatabaseEvents,
} from '@spfn/core/db';
import type { DatabaseError } from '@spfn/core/errors';
import {
  CheckViolationError,
  ConnectionError,
  DeadlockError,
  ForeignKeyViolationError,
  InvalidInputError,
  NotNullViolationError,
  QueryError,
  QueryTimeoutError,
  SerializationError,
  toDatabaseError,
  UniqueViolationError,
} from '@spfn/core/errors';
import { captureLogs } from '../helpers/log-capture.js';
import {
  closedPort,
  createTestDatabase,
  urlFor,
  waitFor,
  type TestDatabase,
  expectNoLeaksThenDrop,
} from '../helpers/pg.js';

/** A value that must never show up in an error message, JSON form, event or log line. */
const SECRET_VALUE = 'distinctive-param-9f4c1e';

const parents = pgTable('parents', { id: integer('id').primaryKey() });
const items = pgTable('items', {
  id: integer('id').primaryKey(),
  email: text('email').notNull(),
  parentId: integer('parent_id'),
  qty: integer('qty'),
});
const accounts = pgTable('accounts', { id: integer('id').primaryKey(), balance: integer('balance').notNull() });

let db: TestDatabase;
let logs: ReturnType<typeof captureLogs>;
const queryErrors: DatabaseEvents['query:error'][] = [];
const onQueryError = (p: DatabaseEvents['query:error']): void => {
  queryErrors.push(p);
};

beforeAll(async () => {
  db = await createTestDatabase('errors_pg');
  await db.sql.unsafe(`
    create table parents (id int primary key);
    create table items (
      id int primary key,
      email text not null constraint items_email_key unique,
      parent_id int constraint items_parent_fk references parents(id),
      qty int constraint items_qty_positive check (qty > 0)
    );
    create table accounts (id int primary key, balance int not null);
    insert into parents values (1);
    insert into items values (1, 'taken@example.com', 1, 1);
    insert into accounts values (1, 100), (2, 100);
  `);
  logs = captureLogs('debug');
  dbEvents.on('query:error', onQueryError);
  await initDatabase({ url: db.url, applicationName: db.appName, healthCheck: { enabled: false } });
});

afterAll(async () => {
  dbEvents.off('query:error', onQueryError);
  await closeDatabase();
  await expectNoLeaksThenDrop(db);
});

/** Runs a statement that must fail, and returns the raw error Drizzle threw. */
async function rawFailure(run: () => Promise<unknown>): Promise<unknown> {
  try {
    await run();
  } catch (err) {
    return err;
  }
  throw new Error('the statement succeeded; a failure was expected');
}

function expectClientSafe(err: DatabaseError): void {
  const shown = [err.message, JSON.stringify(err), JSON.stringify(err.toJSON()), String(err)].join('\n');
  expect(shown).not.toContain(SECRET_VALUE);
  expect(shown).not.toMatch(/insert into|update "|select /i);
}

describe('constraint violations on the real server, through Drizzle', () => {
  it('23505 → UniqueViolationError with constraint, table and column', async () => {
    const raw = await rawFailure(() =>
      getDatabase().insert(items).values({ id: 2, email: 'taken@example.com', qty: 1 }),
    );
    // Statements on our instances already fail with the typed error; toDatabaseError returns it unchanged.
    expect(raw).toBeInstanceOf(UniqueViolationError);
    const err = toDatabaseError(raw);
    expect(err).toBe(raw);
    expect(err).toBeInstanceOf(UniqueViolationError);
    expect(err).toBeInstanceOf(QueryError);
    expect(err).toMatchObject({
      code: 'UNIQUE_VIOLATION',
      sqlState: '23505',
      constraint: 'items_email_key',
      table: 'items',
      schema: 'public',
      retryable: false,
    });
    expect(err.message).toBe('Unique constraint "items_email_key" violated on table items');
    expect((err.cause as { code: string }).code).toBe('23505');
    expect(httpStatusOf(err)).toBe(409);
    expect(toDatabaseError(err)).toBe(err);
  });

  it('23505 with a distinctive value: the value is in no message or JSON form', async () => {
    await getDatabase().insert(items).values({ id: 3, email: SECRET_VALUE, qty: 1 });
    const raw = await rawFailure(() => getDatabase().insert(items).values({ id: 4, email: SECRET_VALUE, qty: 1 }));
    // The server's detail line names the value; the cause kept on the typed error is a sanitized copy without it.
    expect(inspect((raw as Error).cause, { showHidden: true, depth: 5 })).not.toContain(SECRET_VALUE);
    const err = toDatabaseError(raw);
    expect(err).toBeInstanceOf(UniqueViolationError);
    expectClientSafe(err);
  });

  it('errors from raw Drizzle on a plain postgres.js client (DrizzleQueryError) are mapped too', async () => {
    const client = postgres(db.url, {
      max: 1,
      onnotice: () => undefined,
      connection: { application_name: db.appName },
    });
    try {
      const raw = await rawFailure(() => drizzle(client).insert(items).values({ id: 9, email: SECRET_VALUE, qty: 1 }));
      expect(raw).toBeInstanceOf(DrizzleQueryError);
      expect((raw as Error).message).toContain(SECRET_VALUE);
      const err = toDatabaseError(raw);
      expect(err).toBeInstanceOf(UniqueViolationError);
      expect(err).toMatchObject({ sqlState: '23505', constraint: 'items_email_key', table: 'items' });
      expect(err.cause).not.toBeInstanceOf(DrizzleQueryError);
      expectClientSafe(err);
    } finally {
      await client.end({ timeout: 5 });
    }
  });

  it('23503 → ForeignKeyViolationError', async () => {
    const err = toDatabaseError(
      await rawFailure(() =>
        getDatabase()
          .insert(items)
          .values({ id: 5, email: SECRET_VALUE + 'x', parentId: 404 }),
      ),
    );
    expect(err).toBeInstanceOf(ForeignKeyViolationError);
    expect(err).toMatchObject({
      code: 'FOREIGN_KEY_VIOLATION',
      sqlState: '23503',
      constraint: 'items_parent_fk',
      table: 'items',
    });
    expect(httpStatusOf(err)).toBe(409);
    expectClientSafe(err);
  });

  it('23503 on delete of a referenced parent', async () => {
    const err = toDatabaseError(await rawFailure(() => getDatabase().delete(parents).where(eq(parents.id, 1))));
    expect(err).toBeInstanceOf(ForeignKeyViolationError);
    expect(err).toMatchObject({ constraint: 'items_parent_fk', table: 'items' });
  });

  it('23502 → NotNullViolationError with the column', async () => {
    const err = toDatabaseError(
      await rawFailure(() =>
        getDatabase().execute(sql`insert into items (id, email, qty) values (6, null, ${SECRET_VALUE.length})`),
      ),
    );
    expect(err).toBeInstanceOf(NotNullViolationError);
    expect(err).toMatchObject({ code: 'NOT_NULL_VIOLATION', sqlState: '23502', table: 'items', column: 'email' });
    expect(err.message).toBe('Null value not allowed on items.email');
    expect(httpStatusOf(err)).toBe(400);
  });

  it('23514 → CheckViolationError', async () => {
    const err = toDatabaseError(
      await rawFailure(() =>
        getDatabase()
          .insert(items)
          .values({ id: 7, email: SECRET_VALUE + 'y', qty: -5 }),
      ),
    );
    expect(err).toBeInstanceOf(CheckViolationError);
    expect(err).toMatchObject({
      code: 'CHECK_VIOLATION',
      sqlState: '23514',
      constraint: 'items_qty_positive',
      table: 'items',
    });
    expect(httpStatusOf(err)).toBe(400);
    expectClientSafe(err);
  });

  it('22P02 (a bad value for a type) → InvalidInputError whose message and cause do not repeat the value', async () => {
    const err = toDatabaseError(await rawFailure(() => getDatabase().execute(sql`select ${SECRET_VALUE}::int as n`)));
    expect(err).toBeInstanceOf(InvalidInputError);
    expect(err).toMatchObject({ code: 'INVALID_INPUT', sqlState: '22P02', dataType: 'integer' });
    expect(err.message).toBe('Invalid input syntax for type integer (SQLSTATE 22P02)');
    expect(httpStatusOf(err)).toBe(400);
    expectClientSafe(err);
    expect(inspect(err.cause, { showHidden: true, depth: 5 })).not.toContain(SECRET_VALUE);
  });

  it('another SQLSTATE → QueryError carrying it', async () => {
    const err = toDatabaseError(await rawFailure(() => getDatabase().execute(sql`select * from no_such_table`)));
    expect(err.constructor).toBe(QueryError);
    expect(err).toMatchObject({ code: 'QUERY_ERROR', sqlState: '42P01' });
    expect(httpStatusOf(err)).toBe(500);
  });

  it('query:error events and log lines carry no parameter value', () => {
    expect(queryErrors.length).toBeGreaterThanOrEqual(5);
    expect(queryErrors.map((e) => e.sqlState)).toEqual(expect.arrayContaining(['23505', '23503', '23502', '23514']));
    expect(JSON.stringify(queryErrors)).not.toContain(SECRET_VALUE);
    expect(logs.text()).not.toContain(SECRET_VALUE);
  });
});

describe('concurrency failures with two connections', () => {
  it('40001 → SerializationError (two serializable transactions updating the same row)', async () => {
    let mapped: DatabaseError | undefined;
    const outcome = await transaction(
      async (tx) => {
        await tx.select().from(accounts).where(eq(accounts.id, 1));
        // A second connection commits a change to the row this transaction's snapshot has already seen.
        await db.sql.begin('isolation level serializable', (other) => [
          other`update accounts set balance = balance + 1 where id = 1`,
        ]);
        try {
          await tx.update(accounts).set({ balance: 1 }).where(eq(accounts.id, 1));
        } catch (raw) {
          mapped = toDatabaseError(raw);
          throw raw;
        }
      },
      { isolationLevel: 'serializable' },
    ).then(
      () => 'committed',
      (err: unknown) => err,
    );
    expect(mapped).toBeInstanceOf(SerializationError);
    expect(mapped).toMatchObject({ code: 'SERIALIZATION_FAILURE', sqlState: '40001', retryable: true });
    expect(httpStatusOf(mapped)).toBe(503);
    // What leaves transaction() is already mapped.
    expect(outcome).toBeInstanceOf(SerializationError);
  });

  it('40P01 → DeadlockError (a real deadlock between two connections)', async () => {
    const other = await db.sql.reserve();
    try {
      await other`begin`;
      await other`set local deadlock_timeout = '10s'`;
      await other`update accounts set balance = balance where id = 2`;
      let mapped: DatabaseError | undefined;
      let otherUpdate: Promise<unknown> | undefined;
      const outcome = await transaction(async (tx) => {
        // This side detects the deadlock first, so it is the one that fails.
        await tx.execute(sql`set local deadlock_timeout = '100ms'`);
        await tx.update(accounts).set({ balance: 5 }).where(eq(accounts.id, 1));
        otherUpdate = Promise.resolve(other`update accounts set balance = balance where id = 1`).then(
          () => 'ok',
          (e: unknown) => e,
        );
        // Make sure the other connection is waiting on our lock before we wait on its lock.
        const waiting = await waitFor(async () => {
          const rows = await db.sql`select 1 from pg_stat_activity where wait_event_type = 'Lock'
            and query like 'update accounts set balance = balance where id = 1%'`;
          return rows.length > 0;
        }, 10_000);
        expect(waiting).toBe(true);
        try {
          await tx.update(accounts).set({ balance: 6 }).where(eq(accounts.id, 2));
        } catch (raw) {
          mapped = toDatabaseError(raw);
          throw raw;
        }
      }).then(
        () => 'committed',
        (err: unknown) => err,
      );
      expect(mapped).toBeInstanceOf(DeadlockError);
      expect(mapped).toMatchObject({ code: 'DEADLOCK', sqlState: '40P01', retryable: true });
      expect(outcome).toBeInstanceOf(DeadlockError);
      expect(await otherUpdate).toBe('ok');
    } finally {
      await other`rollback`.catch(() => undefined);
      other.release();
    }
  });

  it('57014 → QueryTimeoutError (statement_timeout)', async () => {
    let mapped: DatabaseError | undefined;
    const outcome = await transaction(async (tx) => {
      await tx.execute(sql`set local statement_timeout = 50`);
      try {
        await tx.execute(sql`select pg_sleep(5), ${SECRET_VALUE}::text`);
      } catch (raw) {
        mapped = toDatabaseError(raw);
        throw raw;
      }
    }).then(
      () => 'committed',
      (err: unknown) => err,
    );
    expect(mapped).toBeInstanceOf(QueryTimeoutError);
    expect(mapped).toMatchObject({ code: 'QUERY_TIMEOUT', sqlState: '57014' });
    expect(httpStatusOf(mapped)).toBe(504);
    expectClientSafe(mapped!);
    expect(outcome).toBeInstanceOf(QueryTimeoutError);
  });

  it('the pool is still usable after all of these', async () => {
    const rows = await getDatabase().select().from(accounts).where(eq(accounts.id, 1));
    expect(rows).toHaveLength(1);
  });
});

describe('connection failures', () => {
  async function initFailure(url: string): Promise<unknown> {
    const manager = new DatabaseManager({
      url,
      applicationName: db.appName,
      connectRetries: 0,
      healthCheck: { enabled: false },
      pool: { connectTimeout: 2 },
    });
    try {
      await manager.init();
    } catch (err) {
      return err;
    } finally {
      await manager.close();
    }
    throw new Error('init succeeded; a connection failure was expected');
  }

  it('a closed port → ConnectionError (ECONNREFUSED), retryable, HTTP 503', async () => {
    const err = await initFailure(`postgres://postgres@127.0.0.1:${await closedPort()}/postgres`);
    expect(err).toBeInstanceOf(ConnectionError);
    expect(err).toMatchObject({ code: 'CONNECTION_ERROR', retryable: true });
    expect((err as Error).message).toMatch(/ECONNREFUSED/);
    expect(httpStatusOf(err)).toBe(503);
    expect(toDatabaseError(err)).toBe(err);
  });

  it('an unknown database → ConnectionError with SQLSTATE 3D000', async () => {
    const err = await initFailure(urlFor(`${db.name}_missing`));
    expect(err).toBeInstanceOf(ConnectionError);
    expect(err).toMatchObject({ sqlState: '3D000' });
  });

  it('an unknown role → ConnectionError with SQLSTATE 28000', async () => {
    const err = await initFailure(urlFor(db.name, 'spfn_no_such_role'));
    expect(err).toBeInstanceOf(ConnectionError);
    expect(err).toMatchObject({ sqlState: '28000' });
  });

  it('a backend terminated under a query → ConnectionError', async () => {
    const raw = await rawFailure(async () => {
      await getDatabase().execute(sql`select pg_terminate_backend(pg_backend_pid())`);
    });
    const err = toDatabaseError(raw);
    expect(err).toBeInstanceOf(ConnectionError);
    expect(err.sqlState === '57P01' || err.message.includes('CONNECTION')).toBe(true);
  });

  it('no connection is left from the failed attempts', async () => {
    expect(await waitFor(async () => (await db.leaks()).every((l) => l.state !== null), 3000)).toBe(true);
    const rows = await db.sql`select count(*)::int as n from pg_stat_activity where datname = ${db.name + '_missing'}`;
    expect(rows[0]!.n).toBe(0);
  });
});
