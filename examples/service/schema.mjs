// The example's tables, with the schema helpers of @spfn/core/db. drizzle/0000_users_posts.sql creates them.
import { relations, sql } from 'drizzle-orm';
import { check, index, pgTable, text } from 'drizzle-orm/pg-core';
import { foreignKey, id, timestamps } from '@spfn/core/db';

export const users = pgTable('users', {
  id: id(),
  email: text('email').notNull().unique(),
  name: text('name').notNull(),
  ...timestamps(),
});

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

export const usersRelations = relations(users, ({ many }) => ({ posts: many(posts) }));
export const postsRelations = relations(posts, ({ one }) => ({
  author: one(users, { fields: [posts.authorId], references: [users.id] }),
}));
