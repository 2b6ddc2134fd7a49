import { sql, type SQL } from 'drizzle-orm';
import { InvalidQueryError } from '../errors/index.js';
import type { SortKey } from './order.js';
import type { TableInfo } from './table-info.js';

/**
 * The sort of a keyset page: the requested keys plus `id` as a tie-breaker, all in one direction (a row
 * comparison `(a, b, id) > (…)` needs that).
 * @internal
 */
export function keysetSort(info: TableInfo, keys: SortKey[]): SortKey[] {
  if (keys.length === 0) keys = [{ key: 'id', column: info.requireId('findPage'), descending: false }];
  const descending = keys[0]!.descending;
  if (keys.some((k) => k.descending !== descending)) {
    throw new InvalidQueryError(`Keyset paging on ${info.name} needs every sort column in the same direction`);
  }
  if (!keys.some((k) => k.key === 'id'))
    keys = [...keys, { key: 'id', column: info.requireId('findPage'), descending }];
  return keys;
}

/** `(a, b, id) > ($1, $2, $3)` (or `<` when descending), values bound as parameters. @internal */
export function keysetCondition(keys: readonly SortKey[], values: readonly unknown[]): SQL {
  const columns = sql.join(
    keys.map((k) => sql`${k.column}`),
    sql`, `,
  );
  const params = sql.join(
    values.map((v) => sql`${v}`),
    sql`, `,
  );
  return keys[0]!.descending ? sql`(${columns}) < (${params})` : sql`(${columns}) > (${params})`;
}

/** An opaque cursor: the last row's sort values, in driver form, as base64url JSON. @internal */
export function encodeCursor(keys: readonly SortKey[], row: Record<string, unknown>): string {
  const values = keys.map((k) => {
    const value: unknown = k.column.mapToDriverValue(row[k.key]);
    return typeof value === 'bigint' ? value.toString() : value;
  });
  return Buffer.from(JSON.stringify(values)).toString('base64url');
}

/** Decodes a cursor made by encodeCursor; anything else is an InvalidQueryError. @internal */
export function decodeCursor(info: TableInfo, cursor: unknown, length: number): unknown[] {
  const invalid = (): InvalidQueryError => new InvalidQueryError(`Invalid cursor for ${info.name}`);
  if (typeof cursor !== 'string' || cursor.length > 4096) throw invalid();
  let values: unknown;
  try {
    values = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  if (!Array.isArray(values) || values.length !== length) throw invalid();
  for (const value of values as unknown[]) {
    if (!(typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')) throw invalid();
  }
  return values as unknown[];
}
