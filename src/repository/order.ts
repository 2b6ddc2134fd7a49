import { asc, desc, type SQL } from 'drizzle-orm';
import type { PgColumn } from 'drizzle-orm/pg-core';
import { InvalidQueryError } from '../errors/index.js';
import { isPlainObject, quoteKey } from './filter.js';
import type { TableInfo } from './table-info.js';

/** One sort key, resolved to a column of the table. @internal */
export interface SortKey {
  key: string;
  column: PgColumn;
  descending: boolean;
}

/**
 * Parses `orderBy` / `sort`: column names of the table only (`'-name'` for descending, a list, or
 * `{ name: 'desc' }`). Anything else is an InvalidQueryError.
 * @internal
 */
export function parseSort(info: TableInfo, orderBy: unknown): SortKey[] {
  if (orderBy === undefined || orderBy === null) return [];
  if (typeof orderBy === 'string') return [sortKey(info, orderBy)];
  if (Array.isArray(orderBy)) {
    return orderBy.map((entry: unknown) => {
      if (typeof entry !== 'string') throw new InvalidQueryError(`orderBy entries on ${info.name} must be strings`);
      return sortKey(info, entry);
    });
  }
  if (isPlainObject(orderBy)) {
    return Object.keys(orderBy).map((key) => {
      const direction: unknown = orderBy[key];
      if (direction !== 'asc' && direction !== 'desc') {
        throw new InvalidQueryError(`orderBy direction for ${quoteKey(key)} on ${info.name} must be 'asc' or 'desc'`);
      }
      return resolve(info, key, direction === 'desc');
    });
  }
  throw new InvalidQueryError(`orderBy on ${info.name} takes column names of the table`);
}

function sortKey(info: TableInfo, entry: string): SortKey {
  return entry.startsWith('-') ? resolve(info, entry.slice(1), true) : resolve(info, entry, false);
}

function resolve(info: TableInfo, key: string, descending: boolean): SortKey {
  const column = info.column(key);
  if (!column) throw new InvalidQueryError(`Unknown column ${quoteKey(key)} in orderBy on ${info.name}`);
  return { key, column, descending };
}

/** The ORDER BY expressions of the sort keys. @internal */
export function orderExpressions(keys: readonly SortKey[]): SQL[] {
  return keys.map((k) => (k.descending ? desc(k.column) : asc(k.column)));
}

/** Checks a limit / offset / page / size: a safe integer in [min, max]. @internal */
export function checkCount(info: TableInfo, name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new InvalidQueryError(`${name} on ${info.name} must be an integer from ${min} to ${max}`);
  }
  return value;
}
