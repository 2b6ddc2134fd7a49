import {
  and,
  eq,
  gt,
  gte,
  ilike,
  inArray,
  is,
  isNotNull,
  isNull,
  like,
  lt,
  lte,
  ne,
  notInArray,
  SQL,
  type SQLWrapper,
} from 'drizzle-orm';
import type { PgColumn } from 'drizzle-orm/pg-core';
import { InvalidQueryError } from '../errors/index.js';
import type { TableInfo } from './table-info.js';

const OPERATORS = new Set(['eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'like', 'ilike', 'in', 'notIn', 'isNull']);
/** Most values an `in` / `notIn` list may hold (PostgreSQL takes at most 65535 parameters per statement). */
const MAX_LIST = 10_000;

/** True for a Drizzle SQL expression or anything that turns into one (a column, a subquery…). */
export function isSqlWhere(where: unknown): where is SQL | SQLWrapper {
  if (typeof where !== 'object' || where === null || isPlainObject(where)) return false;
  return is(where, SQL) || typeof (where as { getSQL?: unknown }).getSQL === 'function';
}

/** An object literal (or a null-prototype object): what a filter object is. @internal */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** True when `where` is absent or a filter object without keys. */
export function isEmptyFilter(where: unknown): boolean {
  if (where === undefined || where === null) return true;
  if (isSqlWhere(where)) return false;
  return typeof where === 'object' && Object.keys(where).length === 0;
}

/**
 * Escapes `\`, `%` and `_` so that a LIKE pattern matches them literally (filter objects do this themselves).
 *
 * @example
 * ```ts
 * db.select().from(users).where(like(users.name, `${escapeLike(prefix)}%`));
 * ```
 */
export function escapeLike(value: string): string {
  return value.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/**
 * Validates a filter object against the table and turns it into a condition; every value becomes a bound
 * parameter. Throws InvalidQueryError for an unknown column or operator or a value of the wrong kind, before any
 * SQL is built. Returns undefined for an empty filter.
 * @internal
 */
export function buildWhere(info: TableInfo, where: unknown): SQL | undefined {
  if (where === undefined || where === null) return undefined;
  if (isSqlWhere(where)) return is(where, SQL) ? where : where.getSQL();
  if (!isPlainObject(where)) {
    throw new InvalidQueryError(`where on ${info.name} must be a filter object or a Drizzle SQL condition`);
  }
  const parts: SQL[] = [];
  for (const key of Object.keys(where)) {
    const column = info.column(key);
    if (!column) throw new InvalidQueryError(`Unknown column ${quoteKey(key)} in filter on ${info.name}`);
    const value: unknown = where[key];
    if (value === null) {
      parts.push(isNull(column));
    } else if (isPlainObject(value)) {
      const ops = Object.keys(value);
      if (ops.length === 0) throw new InvalidQueryError(`Empty operator object for column ${key} on ${info.name}`);
      for (const op of ops) parts.push(condition(info, key, column, op, value[op]));
    } else {
      parts.push(eq(column, scalar(info, key, 'eq', value)));
    }
  }
  if (parts.length === 0) return undefined;
  return parts.length === 1 ? parts[0] : and(...parts);
}

function condition(info: TableInfo, key: string, column: PgColumn, op: string, value: unknown): SQL {
  if (!OPERATORS.has(op)) {
    throw new InvalidQueryError(`Unknown operator ${quoteKey(op)} for column ${key} on ${info.name}`);
  }
  switch (op) {
    case 'eq':
      return value === null ? isNull(column) : eq(column, scalar(info, key, op, value));
    case 'ne':
      return value === null ? isNotNull(column) : ne(column, scalar(info, key, op, value));
    case 'gt':
      return gt(column, scalar(info, key, op, value));
    case 'gte':
      return gte(column, scalar(info, key, op, value));
    case 'lt':
      return lt(column, scalar(info, key, op, value));
    case 'lte':
      return lte(column, scalar(info, key, op, value));
    case 'like':
      return like(column, `%${escapeLike(text(info, key, op, value))}%`);
    case 'ilike':
      return ilike(column, `%${escapeLike(text(info, key, op, value))}%`);
    case 'in':
      return inArray(column, list(info, key, op, value));
    case 'notIn':
      return notInArray(column, list(info, key, op, value));
    default:
      if (typeof value !== 'boolean') {
        throw new InvalidQueryError(`isNull for column ${key} on ${info.name} takes true or false`);
      }
      return value ? isNull(column) : isNotNull(column);
  }
}

function scalar(info: TableInfo, key: string, op: string, value: unknown): unknown {
  switch (typeof value) {
    case 'string':
    case 'boolean':
    case 'bigint':
      return value;
    case 'number':
      if (Number.isFinite(value)) return value;
      break;
    case 'object':
      if (value instanceof Date && !Number.isNaN(value.getTime())) return value;
      break;
    default:
      break;
  }
  throw new InvalidQueryError(
    `Invalid value for ${op} on column ${key} of ${info.name}: expected a string, number, bigint, boolean or Date`,
  );
}

function text(info: TableInfo, key: string, op: string, value: unknown): string {
  if (typeof value !== 'string') throw new InvalidQueryError(`${op} on column ${key} of ${info.name} takes a string`);
  return value;
}

function list(info: TableInfo, key: string, op: string, value: unknown): unknown[] {
  if (!Array.isArray(value)) throw new InvalidQueryError(`${op} on column ${key} of ${info.name} takes an array`);
  if (value.length > MAX_LIST) {
    throw new InvalidQueryError(`${op} on column ${key} of ${info.name} takes at most ${MAX_LIST} values`);
  }
  return value.map((v: unknown) => scalar(info, key, op, v));
}

/** A key shown in an error message: JSON-quoted and cut short, so a hostile key cannot forge the message. */
export function quoteKey(key: string): string {
  const shown = key.length > 40 ? `${key.slice(0, 40)}…` : key;
  return JSON.stringify(shown);
}
