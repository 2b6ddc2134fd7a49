// The users table, with the schema helpers of @spfn/core/db. server/db/migrations creates it.
import { pgTable, text } from 'drizzle-orm/pg-core';
import { id, timestamps } from '@spfn/core/db';

export const users = pgTable('users', {
  id: id(),
  email: text('email').notNull().unique(),
  name: text('name').notNull(),
  ...timestamps(),
});

export type User = typeof users.$inferSelect;
