import { createHash } from 'node:crypto';
import type { QueryResult, ResultMode } from '../context/index.js';
import type { MigrationFile } from './files.js';

/** Where applied migrations are recorded. Drizzle's defaults, so drizzle-kit sees the same history. @internal */
export interface MigrationTable {
  readonly schema: string;
  readonly table: string;
}

/** A row of Drizzle's migrations table. */
export interface AppliedMigration {
  /** The migration's journal tag, or undefined when the folder no longer has a file with this hash. */
  readonly name: string | undefined;
  /** sha256 of the SQL file when it was applied. */
  readonly hash: string;
  /** The journal timestamp (ms) recorded by the migrator. */
  readonly createdAt: number;
}

/** Anything that runs one statement: a pool or a reserved connection. @internal */
export interface Queryable {
  query(text: string, params: readonly unknown[], mode: ResultMode, prepare: boolean): Promise<QueryResult>;
}

export function quoteIdent(identifier: string): string {
  return `"${identifier.replace(/"/g, '""')}"`;
}

export function qualifiedName(t: MigrationTable): string {
  return `${quoteIdent(t.schema)}.${quoteIdent(t.table)}`;
}

/**
 * The advisory lock key of one migrations table: the first 8 bytes of a hash of its name, so two tables (two
 * apps sharing a database) do not wait for each other. Advisory locks are per database already.
 */
export function lockKey(t: MigrationTable): string {
  return createHash('sha256').update(`spfn:migrations:${t.schema}.${t.table}`).digest().readBigInt64BE(0).toString();
}

/** Same DDL as Drizzle's migrator, so either can run first. */
export function createTableSql(t: MigrationTable): string {
  return (
    `CREATE SCHEMA IF NOT EXISTS ${quoteIdent(t.schema)};\n` +
    `CREATE TABLE IF NOT EXISTS ${qualifiedName(t)} (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at bigint)`
  );
}

/** The recorded migrations, oldest first; empty when the table does not exist yet. */
export async function readApplied(
  db: Queryable,
  t: MigrationTable,
  files: readonly MigrationFile[],
): Promise<AppliedMigration[]> {
  const exists = await db.query('select to_regclass($1) is not null as "exists"', [qualifiedName(t)], 'object', false);
  if ((exists[0] as { exists: boolean } | undefined)?.exists !== true) return [];
  const rows = (await db.query(
    `select hash, created_at from ${qualifiedName(t)} order by created_at asc, id asc`,
    [],
    'object',
    false,
  )) as unknown as { hash: string; created_at: string | number | null }[];
  const byHash = new Map(files.map((f) => [f.hash, f.name]));
  return rows.map((r) => ({ name: byHash.get(r.hash), hash: r.hash, createdAt: Number(r.created_at ?? 0) }));
}

/**
 * The migrations Drizzle's migrator would apply: those newer than the newest recorded one (Drizzle compares the
 * journal timestamp, not the hash).
 */
export function pendingOf(files: readonly MigrationFile[], applied: readonly AppliedMigration[]): MigrationFile[] {
  const last = applied.reduce((max, a) => Math.max(max, a.createdAt), Number.NEGATIVE_INFINITY);
  return files.filter((f) => f.createdAt > last);
}
