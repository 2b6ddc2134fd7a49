import * as drizzleOrm from 'drizzle-orm';
import { Column, is, Param, Placeholder, SQL, Subquery, type TablesRelationalConfig } from 'drizzle-orm';
import type { PreparedQueryConfig } from 'drizzle-orm/pg-core';
import type postgres from 'postgres';
import { PostgresJsPreparedQuery, PostgresJsSession, PostgresJsTransaction } from 'drizzle-orm/postgres-js';
import { RelationalQueryBuilder } from 'drizzle-orm/pg-core/query-builders/query';
import { toDatabaseError } from '../errors/index.js';
import type { DrizzleClient } from './drizzle-client.js';
import type { QueryResult } from '../context/index.js';

type AnySession = PostgresJsSession<postgres.Sql, Record<string, unknown>, TablesRelationalConfig>;
type PrepareArgs = Parameters<AnySession['prepareQuery']>;
type SelectedField = { path: string[]; field: unknown };
type Decoder = { mapFromDriverValue(value: unknown): unknown };
type ParamFill = (values: Record<string, unknown>) => unknown;
type RowMapper = (row: unknown[]) => Record<string, unknown>;

/** The fields of PostgresJsPreparedQuery this class reads (Drizzle marks them internal). */
interface DrizzleInternals {
  client: DrizzleClient;
  queryString: string;
  params: unknown[];
  fields: SelectedField[] | undefined;
  customResultMapper: ((rows: unknown[][]) => unknown) | undefined;
  /** True for a query Drizzle prepared by name (`.prepare(name)`), false for one built per call. */
  prepare: boolean;
  joinsNotNullableMap: Record<string, boolean> | undefined;
}

/** Drizzle's row mapper: exported at run time, marked internal in its types. */
const mapResultRow = (
  drizzleOrm as unknown as {
    mapResultRow: (fields: SelectedField[], row: unknown[], joins: Record<string, boolean> | undefined) => unknown;
  }
).mapResultRow;

/** The rows as they came (statements without selected fields: `execute`, `returning` of a whole row, …). */
const keepRows = (rows: QueryResult): QueryResult => rows;

/**
 * Drizzle's prepared query, executed on a short path: the statement goes straight to this package's executor
 * (routing, admission, monitoring), parameters are filled and rows mapped by functions compiled on the first
 * execution instead of walking Drizzle's metadata on every call, and a failing statement rejects with the
 * DatabaseError of §5 (driver error as `cause`) instead of DrizzleQueryError, whose message lists the SQL
 * parameter values. Drizzle's query cache is not used by this package, so it is skipped. Results are the ones
 * Drizzle's own `execute()` gives (its row mapper is used whenever a row is not a flat list of columns).
 * @internal
 */
class TypedErrorPreparedQuery extends PostgresJsPreparedQuery<PreparedQueryConfig> {
  #fill: ParamFill[] | undefined;
  #mapRow: RowMapper | null | undefined;
  #finish: ((rows: QueryResult) => unknown) | undefined;

  override execute(placeholderValues: Record<string, unknown> = {}): Promise<unknown> {
    const self = this as unknown as DrizzleInternals;
    let params: unknown[];
    try {
      params = this.#params(self, placeholderValues);
    } catch (err) {
      return Promise.reject(toDatabaseError(err));
    }
    const { client, queryString, prepare } = self;
    // The rows are mapped, and a failure typed, in the executor's own reaction (one promise fewer per statement).
    const finish = (this.#finish ??= this.#finisher(self));
    return client.run(queryString, params, finish === keepRows ? 'object' : 'array', prepare, finish);
  }

  /** What this query makes of its rows: Drizzle's result, made once per prepared query. */
  #finisher(self: DrizzleInternals): (rows: QueryResult) => unknown {
    const { fields, customResultMapper } = self;
    if (!fields && !customResultMapper) return keepRows;
    if (customResultMapper) return (rows) => customResultMapper(rows as unknown[][]);
    const map = this.#rowMapper(self);
    if (map) {
      // A loop into a plain array: `map` on postgres.js's result (an Array subclass) constructs another result
      // object through Symbol.species, ~0.7 µs per call against ~0.1 µs.
      return (rows) => {
        const out = new Array<unknown>(rows.length);
        for (let i = 0; i < rows.length; i++) out[i] = map(rows[i] as unknown[]);
        return out;
      };
    }
    const joins = self.joinsNotNullableMap;
    return (rows) => {
      const out = new Array<unknown>(rows.length);
      for (let i = 0; i < rows.length; i++) out[i] = mapResultRow(fields!, rows[i] as unknown[], joins);
      return out;
    };
  }

  async queryWithCache<T>(_queryString: string, _params: unknown[], query: () => Promise<T>): Promise<T> {
    try {
      return await query();
    } catch (err) {
      throw toDatabaseError(err);
    }
  }

  #params(self: DrizzleInternals, values: Record<string, unknown>): unknown[] {
    const fill = (this.#fill ??= self.params.map(compileParam));
    const out = new Array<unknown>(fill.length);
    for (let i = 0; i < fill.length; i++) out[i] = fill[i]!(values);
    return out;
  }

  /** A mapper for rows that are a flat list of columns (every select of one table); null for nested results. */
  #rowMapper(self: DrizzleInternals): RowMapper | null {
    if (this.#mapRow !== undefined) return this.#mapRow;
    const fields = self.fields ?? [];
    if (fields.some((f) => f.path.length !== 1)) return (this.#mapRow = null);
    const keys = fields.map((f) => f.path[0]!);
    const decoders = fields.map((f) => decoderOf(f.field));
    const n = keys.length;
    const mapRow = (row: unknown[]): Record<string, unknown> => {
      const out: Record<string, unknown> = {};
      for (let i = 0; i < n; i++) {
        const raw = row[i];
        out[keys[i]!] = raw === null ? null : decoders[i]!.mapFromDriverValue(raw);
      }
      return out;
    };
    this.#mapRow = mapRow;
    return mapRow;
  }
}

/**
 * Makes a query prepared with Drizzle's `.prepare(name)` run as the unnamed statement, planned for its values at
 * every execution (ADR 0008), while it keeps its compiled parameter fill and row mapping. False when the object is
 * not a query of this package's session.
 * @internal
 */
export function planEachExecution(prepared: object): boolean {
  if (!(prepared instanceof TypedErrorPreparedQuery)) return false;
  (prepared as unknown as DrizzleInternals).prepare = false;
  return true;
}

function missing(name: string): Error {
  return new Error(`No value for placeholder "${name}" was provided`);
}

/** What Drizzle's fillPlaceholders does for one parameter, decided once. */
function compileParam(p: unknown): ParamFill {
  if (is(p, Placeholder)) {
    const name = p.name;
    return (values) => {
      if (!(name in values)) throw missing(name);
      return values[name];
    };
  }
  if (is(p, Param) && is(p.value, Placeholder)) {
    const name = p.value.name;
    const encoder = p.encoder;
    return (values) => {
      if (!(name in values)) throw missing(name);
      return encoder.mapToDriverValue(values[name]);
    };
  }
  return () => p;
}

/** The decoder Drizzle's mapResultRow uses for a selected field. */
function decoderOf(field: unknown): Decoder {
  if (is(field, Column)) return field;
  type WithDecoder = { decoder: Decoder };
  if (is(field, SQL)) return (field as unknown as WithDecoder).decoder;
  if (is(field, Subquery)) return (field as unknown as { _: { sql: WithDecoder } })._.sql.decoder;
  return (field as { sql: WithDecoder }).sql.decoder;
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

/** What {@link transactionHandles} needs of the relational schema (Drizzle's `schema` argument). */
type HandleSchema =
  | { fullSchema: Record<string, unknown>; schema: TablesRelationalConfig; tableNamesMap: Record<string, string> }
  | undefined;

/** A handle's own properties until its session is first used; then `session` and `_` are its own too. */
type HandleParts = { [SOURCE]: unknown; nestedIndex: number };

/** Where a handle's client comes from: given to `transactionHandles`' client maker on the handle's first use. */
const SOURCE = Symbol('spfn.handleSource');

/**
 * Makes the Drizzle handles of transactions (and savepoints) for one database. Each handle is a PostgresJsTransaction
 * whose own properties are only its source and its level until it is used; everything else (the dialect, the
 * schema, the methods) comes from one template built here. Its session and `_` are made the first time anything
 * reads them (every Drizzle method does), with a client from `makeClient(source)`: a `Transactional()` request whose
 * handler goes through the repository (which runs on the transaction, not on its handle) never builds them. The
 * relational query builders (`tx.query.<table>`) are likewise built for the handle's session on first use. A handle
 * built by Drizzle's constructor costs about 1 KB per transaction, and one builder object per table of the schema.
 * The session's own properties are likewise only its client.
 * @internal
 */
export function transactionHandles(
  dialect: ConstructorParameters<typeof PostgresJsTransaction>[0],
  schema: HandleSchema,
  sessionOptions: { logger: unknown; cache: unknown },
  makeClient: (source: unknown) => DrizzleClient,
): (nestedIndex: number, source: unknown) => PostgresJsTransaction<Record<string, unknown>, TablesRelationalConfig> {
  const templateSession = new TypedErrorSession(undefined as never, dialect, schema, sessionOptions as never);
  const template = new PostgresJsTransaction(dialect, templateSession as never, schema, 0);
  const shared = (template as unknown as { _: Record<string, unknown> })._;
  const relational = schema?.schema;
  const own = (value: unknown): PropertyDescriptor => ({ value, writable: true, enumerable: true, configurable: true });
  /** Gives the handle its session and `_` as own properties; returns the session. */
  const materialize = (handle: HandleParts): AnySession => {
    const session = Object.create(templateSession) as { client: DrizzleClient };
    session.client = makeClient(handle[SOURCE]);
    Object.defineProperty(handle, 'session', own(session));
    Object.defineProperty(
      handle,
      '_',
      own({ schema: shared.schema, fullSchema: shared.fullSchema, tableNamesMap: shared.tableNamesMap, session }),
    );
    return session as never;
  };
  const perHandle = Object.create(template, {
    session: {
      configurable: true,
      enumerable: true,
      get(this: HandleParts) {
        return materialize(this);
      },
    },
    _: {
      configurable: true,
      enumerable: true,
      get(this: HandleParts & { _: unknown }) {
        materialize(this);
        return this._;
      },
    },
    query: {
      configurable: true,
      enumerable: true,
      get(this: { session: AnySession }) {
        const query: Record<string, unknown> = {};
        if (relational !== undefined && schema !== undefined) {
          for (const [name, columns] of Object.entries(relational)) {
            query[name] = new RelationalQueryBuilder(
              schema.fullSchema,
              relational,
              schema.tableNamesMap,
              schema.fullSchema[name] as never,
              columns,
              dialect,
              this.session as never,
            );
          }
        }
        Object.defineProperty(this, 'query', own(query));
        return query;
      },
    },
  }) as object;
  return (nestedIndex, source) => {
    const handle = Object.create(perHandle) as HandleParts;
    handle[SOURCE] = source;
    handle.nestedIndex = nestedIndex;
    return handle as never;
  };
}
