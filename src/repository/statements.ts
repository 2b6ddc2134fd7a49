import { and, eq, isNull, sql, type SQL } from 'drizzle-orm';
import type { PgColumn, PgTable } from 'drizzle-orm/pg-core';
import type { Database } from '../database/index.js';
import { InvalidQueryError } from '../errors/index.js';
import { quoteKey } from './filter.js';
import type { MonitorConfig, Role } from './monitor.js';
import type { TableInfo } from './table-info.js';

/** A statement built and prepared once, executed with placeholder values. @internal */
export interface Prepared {
  execute(values?: Record<string, unknown>): Promise<unknown>;
}

/** Statements whose shape depends on which columns a write sets are cached per shape, up to this many. */
const MAX_SHAPES = 64;

/**
 * The statements of one repository prepared on one database (the default manager's write and read instances).
 * They are built once with placeholders; because routing happens below Drizzle, executing one inside a
 * transaction runs it on the transaction's connection. Rebuilt when the database is re-initialised.
 * @internal
 */
export class Statements {
  readonly write: Database;
  readonly read: Database;
  /**
   * Like `read`, for statements built here from ids and filter objects only: inside a transaction they may run
   * before its BEGIN (docs/adr/0009).
   */
  readonly layerRead: Database;
  readonly writeRole: Role;
  readonly readRole: Role;
  readonly monitor: MonitorConfig;
  readonly #table: PgTable;
  readonly #info: TableInfo;
  #findById: Prepared | undefined;
  #deleteById: Prepared | undefined;
  #softDeleteById: Prepared | undefined;
  #countAll: Prepared | undefined;
  readonly #inserts = new Map<string, Prepared>();
  readonly #updates = new Map<string, Prepared>();

  constructor(
    table: PgTable,
    info: TableInfo,
    write: Database,
    read: Database,
    layerRead: Database,
    roles: { write: Role; read: Role },
    monitor: MonitorConfig,
  ) {
    this.#table = table;
    this.#info = info;
    this.write = write;
    this.read = read;
    this.layerRead = layerRead;
    this.writeRole = roles.write;
    this.readRole = roles.read;
    this.monitor = monitor;
  }

  /** Rows not soft-deleted, when the table has soft delete. */
  alive(): SQL | undefined {
    return this.#info.deletedAt ? isNull(this.#info.deletedAt) : undefined;
  }

  #byId(operation: string, alive: boolean): SQL | undefined {
    const byId = eq(this.#info.requireId(operation), sql.placeholder('id'));
    return alive ? and(byId, this.alive()) : byId;
  }

  /** Without LIMIT when `id` is the primary key or unique: at most one row matches, and a limit is a parameter. */
  findById(): Prepared {
    if (this.#findById) return this.#findById;
    const id = this.#info.requireId('findById');
    const query = this.layerRead.select().from(this.#table).where(this.#byId('findById', true)).$dynamic();
    if (!id.primary && !id.isUnique) query.limit(1);
    return (this.#findById = query.prepare(`${this.#info.name}_find_by_id`));
  }

  deleteById(): Prepared {
    return (this.#deleteById ??= this.write
      .delete(this.#table)
      .where(this.#byId('delete', false))
      .returning()
      .prepare(`${this.#info.name}_delete_by_id`));
  }

  softDeleteById(): Prepared {
    return (this.#softDeleteById ??= this.write
      .update(this.#table)
      .set(this.touch({ [columnKey(this.#info, this.#info.deletedAt!)]: sql`now()` }))
      .where(this.#byId('delete', true))
      .returning()
      .prepare(`${this.#info.name}_soft_delete_by_id`));
  }

  countAll(): Prepared {
    return (this.#countAll ??= this.layerRead
      .select({ count: sql<string>`count(*)` })
      .from(this.#table)
      .where(this.alive())
      .prepare(`${this.#info.name}_count`));
  }

  /**
   * An INSERT … RETURNING * of exactly these columns, values as placeholders `p0, p1, …`; undefined when a left-out
   * column has a `$defaultFn` (Drizzle would bake one computed value into the prepared statement).
   */
  insert(keys: readonly string[]): Prepared | undefined {
    if (this.#info.insertComputed.some((k) => !keys.includes(k))) return undefined;
    const shape = keys.join(',');
    const cached = this.#inserts.get(shape);
    if (cached) return cached;
    const values: Record<string, unknown> = {};
    keys.forEach((key, i) => (values[key] = sql.placeholder(`p${i}`)));
    const prepared = this.write
      .insert(this.#table)
      .values(values as never)
      .returning()
      .prepare(`${this.#info.name}_insert`);
    if (this.#inserts.size < MAX_SHAPES) this.#inserts.set(shape, prepared);
    return prepared;
  }

  /**
   * An UPDATE … WHERE id = :id RETURNING * setting exactly these columns (placeholders `p0, p1, …`), plus
   * `updatedAt = now()` and `version = version + 1` where the table has them; with `checkVersion`, only the row
   * still at version `:expectedVersion` is updated. Undefined when a left-out column has `$onUpdate` (its value
   * must be computed per call).
   */
  update(keys: readonly string[], checkVersion: boolean): Prepared | undefined {
    if (this.#info.updateComputed.some((k) => !keys.includes(k) && k !== 'updatedAt')) return undefined;
    const shape = `${checkVersion ? 'v:' : ''}${keys.join(',')}`;
    const cached = this.#updates.get(shape);
    if (cached) return cached;
    const set: Record<string, unknown> = {};
    keys.forEach((key, i) => (set[key] = sql.placeholder(`p${i}`)));
    let where = this.#byId('update', true);
    if (checkVersion) where = and(where, eq(this.#info.version!, sql.placeholder('expectedVersion')));
    const prepared = this.write
      .update(this.#table)
      .set(this.touch(set) as never)
      .where(where)
      .returning()
      .prepare(`${this.#info.name}_update`);
    if (this.#updates.size < MAX_SHAPES) this.#updates.set(shape, prepared);
    return prepared;
  }

  /** Adds `updatedAt = now()` (unless given) and `version = version + 1` to a SET clause. */
  touch(set: Record<string, unknown>): Record<string, unknown> {
    const { updatedAt, version } = this.#info;
    if (updatedAt && !('updatedAt' in set)) set.updatedAt = sql`now()`;
    if (version) set.version = sql`${version} + 1`;
    return set;
  }
}

/** The property name of a column of the table. @internal */
export function columnKey(info: TableInfo, column: PgColumn): string {
  for (const key of info.keys()) if (info.column(key) === column) return key;
  throw new InvalidQueryError(`column ${column.name} is not on ${info.name}`);
}

/**
 * The columns a write sets, in order: keys with a value other than undefined. Unknown keys are an
 * InvalidQueryError (Drizzle would drop them silently).
 * @internal
 */
export function writeKeys(info: TableInfo, data: unknown, operation: string): string[] {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new InvalidQueryError(`${operation}() on ${info.name} takes an object of column values`);
  }
  const keys: string[] = [];
  for (const key of Object.keys(data)) {
    if (!info.column(key))
      throw new InvalidQueryError(`Unknown column ${quoteKey(key)} in ${operation}() on ${info.name}`);
    if ((data as Record<string, unknown>)[key] !== undefined) keys.push(key);
  }
  return keys;
}

/** Placeholder values `p0, p1, …` for the keys. @internal */
export function placeholderValues(keys: readonly string[], data: Record<string, unknown>): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (let i = 0; i < keys.length; i++) values[`p${i}`] = data[keys[i]!];
  return values;
}
