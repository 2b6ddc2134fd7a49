import type { SQL, SQLWrapper } from 'drizzle-orm';
import type { PgTable } from 'drizzle-orm/pg-core';

/** A row of `TTable` as selected. */
export type RowOf<TTable extends PgTable> = TTable['$inferSelect'];

/** The values accepted to insert a row of `TTable`. */
export type NewRowOf<TTable extends PgTable> = TTable['$inferInsert'];

/** The type of `TTable`'s `id` column, or `never` when it has none. */
export type IdOf<TTable extends PgTable> = RowOf<TTable> extends { id: infer I } ? I : never;

/** Operators accepted on one column of a filter object. */
export interface FilterOperators<V> {
  eq?: V;
  ne?: V;
  gt?: V;
  gte?: V;
  lt?: V;
  lte?: V;
  /** Contains, case-sensitive; `%` and `_` in the value match themselves. */
  like?: string;
  /** Contains, case-insensitive; `%` and `_` in the value match themselves. */
  ilike?: string;
  in?: readonly V[];
  notIn?: readonly V[];
  /** `true`: IS NULL; `false`: IS NOT NULL. */
  isNull?: boolean;
}

/**
 * A plain filter object: every key a column of the table, every value either a value (equality), `null`
 * (IS NULL) or an object of operators; keys are ANDed.
 *
 * @example
 * ```ts
 * const where: Filter<typeof users> = { email: 'a@b.c', age: { gt: 18 }, status: { in: ['active'] }, deletedAt: null };
 * ```
 */
export type Filter<TTable extends PgTable> = {
  [K in keyof RowOf<TTable>]?: RowOf<TTable>[K] | null | FilterOperators<NonNullable<RowOf<TTable>[K]>>;
};

/** A filter object or any Drizzle SQL condition (`and(eq(users.id, 1), …)`). */
export type Where<TTable extends PgTable> = Filter<TTable> | SQL | SQLWrapper;

/** A column name of the table. */
export type ColumnName<TTable extends PgTable> = Extract<keyof RowOf<TTable>, string>;

/**
 * Sort order from the table's own columns: `'createdAt'`, `'-createdAt'` (descending), a list of those, or
 * `{ createdAt: 'desc', id: 'asc' }`.
 */
export type OrderBy<TTable extends PgTable> =
  | ColumnName<TTable>
  | `-${ColumnName<TTable>}`
  | readonly (ColumnName<TTable> | `-${ColumnName<TTable>}`)[]
  | { readonly [K in ColumnName<TTable>]?: 'asc' | 'desc' };

/** Options shared by the read methods. */
export interface ReadOptions {
  /** Include soft-deleted rows (tables with soft delete only). Default false. */
  withDeleted?: boolean;
}

/** Options of `findMany`. */
export interface FindManyOptions<TTable extends PgTable> extends ReadOptions {
  where?: Where<TTable>;
  orderBy?: OrderBy<TTable>;
  /** At most `maxLimit` (default 1000, see `configureRepositories`). Default: no limit. */
  limit?: number;
  offset?: number;
}

/** Options of `findPage` with offset paging (`page`) or keyset paging (`cursor`). */
export interface FindPageOptions<TTable extends PgTable> extends ReadOptions {
  where?: Where<TTable>;
  /** Default: the `id` column ascending. */
  sort?: OrderBy<TTable>;
  /** 1-based page number (offset paging). Default 1. */
  page?: number;
  /** Rows per page, at most `maxLimit`. Default 20. */
  size?: number;
  /**
   * Keyset paging: pass `null` for the first page, then the `nextCursor` of the previous page. Sort columns must
   * share one direction; the `id` column is appended as a tie-breaker.
   */
  cursor?: string | null;
}

/** An offset page. */
export interface Page<T> {
  data: T[];
  meta: { page: number; size: number; total: number; totalPages: number };
}

/** A keyset page. */
export interface CursorPage<T> {
  data: T[];
  meta: { size: number; hasMore: boolean; nextCursor: string | null };
}

/** Options of `updateWhere` / `deleteWhere`. */
export interface BulkOptions {
  /** Required to run with an empty filter, i.e. on every row. Default false. */
  all?: boolean;
}

/** Options of `delete` / `deleteWhere`. */
export interface DeleteOptions {
  /** On a soft-delete table, remove the row instead of setting `deletedAt`. Default false. */
  hard?: boolean;
}

/** Options of `upsert`. */
export interface UpsertOptions<TTable extends PgTable> {
  /** The conflict target: column name(s) of a unique index. Default: `id`. */
  target?: ColumnName<TTable> | readonly ColumnName<TTable>[];
  /** Columns to update on conflict. Default: every given column except the target. */
  update?: readonly ColumnName<TTable>[];
}

/** Per-repository features. Defaults are detected from the table's columns. */
export interface RepositoryOptions {
  /** Soft delete with the `deletedAt` column. Default: on when the table has a `deletedAt` column. */
  softDelete?: boolean;
  /** Optimistic locking with the `version` column. Default: on when the table has a `version` column. */
  optimisticLock?: boolean;
}
