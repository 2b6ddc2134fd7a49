import { getTableColumns, getTableName } from 'drizzle-orm';
import { getTableConfig, type PgColumn, type PgTable } from 'drizzle-orm/pg-core';
import { InvalidQueryError } from '../errors/index.js';
import type { RepositoryOptions } from './types.js';

/**
 * What the repository needs to know about a table, computed once: its columns by property name (a map, so a key
 * such as `__proto__` or `constructor` can never match), and the columns with a special meaning.
 * @internal
 */
export class TableInfo {
  readonly name: string;
  readonly qualifiedName: string;
  readonly #columns: Map<string, PgColumn>;
  readonly id: PgColumn | undefined;
  readonly updatedAt: PgColumn | undefined;
  readonly deletedAt: PgColumn | undefined;
  readonly version: PgColumn | undefined;
  readonly primaryKey: readonly PgColumn[];

  constructor(table: PgTable, options: RepositoryOptions = {}) {
    this.name = getTableName(table);
    const schema = getTableConfig(table).schema;
    this.qualifiedName = schema ? `${schema}.${this.name}` : this.name;
    this.#columns = new Map(Object.entries(getTableColumns(table)));
    this.id = this.#columns.get('id');
    this.updatedAt = this.#columns.get('updatedAt');
    const deletedAt = this.#columns.get('deletedAt');
    const version = this.#columns.get('version');
    if (options.softDelete === true && !deletedAt) {
      throw new InvalidQueryError(`softDelete needs a deletedAt column on ${this.name}`);
    }
    if (options.optimisticLock === true && !version) {
      throw new InvalidQueryError(`optimisticLock needs a version column on ${this.name}`);
    }
    this.deletedAt = options.softDelete === false ? undefined : deletedAt;
    this.version = options.optimisticLock === false ? undefined : version;
    const primary = [...this.#columns.values()].filter((c) => c.primary);
    const composite = getTableConfig(table).primaryKeys[0]?.columns;
    this.primaryKey = primary.length > 0 ? primary : (composite ?? (this.id ? [this.id] : []));
  }

  /** The column with this property name, or undefined. */
  column(key: string): PgColumn | undefined {
    return this.#columns.get(key);
  }

  /** Property names of every column. */
  keys(): IterableIterator<string> {
    return this.#columns.keys();
  }

  /** The `id` column, or a clear error for a table without one. */
  requireId(operation: string): PgColumn {
    if (!this.id) throw new InvalidQueryError(`${operation}() needs an id column, and ${this.name} has none`);
    return this.id;
  }
}
