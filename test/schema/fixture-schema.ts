import { pgTable, text } from 'drizzle-orm/pg-core';
import { foreignKey, id, optionalForeignKey, timestamps } from '@spfn/core/db';

export const users = pgTable('users', { id: id(), email: text('email').notNull().unique(), ...timestamps() });

export const posts = pgTable('posts', {
  id: id(),
  authorId: foreignKey('author_id', () => users.id, { onDelete: 'cascade' }),
  editorId: optionalForeignKey('editor_id', () => users.id),
  title: text('title').notNull(),
  ...timestamps(),
});

export const comments = pgTable('comments', {
  id: id(),
  postId: foreignKey('post_id', () => posts.id, { onDelete: 'restrict' }),
  body: text('body').notNull(),
});
