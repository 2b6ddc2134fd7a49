import type { PgTable } from 'drizzle-orm/pg-core';
import { checkOptions, is, type Shape, type ShapeOf } from '../config/index.js';
import type { RepositorySettings } from './settings.js';
import type {
  BulkOptions,
  DeleteOptions,
  FindManyOptions,
  FindPageOptions,
  ReadOptions,
  RepositoryOptions,
  UpsertOptions,
} from './types.js';

/**
 * The options objects of the repository methods, for the one run-time validator: a misspelt key (`filters`,
 * `wher`, `limt`) is an InvalidQueryError naming it and the accepted keys, never a silently dropped filter.
 * `where`, `orderBy`/`sort`, the counts and the column names are checked in depth where they are used (filter,
 * order, checkCount, the column lookups); here only their presence and the simple types.
 */
const READ = { withDeleted: is.boolean } satisfies ShapeOf<ReadOptions>;
const COLUMNS = is.anyOf('a column name or an array of column names', is.string, is.arrayOf(is.string));

/** @internal */
export const REPOSITORY_OPTIONS = {
  read: READ,
  findMany: {
    ...READ,
    where: is.any,
    orderBy: is.any,
    limit: is.any,
    offset: is.any,
  } satisfies ShapeOf<FindManyOptions<PgTable>>,
  findPage: {
    ...READ,
    where: is.any,
    sort: is.any,
    page: is.any,
    size: is.any,
    cursor: is.nullable(is.string),
  } satisfies ShapeOf<FindPageOptions<PgTable>>,
  updateWhere: { all: is.boolean } satisfies ShapeOf<BulkOptions>,
  delete: { hard: is.boolean } satisfies ShapeOf<DeleteOptions>,
  deleteWhere: { all: is.boolean, hard: is.boolean } satisfies ShapeOf<BulkOptions & DeleteOptions>,
  upsert: { target: COLUMNS, update: is.arrayOf(is.string) } satisfies ShapeOf<UpsertOptions<PgTable>>,
  repository: { softDelete: is.boolean, optimisticLock: is.boolean } satisfies ShapeOf<RepositoryOptions>,
  settings: {
    maxLimit: is.any,
    defaultPageSize: is.any,
    nPlusOneThreshold: is.any,
  } satisfies ShapeOf<RepositorySettings>,
} as const satisfies Record<string, Shape>;

/** Refuses unknown keys and wrong types in the options of repository method `method`. @internal */
export function checkQueryOptions(options: unknown, shape: Shape, method: string): void {
  if (options !== undefined) checkOptions(options, shape, `${method}()`, 'query');
}
