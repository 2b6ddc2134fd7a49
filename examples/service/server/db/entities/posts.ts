// The posts table. `foreignKey('author', …)` is the column author_id; restrict: a user with posts cannot be deleted.
import { sql } from 'drizzle-orm';
import { check, index, pgTable, text } from 'drizzle-orm/pg-core';
import { foreignKey, id, timestamps } from '@spfn/core/db';
import { users } from './users.js';

export const posts = pgTable(
  'posts',
  {
    id: id(),
    authorId: foreignKey('author', () => users.id, { onDelete: 'restrict' }),
    title: text('title').notNull(),
    body: text('body').notNull().default(''),
    ...timestamps(),
  },
  (t) => [
    index('posts_author_id_idx').on(t.authorId),
    check('posts_title_not_blank', sql`length(trim(${t.title})) > 0`),
  ],
);

export type Post = typeof posts.$inferSelect;
