// The Drizzle table shared by the Drizzle and @spfn/core contenders (drizzle-orm resolves from the repository's
// own install, so both use the version the package ships with).
import { bigint, integer, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

export const items = pgTable('bench_items', {
  id: bigint('id', { mode: 'number' }).primaryKey().generatedByDefaultAsIdentity(),
  name: text('name').notNull(),
  qty: integer('qty').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});
