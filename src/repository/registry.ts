import type { PgTable } from 'drizzle-orm/pg-core';
import { Repository } from './repository.js';

type RepositoryClass<TTable extends PgTable, R extends Repository<TTable>> = new (table: TTable) => R;

let cache = new WeakMap<PgTable, Map<unknown, Repository<PgTable>>>();

/**
 * The repository of `table`: one cached instance per (table, class), safe to keep in a module variable because
 * every call resolves the database (and the ambient transaction) when it runs.
 *
 * @example
 * ```ts
 * const userRepo = getRepository(users);
 * const postRepo = getRepository(posts, PostRepository); // class PostRepository extends Repository<typeof posts>
 * ```
 */
export function getRepository<TTable extends PgTable>(table: TTable): Repository<TTable>;
export function getRepository<TTable extends PgTable, R extends Repository<TTable>>(
  table: TTable,
  RepositoryClass: RepositoryClass<TTable, R>,
): R;
export function getRepository<TTable extends PgTable, R extends Repository<TTable>>(
  table: TTable,
  RepositoryClass?: RepositoryClass<TTable, R>,
): R | Repository<TTable> {
  let byClass = cache.get(table);
  if (!byClass) {
    byClass = new Map();
    cache.set(table, byClass);
  }
  const key = RepositoryClass ?? Repository;
  let repository = byClass.get(key);
  if (!repository) {
    repository = RepositoryClass ? new RepositoryClass(table) : new Repository(table);
    byClass.set(key, repository);
  }
  return repository as unknown as R;
}

/**
 * Forgets every cached repository (for tests). Repositories already handed out keep working.
 *
 * @example
 * ```ts
 * afterEach(() => clearRepositoryCache());
 * ```
 */
export function clearRepositoryCache(): void {
  cache = new WeakMap();
}
