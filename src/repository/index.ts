export { Repository } from './repository.js';
export { clearRepositoryCache, getRepository } from './registry.js';
export { configureRepositories, type RepositorySettings } from './settings.js';
export { escapeLike } from './filter.js';
export {
  prepare,
  type PlaceholderFactory,
  type PreparableQuery,
  type PreparedQuery,
  type PreparedResult,
  type PrepareOptions,
} from './prepared.js';
export type {
  BulkOptions,
  ColumnName,
  CursorPage,
  DeleteOptions,
  Filter,
  FilterOperators,
  FindManyOptions,
  FindPageOptions,
  IdOf,
  NewRowOf,
  OrderBy,
  Page,
  ReadOptions,
  RepositoryOptions,
  RowOf,
  UpsertOptions,
  Where,
} from './types.js';
