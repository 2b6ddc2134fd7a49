import { eq, sql } from 'drizzle-orm';
import { integer, pgTable, text } from 'drizzle-orm/pg-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeDatabase, getDatabase, httpStatusOf, initDatabase, transaction } from '@spfn/core/db';
import type { DatabaseError } from '@spfn/core/errors';
import {
  CheckViolationError,
  ForeignKeyViolationError,
  NotNullViolationError,
  QueryError,
  toDatabaseError,
  UniqueViolationError,
} from '@spfn/core/errors';

const SECRET_VALUE = 'distinctive-pglite-param-51b7';

const items = pgTable('items', {
  id: integer('id').primaryKey(),
  email: text('email').notNull(),
  parentId: integer('parent_id'),
  qty: integer('qty'),
});
const parents = pgTable('parents', { id: integer('id').primaryKey() });

beforeAll(async () => {
  await initDatabase({ pgliteDataDir: 'memory://', healthCheck: { enabled: false } });
  for (const statement of [
    'create table parents (id int primary key)',
    `create table items (
      id int primary key,
      email text not null constraint items_email_key unique,
      parent_id int constraint items_parent_fk references parents(id),
      qty int constraint items_qty_positive check (qty > 0))`,
    'insert into parents values (1)',
    "insert into items values (1, 'taken@example.com', 1, 1)",
  ]) {
    await getDatabase().execute(sql.raw(statement));
  }
}, 120_000);

afterAll(async () => {
  await closeDatabase();
});

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
}

describe('SQLSTATE mapping on the embedded PGlite', () => {
  it('23505 → UniqueViolationError with constraint and table, no parameter value', async () => {
    const raw = await rawFailure(() => getDatabase().insert(items).values({ id: 2, email: 'taken@example.com' }));
    expect(raw).toBeInstanceOf(UniqueViolationError);
    const err = toDatabaseError(raw);
    expect(err).toBe(raw);
    expect(err).toBeInstanceOf(UniqueViolationError);
    expect(err).toMatchObject({ sqlState: '23505', constraint: 'items_email_key', table: 'items', schema: 'public' });
    expect(httpStatusOf(err)).toBe(409);

    await getDatabase().insert(items).values({ id: 3, email: SECRET_VALUE });
    const again = toDatabaseError(
      await rawFailure(() => getDatabase().insert(items).values({ id: 4, email: SECRET_VALUE })),
    );
    expect(again).toBeInstanceOf(UniqueViolationError);
    expectClientSafe(again);
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
    expect(err).toMatchObject({ sqlState: '23503', constraint: 'items_parent_fk', table: 'items' });
    expectClientSafe(err);
    const del = toDatabaseError(await rawFailure(() => getDatabase().delete(parents).where(eq(parents.id, 1))));
    expect(del).toBeInstanceOf(ForeignKeyViolationError);
  });

  it('23502 → NotNullViolationError with the column', async () => {
    const err = toDatabaseError(
      await rawFailure(() => getDatabase().execute(sql`insert into items (id, email) values (6, null)`)),
    );
    expect(err).toBeInstanceOf(NotNullViolationError);
    expect(err).toMatchObject({ sqlState: '23502', table: 'items', column: 'email' });
    expect(httpStatusOf(err)).toBe(400);
  });

  it('23514 → CheckViolationError', async () => {
    const err = toDatabaseError(
      await rawFailure(() =>
        getDatabase()
          .insert(items)
          .values({ id: 7, email: SECRET_VALUE + 'y', qty: -1 }),
      ),
    );
    expect(err).toBeInstanceOf(CheckViolationError);
    expect(err).toMatchObject({ sqlState: '23514', constraint: 'items_qty_positive', table: 'items' });
    expectClientSafe(err);
  });

  it('another SQLSTATE → QueryError', async () => {
    const err = toDatabaseError(await rawFailure(() => getDatabase().execute(sql`select * from no_such_table`)));
    expect(err.constructor).toBe(QueryError);
    expect(err.sqlState).toBe('42P01');
  });

  it('errors leaving transaction() are mapped, and the database stays usable', async () => {
    const outcome = await transaction(async (tx) => {
      await tx.insert(items).values({ id: 8, email: 'taken@example.com' });
    }).then(
      () => 'committed',
      (e: unknown) => e,
    );
    expect(outcome).toBeInstanceOf(UniqueViolationError);
    const rows = await getDatabase().select().from(items).where(eq(items.id, 8));
    expect(rows).toEqual([]);
  });

  // PGlite runs single-threaded in WASM without signals: statement_timeout and cancel requests never fire, so
  // 57014 cannot happen there (docs/errors.md). If a PGlite release starts enforcing it, this test tells us.
  it('57014 does not occur: statement_timeout is not enforced by PGlite', async () => {
    const outcome = await transaction(async (tx) => {
      await tx.execute(sql`set local statement_timeout = 20`);
      await tx.execute(sql`select pg_sleep(0.3)`);
      return 'completed';
    }).catch((e: unknown) => e);
    expect(outcome).toBe('completed');
  });
});
