import { checkOptions } from '../config/index.js';
import { checkQueryOptions, REPOSITORY_OPTIONS } from './options.js';
import { and, eq, sql, type SQL } from 'drizzle-orm';
import type { PgColumn, PgTable } from 'drizzle-orm/pg-core';
import { getDatabase, getDatabaseManager } from '../database/default.js';
import type { Database } from '../database/index.js';
import { ambient } from '../context/index.js';
import { InvalidQueryError, NotFoundError, StaleVersionError, toDatabaseError } from '../errors/index.js';
import { buildWhere, isEmptyFilter, isSqlWhere } from './filter.js';
import { monitored, type Role } from './monitor.js';
import { checkCount, orderExpressions, parseSort } from './order.js';
import { decodeCursor, encodeCursor, keysetCondition, keysetSort } from './cursor.js';
import { repositorySettings } from './settings.js';
import { columnKey, placeholderValues, Statements, writeKeys, type Prepared } from './statements.js';
import { TableInfo } from './table-info.js';
import type {
  BulkOptions,
  CursorPage,
  DeleteOptions,
  FindManyOptions,
  FindPageOptions,
  IdOf,
  NewRowOf,
  Page,
  ReadOptions,
  RepositoryOptions,
  RowOf,
  UpsertOptions,
  Where,
} from './types.js';

type Rows = Record<string, unknown>[];

/**
 * CRUD, filtering and paging for one table, on the default database. Every method joins the ambient transaction
 * when there is one; otherwise writes go to the primary and reads to the replicas. Get instances with
 * `getRepository(table)`; extend the class to add queries, using `this.db` (writes) and `this.readDb` (reads).
 *
 * Tables with an `updatedAt` column get it set by every update path; with a `deletedAt` column, soft delete; with
 * a `version` column, optimistic locking (see docs/02-repository.md). Pass options to turn these off.
 *
 * @example
 * ```ts
 * class PostRepository extends Repository<typeof posts> {
 *   findWithAuthor(id: number) {
 *     return this.db.select({ post: posts, author: users }).from(posts)
 *       .leftJoin(users, eq(posts.authorId, users.id)).where(eq(posts.id, id));
 *   }
 * }
 * const postRepo = getRepository(posts, PostRepository);
 * const page = await postRepo.findPage({ where: { authorId: 1 }, sort: '-createdAt', page: 2, size: 10 });
 * ```
 */
export class Repository<TTable extends PgTable> {
  /** The table this repository works on. */
  readonly table: TTable;
  readonly #info: TableInfo;
  /** The same table, typed loosely for the query builders. */
  readonly #table: PgTable;
  readonly #statements = new WeakMap<Database, Statements>();

  constructor(table: TTable, options: RepositoryOptions = {}) {
    checkOptions(options, REPOSITORY_OPTIONS.repository, 'new Repository()');
    this.table = table;
    this.#table = table;
    this.#info = new TableInfo(table, options);
  }

  /** The handle for writes: the ambient transaction, else the primary. Resolved at each use. */
  protected get db(): Database {
    return getDatabase('write');
  }

  /** The handle for reads: the ambient transaction, else the replicas (or the primary). Resolved at each use. */
  protected get readDb(): Database {
    return getDatabase('read');
  }

  #bound(): Statements {
    const write = getDatabase('write');
    let bound = this.#statements.get(write);
    if (!bound) {
      const read = getDatabase('read');
      const manager = getDatabaseManager();
      const config = manager.config;
      const base: Role = config.url === undefined ? 'embedded' : 'primary';
      bound = new Statements(
        this.table,
        this.#info,
        write,
        read,
        manager.layerReads(),
        { write: base, read: read === write ? base : 'replica' },
        { ...config.monitoring, tracer: manager.tracer },
      );
      this.#statements.set(write, bound);
    }
    return bound;
  }

  /**
   * The instance a read runs on: the one whose statements may run before a transaction's BEGIN when the layer built
   * the whole statement (an id, a filter object), the plain read instance when the caller's own SQL is in it.
   */
  #reader(s: Statements, where: unknown): Database {
    return isSqlWhere(where) ? s.read : s.layerRead;
  }

  #readRole(s: Statements): Role {
    return ambient.getStore()?.tx ? s.writeRole : s.readRole;
  }

  #where(where: unknown, options: ReadOptions | undefined, s: Statements): SQL | undefined {
    const condition = buildWhere(this.#info, where);
    if (options?.withDeleted) return condition;
    const alive = s?.alive();
    return alive ? (condition ? and(condition, alive) : alive) : condition;
  }

  /**
   * The row with this id, or `null` (soft-deleted rows are skipped unless `withDeleted`).
   *
   * @example
   * ```ts
   * const user = await userRepo.findById(1);
   * ```
   */
  findById(id: IdOf<TTable>, options?: ReadOptions): Promise<RowOf<TTable> | null> {
    let s: Statements;
    let statement: Prepared;
    try {
      checkQueryOptions(options, REPOSITORY_OPTIONS.read, 'findById');
      s = this.#bound();
      if (options?.withDeleted && this.#info.deletedAt) {
        return this.findOne(eq(this.#info.requireId('findById'), id), options);
      }
      statement = s.findById();
    } catch (err) {
      return Promise.reject(toDatabaseError(err));
    }
    return monitored(
      s.monitor,
      'findById',
      this.#info.name,
      this.#readRole(s),
      () => statement.execute({ id }),
      undefined,
      firstRowOrNull,
    ) as Promise<RowOf<TTable> | null>;
  }

  /**
   * The row with this id, or NotFoundError (HTTP 404 via `httpStatusOf`).
   *
   * @example
   * ```ts
   * const user = await userRepo.findByIdOrFail(c.req.param('id'));
   * ```
   */
  async findByIdOrFail(id: IdOf<TTable>, options?: ReadOptions): Promise<RowOf<TTable>> {
    checkQueryOptions(options, REPOSITORY_OPTIONS.read, 'findByIdOrFail');
    const row = await this.findById(id, options);
    if (row === null) throw new NotFoundError(`${this.#info.name} ${String(id)} was not found`);
    return row;
  }

  /**
   * The first row matching `where` (a filter object or Drizzle SQL), or `null`.
   *
   * @example
   * ```ts
   * const user = await userRepo.findOne({ email: 'a@b.c' });
   * ```
   */
  async findOne(where: Where<TTable>, options?: ReadOptions): Promise<RowOf<TTable> | null> {
    checkQueryOptions(options, REPOSITORY_OPTIONS.read, 'findOne');
    const rows = await this.#select('findOne', { ...options, where, limit: 1 });
    return rows[0] ?? null;
  }

  /**
   * Every row of the table (`findAll()` is `findMany()` under the seed's name): read from the replicas outside a
   * transaction, with findMany's options and the same cap on `limit` (`maxLimit`, default 1000).
   *
   * @example
   * ```ts
   * const everyone = await userRepo.findAll();
   * const newest = await userRepo.findAll({ orderBy: '-createdAt', limit: 100 });
   * ```
   */
  async findAll(options: FindManyOptions<TTable> = {}): Promise<RowOf<TTable>[]> {
    checkQueryOptions(options, REPOSITORY_OPTIONS.findMany, 'findAll');
    return this.#select('findAll', options);
  }

  /**
   * Rows matching `where`, sorted by `orderBy` (column names only), paged with `limit` (at most `maxLimit`,
   * default 1000) and `offset`. Without `limit`, every matching row.
   *
   * @example
   * ```ts
   * const adults = await userRepo.findMany({ where: { age: { gte: 18 } }, orderBy: '-createdAt', limit: 50 });
   * ```
   */
  async findMany(options: FindManyOptions<TTable> = {}): Promise<RowOf<TTable>[]> {
    checkQueryOptions(options, REPOSITORY_OPTIONS.findMany, 'findMany');
    return this.#select('findMany', options);
  }

  #select(operation: string, options: FindManyOptions<TTable>): Promise<RowOf<TTable>[]> {
    const s = this.#bound();
    const query = this.#selectQuery(s, options);
    return monitored(
      s.monitor,
      operation,
      this.#info.name,
      this.#readRole(s),
      () => query as Promise<RowOf<TTable>[]>,
      () => shapeOf(options.where),
    );
  }

  #selectQuery(s: Statements, options: FindManyOptions<TTable>, extra?: SQL, order?: SQL[]): PromiseLike<unknown> {
    const max = repositorySettings().maxLimit;
    const where = this.#where(options.where, options, s);
    let query = this.#reader(s, options.where)
      .select()
      .from(this.#table)
      .where(extra ? (where ? and(where, extra) : extra) : where)
      .$dynamic();
    const orderBy = order ?? orderExpressions(parseSort(this.#info, options.orderBy));
    if (orderBy.length > 0) query = query.orderBy(...orderBy);
    if (options.limit !== undefined) query = query.limit(checkCount(this.#info, 'limit', options.limit, 0, max));
    if (options.offset !== undefined && options.offset !== 0) {
      query = query.offset(checkCount(this.#info, 'offset', options.offset, 0, Number.MAX_SAFE_INTEGER));
    }
    return query;
  }

  /**
   * A page of rows. With `page` (1-based, default 1): offset paging with the total count. With `cursor` (`null`
   * for the first page, then `meta.nextCursor`): keyset paging, which stays fast on deep pages.
   *
   * @example
   * ```ts
   * const { data, meta } = await postRepo.findPage({ where: { published: true }, sort: '-id', page: 3, size: 20 });
   * let next = await postRepo.findPage({ sort: '-id', size: 20, cursor: null });
   * next = await postRepo.findPage({ sort: '-id', size: 20, cursor: next.meta.nextCursor });
   * ```
   */
  findPage(options: FindPageOptions<TTable> & { cursor: string | null }): Promise<CursorPage<RowOf<TTable>>>;
  findPage(options?: FindPageOptions<TTable>): Promise<Page<RowOf<TTable>>>;
  async findPage(options: FindPageOptions<TTable> = {}): Promise<Page<RowOf<TTable>> | CursorPage<RowOf<TTable>>> {
    checkQueryOptions(options, REPOSITORY_OPTIONS.findPage, 'findPage');
    const size = checkCount(
      this.#info,
      'size',
      options.size ?? repositorySettings().defaultPageSize,
      1,
      repositorySettings().maxLimit,
    );
    if (options.cursor !== undefined) return this.#keysetPage(options, size);
    const s = this.#bound();
    const page = checkCount(this.#info, 'page', options.page ?? 1, 1, Number.MAX_SAFE_INTEGER);
    const sort = parseSort(this.#info, options.sort ?? (this.#info.id ? 'id' : undefined));
    const dataQuery = this.#selectQuery(
      s,
      { ...options, limit: size, offset: (page - 1) * size },
      undefined,
      orderExpressions(sort),
    );
    const countQuery = this.#countQuery(s, options.where, options);
    return monitored(s.monitor, 'findPage', this.#info.name, this.#readRole(s), async () => {
      const [data, total] = await Promise.all([dataQuery as Promise<RowOf<TTable>[]>, countQuery]);
      return { data, meta: { page, size, total, totalPages: Math.ceil(total / size) } };
    });
  }

  async #keysetPage(options: FindPageOptions<TTable>, size: number): Promise<CursorPage<RowOf<TTable>>> {
    const s = this.#bound();
    const sort = keysetSort(this.#info, parseSort(this.#info, options.sort ?? 'id'));
    const after = options.cursor
      ? keysetCondition(sort, decodeCursor(this.#info, options.cursor, sort.length))
      : undefined;
    const query = this.#selectQuery(s, { ...options, limit: size + 1 }, after, orderExpressions(sort));
    return monitored(s.monitor, 'findPage', this.#info.name, this.#readRole(s), async () => {
      const rows = (await query) as RowOf<TTable>[];
      const hasMore = rows.length > size;
      const data = hasMore ? rows.slice(0, size) : rows;
      const last = data[data.length - 1];
      return { data, meta: { size, hasMore, nextCursor: hasMore && last ? encodeCursor(sort, last) : null } };
    });
  }

  #countQuery(s: Statements, where: unknown, options?: ReadOptions): Promise<number> {
    if (isEmptyFilter(where) && !options?.withDeleted) {
      return s
        .countAll()
        .execute()
        .then((rows) => Number((rows as { count: string }[])[0]?.count ?? 0));
    }
    const condition = this.#where(where, options, s);
    return this.#reader(s, where)
      .select({ count: sql<string>`count(*)` })
      .from(this.#table)
      .where(condition)
      .then((rows) => Number(rows[0]?.count ?? 0));
  }

  /**
   * The number of rows matching `where` (all rows without it), counted by the database (`count(*)`).
   *
   * @example
   * ```ts
   * const active = await userRepo.count({ status: 'active' });
   * ```
   */
  async count(where?: Where<TTable>, options?: ReadOptions): Promise<number> {
    checkQueryOptions(options, REPOSITORY_OPTIONS.read, 'count');
    const s = this.#bound();
    const query = this.#countQuery(s, where, options);
    return monitored(s.monitor, 'count', this.#info.name, this.#readRole(s), () => query);
  }

  /**
   * True when a row matches `where` (`select 1 … limit 1`).
   *
   * @example
   * ```ts
   * if (await userRepo.exists({ email })) throw new HTTPException(409);
   * ```
   */
  async exists(where: Where<TTable>, options?: ReadOptions): Promise<boolean> {
    checkQueryOptions(options, REPOSITORY_OPTIONS.read, 'exists');
    const s = this.#bound();
    const query = this.#reader(s, where)
      .select({ one: sql<number>`1` })
      .from(this.#table)
      .where(this.#where(where, options, s))
      .limit(1);
    return monitored(s.monitor, 'exists', this.#info.name, this.#readRole(s), async () => (await query).length > 0);
  }

  /**
   * Inserts one row and returns it as stored (defaults and generated columns filled in).
   *
   * @example
   * ```ts
   * const user = await userRepo.save({ email: 'a@b.c', name: 'Ada' });
   * ```
   */
  save(data: NewRowOf<TTable>): Promise<RowOf<TTable>> {
    let s: Statements;
    let run: () => Promise<unknown>;
    try {
      s = this.#bound();
      const keys = writeKeys(this.#info, data, 'save');
      const statement = s.insert(keys);
      run = statement
        ? () => statement.execute(placeholderValues(keys, data))
        : () =>
            s.write
              .insert(this.#table)
              .values(data as never)
              .returning();
    } catch (err) {
      return Promise.reject(toDatabaseError(err));
    }
    return monitored(s.monitor, 'save', this.#info.name, s.writeRole, run, undefined, firstRow) as Promise<
      RowOf<TTable>
    >;
  }

  /**
   * Same as {@link Repository.save}.
   *
   * @example
   * ```ts
   * const user = await userRepo.create({ email: 'a@b.c', name: 'Ada' });
   * ```
   */
  async create(data: NewRowOf<TTable>): Promise<RowOf<TTable>> {
    return this.save(data);
  }

  /**
   * Inserts several rows in one statement and returns them; an empty list returns an empty list.
   *
   * @example
   * ```ts
   * const rows = await tagRepo.saveMany([{ name: 'a' }, { name: 'b' }]);
   * ```
   */
  async saveMany(data: readonly NewRowOf<TTable>[]): Promise<RowOf<TTable>[]> {
    if (!Array.isArray(data)) throw new InvalidQueryError(`saveMany() on ${this.#info.name} takes an array`);
    if (data.length === 0) return [];
    for (const row of data) writeKeys(this.#info, row, 'saveMany');
    const s = this.#bound();
    const query = s.write
      .insert(this.#table)
      .values(data as never[])
      .returning();
    return monitored(s.monitor, 'saveMany', this.#info.name, s.writeRole, () => query as Promise<RowOf<TTable>[]>);
  }

  /**
   * Updates the row with this id and returns it, or `null` when there is none. Sets `updatedAt`; on a table
   * with optimistic locking, passing the `version` you read makes a concurrent change a StaleVersionError.
   *
   * @example
   * ```ts
   * const user = await userRepo.update(1, { name: 'Grace' });
   * ```
   */
  update(id: IdOf<TTable>, data: Partial<NewRowOf<TTable>>): Promise<RowOf<TTable> | null> {
    let s: Statements;
    let run: () => Promise<unknown>;
    let pick: ((rows: unknown) => unknown) | undefined;
    try {
      s = this.#bound();
      const record = data as Record<string, unknown>;
      let keys = writeKeys(this.#info, data, 'update');
      const checkVersion = this.#info.version !== undefined && keys.includes('version');
      if (checkVersion) keys = keys.filter((k) => k !== 'version');
      if (keys.length === 0 && !this.#info.updatedAt && !this.#info.version) {
        throw new InvalidQueryError(`update() on ${this.#info.name} needs at least one column to set`);
      }
      const statement = s.update(keys, checkVersion);
      const values = placeholderValues(keys, record);
      values.id = id;
      if (checkVersion) values.expectedVersion = record.version;
      const execute = statement
        ? () => statement.execute(values)
        : () => this.#updateById(s, id, keys, record, checkVersion);
      if (checkVersion) {
        run = async () => {
          const rows = (await execute()) as Rows;
          if (rows.length === 0) await this.#staleOrMissing(s, id, record.version);
          return rows[0] ?? null;
        };
      } else {
        run = execute;
        pick = firstRowOrNull;
      }
    } catch (err) {
      return Promise.reject(toDatabaseError(err));
    }
    return monitored(
      s.monitor,
      'update',
      this.#info.name,
      s.writeRole,
      run,
      undefined,
      pick,
    ) as Promise<RowOf<TTable> | null>;
  }

  #updateById(
    s: Statements,
    id: unknown,
    keys: readonly string[],
    record: Record<string, unknown>,
    checkVersion: boolean,
  ): Promise<unknown> {
    const set: Record<string, unknown> = {};
    for (const key of keys) set[key] = record[key];
    let where = and(eq(this.#info.requireId('update'), id), s.alive());
    if (checkVersion) where = and(where, eq(this.#info.version!, record.version));
    return s.write
      .update(this.#table)
      .set(s.touch(set) as never)
      .where(where)
      .returning();
  }

  async #staleOrMissing(s: Statements, id: unknown, expected: unknown): Promise<void> {
    const rows = (await s.write
      .select({ version: this.#info.version! })
      .from(this.#table)
      .where(and(eq(this.#info.id!, id), s.alive()))) as { version: unknown }[];
    const row = rows[0];
    if (row) {
      throw new StaleVersionError(
        `${this.#info.name} ${String(id)} was changed concurrently: expected version ${String(expected)}, found ${String(row.version)}`,
      );
    }
  }

  /**
   * Updates every row matching `where` and returns them. An empty filter is refused unless `{ all: true }`.
   *
   * @example
   * ```ts
   * await userRepo.updateWhere({ status: 'trial', createdAt: { lt: cutoff } }, { status: 'expired' });
   * ```
   */
  async updateWhere(
    where: Where<TTable>,
    data: Partial<NewRowOf<TTable>>,
    options?: BulkOptions,
  ): Promise<RowOf<TTable>[]> {
    checkQueryOptions(options, REPOSITORY_OPTIONS.updateWhere, 'updateWhere');
    const s = this.#bound();
    const condition = this.#bulkWhere('updateWhere', where, options, s);
    const keys = writeKeys(this.#info, data, 'updateWhere');
    const set: Record<string, unknown> = {};
    for (const key of keys)
      if (!(key === 'version' && this.#info.version)) set[key] = (data as Record<string, unknown>)[key];
    s.touch(set);
    if (Object.keys(set).length === 0) {
      throw new InvalidQueryError(`updateWhere() on ${this.#info.name} needs at least one column to set`);
    }
    const query = s.write
      .update(this.#table)
      .set(set as never)
      .where(condition)
      .returning();
    return monitored(
      s.monitor,
      'updateWhere',
      this.#info.name,
      s.writeRole,
      () => query as Promise<RowOf<TTable>[]>,
      () => shapeOf(where),
    );
  }

  #bulkWhere(operation: string, where: unknown, options: BulkOptions | undefined, s?: Statements): SQL | undefined {
    const condition = buildWhere(this.#info, where);
    if (condition === undefined && options?.all !== true) {
      throw new InvalidQueryError(
        `${operation}() on ${this.#info.name} with an empty filter would touch every row; pass { all: true } to mean it`,
      );
    }
    const alive = s?.alive();
    return alive ? (condition ? and(condition, alive) : alive) : condition;
  }

  /**
   * Deletes the row with this id and returns it, or `null`. On a soft-delete table it sets `deletedAt`
   * instead, unless `{ hard: true }`.
   *
   * @example
   * ```ts
   * const removed = await userRepo.delete(1);
   * ```
   */
  delete(id: IdOf<TTable>, options?: DeleteOptions): Promise<RowOf<TTable> | null> {
    let s: Statements;
    let statement: Prepared;
    try {
      checkQueryOptions(options, REPOSITORY_OPTIONS.delete, 'delete');
      s = this.#bound();
      statement = this.#info.deletedAt && !options?.hard ? s.softDeleteById() : s.deleteById();
    } catch (err) {
      return Promise.reject(toDatabaseError(err));
    }
    return monitored(
      s.monitor,
      'delete',
      this.#info.name,
      s.writeRole,
      () => statement.execute({ id }),
      undefined,
      firstRowOrNull,
    ) as Promise<RowOf<TTable> | null>;
  }

  /**
   * Deletes every row matching `where` and returns them (soft delete: sets `deletedAt`). An empty filter is
   * refused unless `{ all: true }`; an unknown column is an InvalidQueryError and deletes nothing.
   *
   * @example
   * ```ts
   * await sessionRepo.deleteWhere({ expiresAt: { lt: new Date() } });
   * ```
   */
  async deleteWhere(where: Where<TTable>, options?: BulkOptions & DeleteOptions): Promise<RowOf<TTable>[]> {
    checkQueryOptions(options, REPOSITORY_OPTIONS.deleteWhere, 'deleteWhere');
    const s = this.#bound();
    const deletedAt = this.#info.deletedAt;
    const condition = this.#bulkWhere('deleteWhere', where, options, deletedAt && !options?.hard ? s : undefined);
    const query =
      deletedAt && !options?.hard
        ? s.write
            .update(this.#table)
            .set(s.touch({ [columnKey(this.#info, deletedAt)]: sql`now()` }) as never)
            .where(condition)
            .returning()
        : s.write.delete(this.#table).where(condition).returning();
    return monitored(
      s.monitor,
      'deleteWhere',
      this.#info.name,
      s.writeRole,
      () => query as Promise<RowOf<TTable>[]>,
      () => shapeOf(where),
    );
  }

  /**
   * Inserts the row, or on conflict on `target` (default `id`) updates it; returns the stored row. Sets
   * `updatedAt` on the update path too.
   *
   * @example
   * ```ts
   * const user = await userRepo.upsert({ email: 'a@b.c', name: 'Ada' }, { target: 'email' });
   * ```
   */
  async upsert(data: NewRowOf<TTable>, options: UpsertOptions<TTable> = {}): Promise<RowOf<TTable>> {
    checkQueryOptions(options, REPOSITORY_OPTIONS.upsert, 'upsert');
    const s = this.#bound();
    const keys = writeKeys(this.#info, data, 'upsert');
    const targetKeys =
      options.target === undefined
        ? ['id']
        : typeof options.target === 'string'
          ? [options.target]
          : [...options.target];
    const target = targetKeys.map((key) => this.#columnOrFail(key, 'upsert target'));
    const updateKeys = options.update ?? keys.filter((k) => !targetKeys.includes(k) && k !== 'version');
    const set: Record<string, unknown> = {};
    for (const key of updateKeys) {
      const column = this.#columnOrFail(key, 'upsert update');
      set[key] = sql`excluded.${sql.identifier(column.name)}`;
    }
    s.touch(set);
    if (Object.keys(set).length === 0) set[targetKeys[0]!] = sql`excluded.${sql.identifier(target[0]!.name)}`;
    const query = s.write
      .insert(this.#table)
      .values(data as never)
      .onConflictDoUpdate({ target, set: set as never })
      .returning();
    return monitored(
      s.monitor,
      'upsert',
      this.#info.name,
      s.writeRole,
      async () => ((await query) as Rows)[0] as RowOf<TTable>,
    );
  }

  #columnOrFail(key: string, what: string): PgColumn {
    const column = this.#info.column(key);
    if (!column) throw new InvalidQueryError(`Unknown column ${JSON.stringify(key)} in ${what} on ${this.#info.name}`);
    return column;
  }
}

/** The first row of a result (an INSERT … RETURNING always has one). */
function firstRow(rows: unknown): unknown {
  return (rows as unknown[])[0];
}

/** The first row of a result, or null. */
function firstRowOrNull(rows: unknown): unknown {
  return (rows as unknown[])[0] ?? null;
}

/** The filter keys of a bulk write, for the N+1 detector (never the values). */
function shapeOf(where: unknown): string {
  if (isSqlWhere(where) || typeof where !== 'object' || where === null) return '(sql)';
  return `(${Object.keys(where).sort().join(',')})`;
}
