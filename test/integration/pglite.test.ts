import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { bigint, pgTable, text, timestamp } from 'drizzle-orm/pg-core';
import { afterAll, describe, expect, it } from 'vitest';
import { closeDatabase, getDatabase, getDatabaseManager, initDatabase, transaction } from '@spfn/core/db';
import { PoolTimeoutError, TransactionTimeoutError, UniqueViolationError } from '@spfn/core/errors';

const notes = pgTable('notes', {
  id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
  body: text('body').notNull().unique(),
  at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
});

const dir = mkdtempSync(join(tmpdir(), 'spfn-pglite-'));

afterAll(async () => {
  await closeDatabase();
  rmSync(dir, { recursive: true, force: true });
});

describe('embedded PostgreSQL (no DATABASE_URL)', () => {
  it('initDatabase() with no URL runs on PGlite, persisted under PGLITE_DATA_DIR', async () => {
    const { write, read } = await initDatabase({ pgliteDataDir: dir, pool: { acquireTimeout: 300 } });
    expect(read).toBe(write);
    expect(getDatabaseManager().pools.primary.role).toBe('embedded');
    await write.execute(
      sql`create table notes (id bigint generated always as identity primary key, body text not null unique, at timestamptz not null default now())`,
    );
    await transaction(async (tx) => {
      await tx.insert(notes).values([{ body: 'a' }, { body: 'b' }]);
    });
    const rows = await getDatabase().select().from(notes).orderBy(notes.id);
    expect(rows.map((r) => r.body)).toEqual(['a', 'b']);
    expect(rows[0]!.at).toBeInstanceOf(Date);
    // Same result shapes as postgres.js: count(*) as a string.
    const [count] = await write.execute<{ n: string }>(sql`select count(*) as n from notes`);
    expect(count!.n).toBe('2');
  });

  it('typed errors, rollback, savepoints and timeouts behave as on a server', async () => {
    await expect(getDatabase().insert(notes).values({ body: 'a' })).rejects.toBeInstanceOf(UniqueViolationError);
    await expect(
      transaction(async () => {
        await getDatabase().insert(notes).values({ body: 'c' });
        await transaction(
          async () => {
            await getDatabase().insert(notes).values({ body: 'd' });
            throw new Error('inner');
          },
          { propagation: 'nested' },
        ).catch(() => undefined);
        throw new Error('outer');
      }),
    ).rejects.toThrow('outer');
    const err = await transaction(
      async () => {
        await getDatabase().insert(notes).values({ body: 'late-1' });
        await new Promise((r) => setTimeout(r, 300));
        await getDatabase().insert(notes).values({ body: 'late-2' });
      },
      { timeout: 100 },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransactionTimeoutError);
    await new Promise((r) => setTimeout(r, 400));
    const rows = await getDatabase().select().from(notes).orderBy(notes.id);
    expect(rows.map((r) => r.body)).toEqual(['a', 'b']);
  });

  it('the single embedded session: a statement waits for a running transaction, at most the acquire timeout', async () => {
    let release!: () => void;
    // The transaction takes the session with its first statement (ADR 0009).
    const held = transaction(
      async () => {
        await getDatabase().select().from(notes);
        await new Promise<void>((r) => (release = r));
      },
      { timeout: 0 },
    );
    await new Promise((r) => setTimeout(r, 50));
    const err = await getDatabase()
      .select()
      .from(notes)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PoolTimeoutError);
    release();
    await held;
    expect(await getDatabase().select().from(notes)).toHaveLength(2);
  });

  it('data persists across close and re-open', async () => {
    await closeDatabase();
    await initDatabase({ pgliteDataDir: dir });
    expect(await getDatabase().select().from(notes)).toHaveLength(2);
  });
});
