import { getTableColumns, getTableName } from 'drizzle-orm';
import type { PgColumn, PgTable } from 'drizzle-orm/pg-core';
import { InvalidQueryError } from '../errors/index.js';
import type { RepositoryOptions } from './types.js';

/**
 * What the repository needs to know about a table, computed once: its columns by property name (a map, so a key
 * such as `__proto__` or `constructor` can never match), and the columns with a special meaning.
 * @internal
 */
export class TableInfo {
  readonly name: string;
  readonly #columns: Map<string, PgColumn>;
  readonly id: PgColumn | undefined;
  readonly updatedAt: PgColumn | undefined;
  readonly deletedAt: PgColumn | undefined;
  readonly version: PgColumn | undefined;
  /** Columns whose value Drizzle computes in JavaScript when a write leaves them out ($defaultFn). */
  readonly insertComputed: readonly string[];
  /** Columns whose value Drizzle computes in JavaScript on every update ($onUpdate). */
  readonly updateComputed: readonly string[];

  constructor(table: PgTable, options: RepositoryOptions = {}) {
    this.name = getTableName(table);
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
    const entries = [...this.#columns];
    this.insertComputed = entries
      .filter(([, c]) => c.defaultFn !== undefined || (!c.hasDefault && c.onUpdateFn !== undefined))
      .map(([k]) => k);
    this.updateComputed = entries.filter(([, c]) => c.onUpdateFn !== undefined).map(([k]) => k);
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
