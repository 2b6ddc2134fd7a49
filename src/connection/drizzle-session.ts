import type { TablesRelationalConfig } from 'drizzle-orm';
import type { PreparedQueryConfig } from 'drizzle-orm/pg-core';
import type postgres from 'postgres';
import { PostgresJsPreparedQuery, PostgresJsSession } from 'drizzle-orm/postgres-js';
import { toDatabaseError } from '../errors/index.js';

type AnySession = PostgresJsSession<postgres.Sql, Record<string, unknown>, TablesRelationalConfig>;
type PrepareArgs = Parameters<AnySession['prepareQuery']>;

/**
 * Drizzle's prepared query with typed errors: a failing statement rejects with the DatabaseError of §5 (driver
 * error as `cause`) instead of DrizzleQueryError, whose message lists the SQL parameter values. Drizzle's query
 * cache is not used by this package, so its cache path is skipped too.
 * @internal
 */
class TypedErrorPreparedQuery extends PostgresJsPreparedQuery<PreparedQueryConfig> {
  async queryWithCache<T>(_queryString: string, _params: unknown[], query: () => Promise<T>): Promise<T> {
    try {
      return await query();
    } catch (err) {
      throw toDatabaseError(err);
    }
  }
}

/**
 * The Drizzle session of every instance this package builds.
 * @internal
 */
export class TypedErrorSession extends PostgresJsSession<
  postgres.Sql,
  Record<string, unknown>,
  TablesRelationalConfig
> {}

// Drizzle's generic signature of prepareQuery cannot be restated without its internal types, so the override is
// installed on the prototype.
Object.defineProperty(TypedErrorSession.prototype, 'prepareQuery', {
  configurable: true,
  writable: true,
  value: function prepareQuery(
    this: AnySession,
    ...[query, fields, name, isResponseInArrayMode, customResultMapper, queryMetadata, cacheConfig]: PrepareArgs
  ) {
    const q = query;
    return new TypedErrorPreparedQuery(
      this.client,
      q.sql,
      q.params,
      this.logger,
      (this as unknown as { cache: never }).cache,
      queryMetadata,
      cacheConfig,
      fields,
      isResponseInArrayMode,
      name !== undefined,
      customResultMapper,
    );
  },
});
