// How users and posts relate, for Drizzle's relational queries (`db.query.posts.findMany({ with: { author: true } })`).
import { relations } from 'drizzle-orm';
import { posts } from './posts.js';
import { users } from './users.js';

export const usersRelations = relations(users, ({ many }) => ({ posts: many(posts) }));

export const postsRelations = relations(posts, ({ one }) => ({
  author: one(users, { fields: [posts.authorId], references: [users.id] }),
}));
