// Every table and relation: passed to the database as its schema (relational queries) and read by drizzle-kit.
export * from './users.js';
export * from './posts.js';
export * from './relations.js';
