import { pgTable, text } from 'drizzle-orm/pg-core';
import { foreignKey, id, optionalForeignKey, timestamps } from '@spfn/core/db';

export const users = pgTable('users', { id: id(), email: text('email').notNull().unique(), ...timestamps() });

export const posts = pgTable('posts', {
  id: id(),
  authorId: foreignKey('author', () => users.id),
  editorId: optionalForeignKey('editor', () => users.id),
  title: text('title').notNull(),
  ...timestamps(),
});

export const comments = pgTable('comments', {
  id: id(),
  postId: foreignKey('post', () => posts.id, { onDelete: 'restrict' }),
  body: text('body').notNull(),
});
