import { inspect } from 'node:util';
import { sql, type SQL } from 'drizzle-orm';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeDatabase, getDatabase, httpStatusOf, initDatabase, Transactional } from '@spfn/core/db';
import type { DatabaseError } from '@spfn/core/errors';
import {
  CheckViolationError,
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
import { openTestBackend, type TestBackend } from '../helpers/backend.js';
import { captureLogs } from '../helpers/log-capture.js';

/** Every value sent below contains this; it must never come back in a message, a body, a cause or a log line. */
const SECRET = 'zq-secret-4711';

type ErrorClass = abstract new (...args: never[]) => DatabaseError;
interface Case {
  /** The SQLSTATE provoked, or the states the backends may answer with. */
  sqlState: string | readonly string[];
  what: string;
  provoke: () => SQL;
  type: ErrorClass;
  code: string;
  status: number;
  /** Extra fields the server names and the error must carry. */
  fields?: Record<string, unknown>;
  /** Text that is part of the value and so must not be shown (when SECRET cannot be part of the value). */
  value?: string;
}

const raise = (state: string): SQL => sql`select spfn_raise(${state})`;

/**
 * Every SQLSTATE the mapper knows, provoked for real: by the statement that causes it where one session can, else
 * (serialization failure, deadlock, cancel: two sessions or a signal) raised with that SQLSTATE by PL/pgSQL, which
 * is what the server sends in those cases too. The concurrent originals run in sqlstate-postgres.test.ts.
 */
const CASES: Case[] = [
  {
    sqlState: '23505',
    what: 'a duplicate unique value',
    provoke: () => sql`insert into items (id, email) values (2, ${'taken-' + SECRET})`,
    type: UniqueViolationError,
    code: 'UNIQUE_VIOLATION',
    status: 409,
    fields: { constraint: 'items_email_key', table: 'items' },
  },
  {
    sqlState: '23503',
    what: 'a reference to a missing parent',
    provoke: () => sql`insert into kids (id, parent_id, note) values (2, 404, ${SECRET})`,
    type: ForeignKeyViolationError,
    code: 'FOREIGN_KEY_VIOLATION',
    status: 409,
    fields: { constraint: 'kids_parent_fk', table: 'kids' },
  },
  {
    // PostgreSQL 17 (PGlite) reports RESTRICT as 23001; earlier servers as 23503.
    sqlState: ['23001', '23503'],
    what: 'deleting a parent an ON DELETE RESTRICT row references',
    provoke: () => sql`delete from parents where id = ${1}`,
    type: ForeignKeyViolationError,
    code: 'FOREIGN_KEY_VIOLATION',
    status: 409,
    fields: { constraint: 'kids_parent_fk', table: 'kids' },
  },
  {
    sqlState: '23001',
    what: 'restrict_violation raised',
    provoke: () => raise('23001'),
    type: ForeignKeyViolationError,
    code: 'FOREIGN_KEY_VIOLATION',
    status: 409,
  },
  {
    sqlState: '23502',
    what: 'a null in a NOT NULL column',
    provoke: () => sql`insert into items (id, email, note) values (3, null, ${SECRET})`,
    type: NotNullViolationError,
    code: 'NOT_NULL_VIOLATION',
    status: 400,
    fields: { table: 'items', column: 'email' },
  },
  {
    sqlState: '23514',
    what: 'a failed CHECK',
    provoke: () => sql`insert into items (id, email, qty, note) values (4, 'q@x', -1, ${SECRET})`,
    type: CheckViolationError,
    code: 'CHECK_VIOLATION',
    status: 400,
    fields: { constraint: 'items_qty_positive', table: 'items' },
  },
  {
    sqlState: '22P02',
    what: 'text into a bigint',
    provoke: () => sql`insert into items (id, email) values (${SECRET}, 'a@x')`,
    type: InvalidInputError,
    code: 'INVALID_INPUT',
    status: 400,
    fields: { dataType: 'bigint' },
  },
  {
    sqlState: '22P02',
    what: 'a fraction into a bigint',
    provoke: () => sql`insert into items (id, email) values (${'1.5'}, 'a@x')`,
    type: InvalidInputError,
    code: 'INVALID_INPUT',
    status: 400,
    value: '1.5',
  },
  {
    sqlState: '22003',
    what: 'a number out of range for an integer',
    provoke: () => sql`insert into items (id, email, qty) values (5, 'b@x', ${'98765432109'})`,
    type: InvalidInputError,
    code: 'INVALID_INPUT',
    status: 400,
    fields: { dataType: 'integer' },
    value: '98765432109',
  },
  {
    sqlState: '22001',
    what: 'a string too long for varchar(5)',
    provoke: () => sql`insert into items (id, email, short) values (6, 'c@x', ${SECRET})`,
    type: InvalidInputError,
    code: 'INVALID_INPUT',
    status: 400,
    fields: { dataType: 'character varying(5)' },
  },
  {
    sqlState: '22021',
    what: 'a NUL byte in text',
    provoke: () => sql`insert into items (id, email, note) values (7, 'd@x', ${'a\u0000' + SECRET})`,
    type: InvalidInputError,
    code: 'INVALID_INPUT',
    status: 400,
  },
  {
    sqlState: '22007',
    what: 'text that is no date',
    provoke: () => sql`insert into items (id, email, born) values (8, 'e@x', ${SECRET})`,
    type: InvalidInputError,
    code: 'INVALID_INPUT',
    status: 400,
    fields: { dataType: 'date' },
  },
  {
    sqlState: '22008',
    what: 'a date field out of range',
    provoke: () => sql`insert into items (id, email, born) values (9, 'f@x', ${'2031-13-45'})`,
    type: InvalidInputError,
    code: 'INVALID_INPUT',
    status: 400,
    value: '2031-13-45',
  },
  {
    sqlState: '22012',
    what: 'a division by zero',
    provoke: () => sql`select ${7}::int / 0 as n`,
    type: InvalidInputError,
    code: 'INVALID_INPUT',
    status: 400,
  },
  {
    sqlState: '40001',
    what: 'serialization_failure raised',
    provoke: () => raise('40001'),
    type: SerializationError,
    code: 'SERIALIZATION_FAILURE',
    status: 503,
  },
  {
    sqlState: '40P01',
    what: 'deadlock_detected raised',
    provoke: () => raise('40P01'),
    type: DeadlockError,
    code: 'DEADLOCK',
    status: 503,
  },
  {
    sqlState: '57014',
    what: 'query_canceled raised',
    provoke: () => raise('57014'),
    type: QueryTimeoutError,
    code: 'QUERY_TIMEOUT',
    status: 504,
  },
  {
    sqlState: '42P01',
    what: 'an unknown table (unmapped: QueryError)',
    provoke: () => sql`select * from no_such_table where note = ${SECRET}`,
    type: QueryError,
    code: 'QUERY_ERROR',
    status: 500,
  },
];

let b: TestBackend;
let logs: ReturnType<typeof captureLogs>;

beforeAll(async () => {
  b = await openTestBackend('sqlstates');
  logs = captureLogs('debug');
  await initDatabase(b.options);
  await b.exec(`
    create table parents (id int primary key);
    create table kids (id int primary key, parent_id int constraint kids_parent_fk references parents(id) on delete restrict, note text);
    create table items (
      id bigint primary key,
      email text not null constraint items_email_key unique,
      qty int constraint items_qty_positive check (qty > 0),
      short varchar(5),
      born date,
      note text
    );
    create function spfn_raise(state text) returns void language plpgsql as
      $$ begin raise exception 'raised for the test' using errcode = state; end $$;
    insert into parents values (1);
    insert into kids values (1, 1, null);
  `);
  await b.exec(`insert into items (id, email) values (1, $1)`, ['taken-' + SECRET]);
}, 120_000);

afterAll(async () => {
  await closeDatabase();
  await b.finish();
});

function expectNoValue(c: Case, shown: string): void {
  expect(shown).not.toContain(SECRET);
  if (c.value !== undefined) expect(shown).not.toContain(c.value);
}

describe(`every mapped SQLSTATE on ${process.env.SPFN_TEST_BACKEND ?? 'postgres'}: same class, code, status, no value`, () => {
  it.each(CASES.map((c) => [`${String(c.sqlState)} ${c.what}`, c] as const))('%s', async (_name, c) => {
    const raw = await getDatabase()
      .execute(c.provoke())
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(raw, 'the statement fails').toBeDefined();
    const err = toDatabaseError(raw);
    expect(err).toBeInstanceOf(c.type);
    if (c.type === QueryError) expect(err.constructor).toBe(QueryError);
    const states = typeof c.sqlState === 'string' ? [c.sqlState] : c.sqlState;
    expect(states).toContain(err.sqlState);
    expect(err.code).toBe(c.code);
    expect(httpStatusOf(err)).toBe(c.status);
    if (c.fields) expect(err).toMatchObject(c.fields);
    expectNoValue(c, [err.message, String(err), JSON.stringify(err), inspect(err, { depth: 8 })].join('\n'));

    const app = new Hono();
    app.post('/case', Transactional(), async () => {
      await getDatabase().execute(c.provoke());
      return new Response('unreachable');
    });
    const res = await app.request('/case', { method: 'POST' });
    expect(res.status).toBe(c.status);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe(c.code);
    expectNoValue(c, JSON.stringify(body));
    if (c.type === InvalidInputError) expect(body.error.message).toMatch(/^[A-Z][^"]+ \(SQLSTATE 22[0-9A-Z]{3}\)$/);
  });

  it('no value reached a log line, and bad input was not logged at error level', () => {
    expect(logs.text()).not.toContain(SECRET);
    const errorLines = logs.lines.map((l) => JSON.parse(l) as { level: number | string; msg?: string });
    const inputErrors = errorLines.filter(
      (l) => (l.level === 50 || l.level === 'error') && JSON.stringify(l).includes('INVALID_INPUT'),
    );
    expect(inputErrors).toEqual([]);
  });
});
