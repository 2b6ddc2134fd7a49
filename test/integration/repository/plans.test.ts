import { eq, sql } from 'drizzle-orm';
import { bigint, index, integer, pgTable, text } from 'drizzle-orm/pg-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  clearRepositoryCache,
  closeDatabase,
  getDatabase,
  getRepository,
  initDatabase,
  prepare,
  transaction,
} from '@spfn/core/db';
import { createTestDatabase, type TestDatabase, expectNoLeaksThenDrop } from '../../helpers/pg.js';

// Plan choice per statement (ADR 0008). A skewed table: 20,000 rows are 'common', 20 are 'rare'; an index on
// status. For `status = 'rare'` the best plan uses the index, for `status = 'common'` a sequential scan, so a
// generic plan (one plan for every value) is wrong for one of them. With pool max 1 every statement of the pool
// runs on one server session, whose pg_prepared_statements shows which statements were prepared by name and how
// many generic and custom plans each got.
const items = pgTable(
  'plan_items',
  {
    id: bigint('id', { mode: 'number' }).primaryKey(),
    status: text('status').notNull(),
    qty: integer('qty').notNull(),
  },
  (t) => [index('plan_items_status').on(t.status)],
);

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase('repo_plans');
  await db.sql`create table plan_items (id bigint primary key, status text not null, qty int not null)`;
  await db.sql`insert into plan_items
    select g, case when g % 1000 = 0 then 'rare' else 'common' end, g % 100 from generate_series(1, 20000) g`;
  await db.sql`create index plan_items_status on plan_items (status)`;
  await db.sql`analyze plan_items`;
  await initDatabase({
    url: db.url,
    applicationName: db.appName,
    pool: { max: 1 },
    healthCheck: { enabled: false },
  });
  clearRepositoryCache();
});

afterAll(async () => {
  await closeDatabase();
  await expectNoLeaksThenDrop(db);
});

interface PreparedRow {
  statement: string;
  generic_plans: string;
  custom_plans: string;
}

/** The named statements of the pool's one session (PostgreSQL 14+ counts generic and custom plans). */
async function prepared(): Promise<PreparedRow[]> {
  return (await getDatabase('write').execute(
    sql`select statement, generic_plans::text, custom_plans::text from pg_prepared_statements`,
  )) as unknown as PreparedRow[];
}

function named(rows: PreparedRow[], pattern: RegExp): PreparedRow[] {
  return rows.filter((r) => pattern.test(r.statement));
}

describe('plan choice per statement', () => {
  it('sends no plan_cache_mode: the session keeps the server default', async () => {
    const [server] = await db.sql<{ mode: string }[]>`select current_setting('plan_cache_mode') as mode`;
    const [ours] = (await getDatabase('write').execute(
      sql`select current_setting('plan_cache_mode') as mode`,
    )) as unknown as { mode: string }[];
    expect(ours!.mode).toBe(server!.mode);
    expect(ours!.mode).not.toBe('force_custom_plan');
  });

  it('runs findById as a named statement that gets the generic plan after five executions', async () => {
    const repo = getRepository(items);
    for (let i = 1; i <= 8; i++) expect(await repo.findById(i * 7)).toMatchObject({ id: i * 7 });
    const rows = named(await prepared(), /"plan_items"\."id" = \$1/);
    expect(rows).toHaveLength(1);
    expect(Number(rows[0]!.custom_plans)).toBe(5);
    expect(Number(rows[0]!.generic_plans)).toBeGreaterThanOrEqual(3);
  });

  it('runs save and update by id as named statements, inside a transaction too', async () => {
    const repo = getRepository(items);
    await transaction(async () => {
      await repo.save({ id: 100_001, status: 'new', qty: 1 });
      await repo.update(100_001, { qty: 2 });
    });
    const rows = await prepared();
    expect(named(rows, /^insert into "plan_items"/)).toHaveLength(1);
    expect(named(rows, /^update "plan_items" set "qty" = \$1/)).toHaveLength(1);
  });

  it('plans every execution of a repository filter for its values (never a named statement)', async () => {
    const repo = getRepository(items);
    for (let i = 0; i < 8; i++) {
      const status = i % 2 === 0 ? 'common' : 'rare';
      const found = await repo.findMany({ where: { status }, limit: 3 });
      expect(found.every((r) => r.status === status)).toBe(true);
      await repo.count({ status });
    }
    await repo.updateWhere({ status: 'rare', qty: { lt: 0 } }, { qty: 1 });
    expect(named(await prepared(), /"status" = \$1/)).toEqual([]);
  });

  it('plans every execution of hand-written Drizzle for its values', async () => {
    for (let i = 0; i < 8; i++) {
      await getDatabase('read').select().from(items).where(eq(items.qty, i)).limit(1);
    }
    expect(named(await prepared(), /where "plan_items"\."qty" = \$1/)).toEqual([]);
  });

  it('lets prepare() queries run by name, or planned per execution with { plan: "custom" }', async () => {
    const byQty = prepare((d, p) =>
      d
        .select()
        .from(items)
        .where(eq(items.qty, p('qty')))
        .limit(1),
    );
    const byStatus = prepare(
      (d, p) =>
        d
          .select()
          .from(items)
          .where(eq(items.status, p('status')))
          .limit(1),
      {
        plan: 'custom',
      },
    );
    for (let i = 0; i < 8; i++) {
      await byQty.execute({ qty: i });
      await byStatus.execute({ status: i % 2 === 0 ? 'common' : 'rare' });
    }
    const rows = await prepared();
    expect(named(rows, /where "plan_items"\."qty" = \$1/)).toHaveLength(1);
    expect(named(rows, /"status" = \$1/)).toEqual([]);
  });

  it('refuses an unknown plan option', () => {
    expect(() => prepare((d) => d.select().from(items), { plan: 'generic' as never })).toThrow(/plan/);
  });
});

describe('why: a generic plan is wrong for one value of a skewed column', () => {
  // Run on the admin client (plan_cache_mode auto): after five executions for 'common' (each planned as a
  // sequential scan) the named statement switches to the generic plan, estimated cheaper because it assumes half
  // the rows match: an index scan, which then reads 19,980 of 20,000 rows through the index. The unnamed statement
  // (what the layer sends for filters) plans 'common' with its value: a sequential scan.
  it('shows the generic plan using the index that the custom plan for a common value avoids', async () => {
    const text = 'select id from plan_items where status = $1';
    const reserved = await db.sql.reserve();
    try {
      await reserved.unsafe(`prepare skew(text) as ${text}`);
      for (let i = 0; i < 6; i++) await reserved.unsafe(`execute skew('common')`);
      const generic = await reserved.unsafe(`explain (format json) execute skew('common')`);
      const custom = await reserved.unsafe(`explain (format json) ${text}`, ['common'], { prepare: false });
      const planOf = (r: unknown): string => JSON.stringify((r as { 'QUERY PLAN': unknown }[])[0]!['QUERY PLAN']);
      const [counts] = await reserved.unsafe(
        `select generic_plans::int as generic from pg_prepared_statements where name = 'skew'`,
      );
      expect((counts as unknown as { generic: number }).generic).toBeGreaterThanOrEqual(1);
      expect(planOf(generic)).toMatch(/plan_items_status/);
      expect(planOf(custom)).toMatch(/"Seq Scan"/);
      await reserved.unsafe('deallocate skew');
    } finally {
      reserved.release();
    }
  });
});
