import { eq, sql } from 'drizzle-orm';
import { bigint, integer, pgTable, text } from 'drizzle-orm/pg-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  closeDatabase,
  dbEvents,
  getDatabase,
  getTransaction,
  initDatabase,
  onCommit,
  onRollback,
  runOutsideTransaction,
  runWithTransaction,
  toDatabaseError,
  transaction,
} from '@spfn/core/db';
import {
  DeadlockError,
  QueryTimeoutError,
  SerializationError,
  TransactionError,
  TransactionTimeoutError,
  UniqueViolationError,
} from '@spfn/core/errors';
import { itPostgresOnly, openTestBackend, type TestBackend } from '../helpers/backend.js';
import { waitFor } from '../helpers/pg.js';

const items = pgTable('items', {
  id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
  name: text('name').notNull().unique(),
  qty: integer('qty').notNull().default(0),
});

let b: TestBackend;
/** What PGlite cannot do with its one session. */
const secondSession = itPostgresOnly('one session: a second transaction or statement waits for the first');

async function names(): Promise<string[]> {
  const rows = await b.exec<{ name: string }>('select name from items order by name');
  return rows.map((r) => r.name);
}

beforeAll(async () => {
  b = await openTestBackend('tx');
  await initDatabase(b.options);
  await b.exec(
    'create table items (id bigint generated always as identity primary key, name text not null unique, qty int not null default 0)',
  );
});

beforeEach(async () => {
  await b.exec('truncate items');
});

afterAll(async () => {
  await closeDatabase();
  await b.finish();
});

describe('transaction()', () => {
  it('commits on success and rolls back on a throw, returning the typed error', async () => {
    await transaction(async (tx) => {
      await tx.insert(items).values({ name: 'a' });
    });
    const err = await transaction(async (tx) => {
      await tx.insert(items).values({ name: 'b' });
      await tx.insert(items).values({ name: 'a' });
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UniqueViolationError);
    expect((err as UniqueViolationError).constraint).toBe('items_name_key');
    expect(await names()).toEqual(['a']);
  });

  it('a callback that returns a Drizzle query unawaited runs it in the transaction (it runs when its then is called)', async () => {
    // Run outside the transaction, the insert would commit on its own after the deadline rolled the transaction back.
    await expect(
      transaction(() => getDatabase().execute(sql`insert into items (name) select 'lazy' from pg_sleep(0.3)`), {
        timeout: 50,
      }),
    ).rejects.toBeInstanceOf(TransactionTimeoutError);
    await new Promise((r) => setTimeout(r, 400));
    expect(await names()).toEqual([]);
    await transaction(() => getDatabase().insert(items).values({ name: 'lazy-committed' }));
    expect(await names()).toEqual(['lazy-committed']);
  });

  it("the caller's own errors pass through unchanged", async () => {
    class Mine extends Error {}
    const mine = new Mine('nope');
    await expect(
      transaction(async (tx) => {
        await tx.insert(items).values({ name: 'x' });
        throw mine;
      }),
    ).rejects.toBe(mine);
    expect(await names()).toEqual([]);
  });

  it('getDatabase() and getTransaction() inside a transaction run in it, at any depth', async () => {
    const deep = async (): Promise<void> => {
      await new Promise((r) => setTimeout(r, 5));
      await getDatabase().insert(items).values({ name: 'deep' });
      await getDatabase('read').select().from(items);
    };
    await expect(
      transaction(async () => {
        expect(getTransaction()).toBeDefined();
        await deep();
        const seen = await getDatabase('read').select().from(items).where(eq(items.name, 'deep'));
        expect(seen).toHaveLength(1);
        // Not visible outside before commit (a second session; PGlite has one, which this transaction holds).
        if (b.kind === 'postgres') expect(await names()).toEqual([]);
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    expect(await names()).toEqual([]);
    expect(getTransaction()).toBeUndefined();
  });

  it('required joins the running transaction: one backend, one rollback', async () => {
    const pids = new Set<number>();
    const pid = async (): Promise<void> => {
      const [row] = await getDatabase().execute<{ pid: number }>(sql`select pg_backend_pid() as pid`);
      pids.add(row!.pid);
    };
    await expect(
      transaction(async () => {
        await pid();
        await getDatabase().insert(items).values({ name: 'outer' });
        await transaction(async () => {
          await pid();
          await getDatabase().insert(items).values({ name: 'inner' });
        });
        throw new Error('outer fails');
      }),
    ).rejects.toThrow('outer fails');
    expect(pids.size).toBe(1);
    expect(await names()).toEqual([]);
  });

  it('nested: an inner rollback to its savepoint while the outer commits', async () => {
    await transaction(async () => {
      await getDatabase().insert(items).values({ name: 'kept' });
      await expect(
        transaction(
          async () => {
            await getDatabase().insert(items).values({ name: 'undone' });
            throw new Error('inner fails');
          },
          { propagation: 'nested' },
        ),
      ).rejects.toThrow('inner fails');
      await transaction(async () => getDatabase().insert(items).values({ name: 'nested-ok' }), {
        propagation: 'nested',
      });
    });
    expect(await names()).toEqual(['kept', 'nested-ok']);
  });

  it('nested: a unique violation inside a savepoint leaves the outer usable', async () => {
    await transaction(async (tx) => {
      await tx.insert(items).values({ name: 'one' });
      const err = await transaction(async (inner) => inner.insert(items).values({ name: 'one' }), {
        propagation: 'nested',
      }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UniqueViolationError);
      await tx.insert(items).values({ name: 'two' });
    });
    expect(await names()).toEqual(['one', 'two']);
  });

  it("Drizzle's own tx.transaction() is a savepoint too", async () => {
    await getDatabase().transaction(async (tx) => {
      await tx.insert(items).values({ name: 'drizzle-outer' });
      await tx
        .transaction(async (inner) => {
          await inner.insert(items).values({ name: 'drizzle-inner' });
          inner.rollback();
        })
        .catch(() => undefined);
    });
    expect(await names()).toEqual(['drizzle-outer']);
  });

  secondSession('requires_new commits on its own connection even if the outer rolls back', async () => {
    const pids: number[] = [];
    await expect(
      transaction(async () => {
        pids.push((await getDatabase().execute<{ pid: number }>(sql`select pg_backend_pid() as pid`))[0]!.pid);
        await getDatabase().insert(items).values({ name: 'outer' });
        await transaction(
          async () => {
            pids.push((await getDatabase().execute<{ pid: number }>(sql`select pg_backend_pid() as pid`))[0]!.pid);
            await getDatabase().insert(items).values({ name: 'audit' });
          },
          { propagation: 'requires_new' },
        );
        throw new Error('outer fails');
      }),
    ).rejects.toThrow('outer fails');
    expect(pids[0]).not.toBe(pids[1]);
    expect(await names()).toEqual(['audit']);
  });

  secondSession('runOutsideTransaction() escapes the ambient transaction', async () => {
    await expect(
      transaction(async () => {
        await getDatabase().insert(items).values({ name: 'in-tx' });
        await runOutsideTransaction(() => getDatabase().insert(items).values({ name: 'outside' }));
        throw new Error('undo');
      }),
    ).rejects.toThrow('undo');
    expect(await names()).toEqual(['outside']);
  });

  it('runWithTransaction() makes a handle ambient', async () => {
    await transaction(async (tx) => {
      await runOutsideTransaction(async () => {
        expect(getTransaction()).toBeUndefined();
        await runWithTransaction(tx, async () => {
          expect(getTransaction()).toBe(tx);
          await getDatabase().insert(items).values({ name: 'via-handle' });
        });
      });
    });
    expect(await names()).toEqual(['via-handle']);
    expect(() => runWithTransaction({} as never, () => 1)).toThrow(TransactionError);
  });

  it("runWithTransaction() accepts the tx Drizzle hands to getDatabase().transaction(), and a savepoint's", async () => {
    let outerId: string | undefined;
    await getDatabase().transaction(async (tx) => {
      outerId = getTransaction() === undefined ? undefined : 'ambient';
      await runOutsideTransaction(async () => {
        expect(getTransaction()).toBeUndefined();
        await runWithTransaction(tx, async () => {
          expect(getTransaction()).toBeDefined();
          await getDatabase().insert(items).values({ name: 'drizzle-tx' });
        });
      });
      await tx.transaction(async (sp) => {
        await runOutsideTransaction(() =>
          runWithTransaction(sp, async () => {
            await getDatabase().insert(items).values({ name: 'drizzle-savepoint' });
          }),
        );
      });
    });
    expect(outerId).toBe('ambient');
    expect(await names()).toEqual(['drizzle-savepoint', 'drizzle-tx']);

    // What runs through the handed-out tx rolls back with it.
    await expect(
      getDatabase().transaction(async (tx) => {
        await runOutsideTransaction(() =>
          runWithTransaction(tx, async () => {
            await getDatabase().insert(items).values({ name: 'rolled-back' });
          }),
        );
        throw new Error('undo');
      }),
    ).rejects.toThrow('undo');
    expect(await names()).toEqual(['drizzle-savepoint', 'drizzle-tx']);
  });

  it('a handle used after its transaction ended fails instead of running outside it', async () => {
    let leaked: Parameters<Parameters<typeof transaction>[0]>[0] | undefined;
    await transaction(async (tx) => {
      leaked = tx;
    });
    const err = await leaked!
      .insert(items)
      .values({ name: 'late' })
      .catch((e: unknown) => e);
    expect(toDatabaseError(err)).toBeInstanceOf(TransactionError);
    expect(toDatabaseError(err).message).toMatch(/already ended/);
    expect(await names()).toEqual([]);
  });

  it('isolationLevel and readOnly are applied', async () => {
    const level = await transaction(
      async () =>
        (
          await getDatabase().execute<{ level: string }>(sql`select current_setting('transaction_isolation') as level`)
        )[0]!.level,
      { isolationLevel: 'repeatable read' },
    );
    expect(level).toBe('repeatable read');
    const err = await transaction(async () => getDatabase().insert(items).values({ name: 'ro' }), {
      readOnly: true,
    }).catch((e: unknown) => e);
    expect((err as { sqlState?: string }).sqlState).toBe('25006');
  });
});

const noCancel = itPostgresOnly('no cancel of a running statement: PGlite runs it on the JS thread');

describe('retry', () => {
  const raise = (state: string) => sql.raw(`do $$ begin raise exception 'conflict' using errcode = '${state}'; end $$`);

  it('re-runs the whole callback on 40001 and 40P01, keeping only the last attempt', async () => {
    for (const state of ['40001', '40P01']) {
      await b.exec('truncate items');
      let attempts = 0;
      const result = await transaction(
        async (tx) => {
          attempts++;
          await tx.insert(items).values({ name: `attempt-${attempts}` });
          if (attempts < 3) await tx.execute(raise(state));
          return attempts;
        },
        { retry: { attempts: 3, baseDelay: 1, maxDelay: 5 } },
      );
      expect(result).toBe(3);
      expect(await names()).toEqual(['attempt-3']);
    }
  });

  it('gives up after the attempts with the typed error, and never retries other errors or a joined call', async () => {
    let attempts = 0;
    const err = await transaction(
      async (tx) => {
        attempts++;
        await tx.execute(raise('40001'));
      },
      { retry: 2 },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SerializationError);
    expect(attempts).toBe(2);

    attempts = 0;
    await transaction(
      async (tx) => {
        attempts++;
        await tx.insert(items).values({ name: 'dup' });
        await tx.insert(items).values({ name: 'dup' });
      },
      { retry: 3 },
    ).catch(() => undefined);
    expect(attempts).toBe(1);

    // Only the outermost owner retries: a joined inner call with retry does not re-run on its own.
    let inner = 0;
    const outer = await transaction(async () =>
      transaction(
        async (tx) => {
          inner++;
          await tx.execute(raise('40P01'));
        },
        { retry: 3 },
      ),
    ).catch((e: unknown) => e);
    expect(outer).toBeInstanceOf(DeadlockError);
    expect(inner).toBe(1);
    expect(await names()).toEqual([]);
  });
});

describe('timeouts', () => {
  noCancel('the timer cancels a statement that started late, before its own statement_timeout would', async () => {
    // The first statement starts at 250 ms; BEGIN goes with it and sets statement_timeout to the time left (50 ms),
    // and the transaction timer fires at 300 ms as well: whichever is first, the statement ends at the deadline.
    const started = performance.now();
    const err = await transaction(
      async () => {
        await new Promise((r) => setTimeout(r, 250));
        await getDatabase().execute(sql`select pg_sleep(3)`);
      },
      { timeout: 300 },
    ).catch((e: unknown) => e);
    const elapsed = performance.now() - started;
    expect(err).toBeInstanceOf(TransactionTimeoutError);
    expect((err as TransactionTimeoutError).timeoutMs).toBe(300);
    expect(elapsed).toBeLessThan(540);
    const running = await b.exec(`select 1 from pg_stat_activity where application_name = $1 and state <> 'idle'`, [
      b.server!.appName,
    ]);
    expect(running).toHaveLength(0);
  });

  it('a statement that ends past the deadline: nothing commits, no later statement runs, TransactionTimeoutError', async () => {
    const runs = 200;
    const timeout = 20;
    const answers: number[] = [];
    const outcomes = new Map<string, number>();
    let after = 0;
    for (let i = 0; i < runs; i++) {
      const started = performance.now();
      const outcome = await transaction(
        async (tx) => {
          await tx.insert(items).values({ name: `before-${i}` });
          // Ends 10 ms past the deadline: PostgreSQL cancels it at the deadline, PGlite lets it finish.
          await tx.execute(sql`select pg_sleep(0.03)`);
          after++;
          await tx.insert(items).values({ name: `after-${i}` });
        },
        { timeout },
      ).then(
        () => 'committed',
        (e: unknown) => (e instanceof TransactionTimeoutError ? 'TransactionTimeoutError' : String(e)),
      );
      answers.push(performance.now() - started);
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    }
    const [left] = await b.exec<{ n: number }>('select count(*)::int as n from items');
    answers.sort((p, q) => p - q);
    const pct = (q: number): string => answers[Math.min(runs - 1, Math.floor(runs * q))]!.toFixed(0);
    console.log(
      `[${b.kind}] deadline ${timeout} ms, statement 30 ms, ${runs} runs: ${JSON.stringify(Object.fromEntries(outcomes))}, ` +
        `rows left ${left!.n}, statements run after the deadline ${after}, answer p50 ${pct(0.5)} ms, p99 ${pct(0.99)} ms, max ${pct(1)} ms`,
    );
    // Every run: the server's statement_timeout firing before our timer is the deadline too, and the cancel sent
    // for one run's statement never lands on the next run's BEGIN or insert (a QueryTimeoutError within ms).
    expect(Object.fromEntries(outcomes)).toEqual({ TransactionTimeoutError: runs });
    // No run got its timeout before its deadline (a lower bound: a slow machine only makes answers later).
    expect(answers[0]).toBeGreaterThanOrEqual(timeout);
    expect(left!.n).toBe(0);
    expect(after).toBe(0);
  });

  noCancel(
    "a statement cancelled before the deadline is the statement's own timeout, not the transaction's",
    async () => {
      const events: string[] = [];
      const off = dbEvents.on('transaction:rollback', (e) => events.push(e.reason));
      try {
        const err = await transaction(
          async () => {
            await getDatabase().execute(sql`set local statement_timeout = 50`);
            await getDatabase().execute(sql`select pg_sleep(2)`);
          },
          { timeout: 5000 },
        ).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(QueryTimeoutError);
        expect(err).not.toBeInstanceOf(TransactionTimeoutError);
      } finally {
        off();
      }
      expect(events).toEqual(['error']);
    },
  );

  it('timeout 0 disables the deadline', async () => {
    await transaction(
      async () => {
        await new Promise((r) => setTimeout(r, 150));
        await getDatabase().insert(items).values({ name: 'no-deadline' });
      },
      { timeout: 0 },
    );
    expect(await names()).toEqual(['no-deadline']);
  });
});

describe('onCommit / onRollback', () => {
  it('onCommit runs only after commit; onRollback only after rollback; a throwing hook does not undo a commit', async () => {
    const calls: string[] = [];
    await transaction(async () => {
      await getDatabase().insert(items).values({ name: 'hooked' });
      onCommit(async () => {
        // The row is visible to others: the commit happened first.
        calls.push(`commit:${(await names()).join(',')}`);
      });
      onCommit(() => {
        throw new Error('hook fails');
      });
      onRollback(() => calls.push('rollback-never'));
      calls.push('body');
    });
    await waitFor(() => calls.length >= 2);
    expect(calls).toEqual(['body', 'commit:hooked']);
    expect(await names()).toEqual(['hooked']);

    const calls2: string[] = [];
    await transaction(async () => {
      onCommit(() => calls2.push('commit-never'));
      onRollback(() => calls2.push('rollback'));
      throw new Error('x');
    }).catch(() => undefined);
    expect(calls2).toEqual(['rollback']);
  });

  it('hooks of a savepoint that rolled back are dropped for commit', async () => {
    const calls: string[] = [];
    await transaction(async () => {
      await transaction(
        async () => {
          onCommit(() => calls.push('inner-commit'));
          onRollback(() => calls.push('inner-rollback'));
          throw new Error('inner');
        },
        { propagation: 'nested' },
      ).catch(() => undefined);
      onCommit(() => calls.push('outer-commit'));
    });
    expect(calls).toEqual(['inner-rollback', 'outer-commit']);
  });

  it('outside a transaction onCommit throws TransactionError', () => {
    expect(() => onCommit(() => undefined)).toThrow(TransactionError);
  });
});

describe('events', () => {
  it('emits start, commit and rollback with reasons', async () => {
    const seen: string[] = [];
    const offs = [
      dbEvents.on('transaction:start', (e) => seen.push(`start:${e.name ?? ''}`)),
      dbEvents.on('transaction:commit', (e) => seen.push(`commit:${e.name ?? ''}`)),
      dbEvents.on('transaction:rollback', (e) => seen.push(`rollback:${e.name ?? ''}:${e.reason}`)),
    ];
    await transaction(async () => undefined, { name: 'ok' });
    await transaction(
      async () => {
        throw new Error('x');
      },
      { name: 'bad' },
    ).catch(() => undefined);
    await transaction(() => new Promise((r) => setTimeout(r, 300)), { name: 'slow', timeout: 100 }).catch(
      (e: unknown) => expect(e).toBeInstanceOf(TransactionTimeoutError),
    );
    offs.forEach((off) => off());
    expect(seen).toEqual([
      'start:ok',
      'commit:ok',
      'start:bad',
      'rollback:bad:error',
      'start:slow',
      'rollback:slow:timeout',
    ]);
  });
});
