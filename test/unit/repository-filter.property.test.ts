import fc from 'fast-check';
import { PgDialect, bigint, integer, pgTable, text } from 'drizzle-orm/pg-core';
import { describe, expect, it } from 'vitest';
import { InvalidQueryError } from '../../src/errors/index.js';
import { buildWhere, escapeLike } from '../../src/repository/filter.js';
import { orderExpressions, parseSort } from '../../src/repository/order.js';
import { TableInfo } from '../../src/repository/table-info.js';

const items = pgTable('items', {
  id: bigint('id', { mode: 'number' }).primaryKey(),
  name: text('name').notNull(),
  qty: integer('qty').notNull(),
  tag: text('tag'),
});
const info = new TableInfo(items);
const dialect = new PgDialect();
const MARK = 'ZQ9';

const hostileWords = [
  "'",
  "''",
  '";',
  "'; drop table items; --",
  '--',
  '/*',
  '*/',
  '$1',
  '\\',
  '%',
  '_',
  '__proto__',
  'constructor',
  'prototype',
  'select',
  'DELETE FROM items',
  ' or 1=1',
  'name"; --',
  '\u202e',
  '😀',
  'é',
  'ı',
  '\n',
];
/** A hostile string, always carrying MARK so its presence in SQL text can be checked. */
const hostile = fc
  .tuple(fc.array(fc.constantFrom(...hostileWords), { maxLength: 4 }), fc.string({ maxLength: 8 }))
  .map(([words, s]) => `${MARK}${words.join('')}${s}`);
const anyValue = fc.oneof(
  hostile,
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
  fc.date({ noInvalidDate: false }),
  fc.array(hostile, { maxLength: 3 }),
  fc.object({ maxDepth: 1 }),
);
const operator = fc.oneof(
  fc.constantFrom('eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'like', 'ilike', 'in', 'notIn', 'isNull'),
  hostile,
  fc.constantFrom('__proto__', 'constructor', 'toString', 'and', 'or'),
);
const key = fc.oneof(
  fc.constantFrom('id', 'name', 'qty', 'tag'),
  hostile,
  fc.constantFrom('__proto__', 'constructor', 'hasOwnProperty', 'name ', 'Name', 'items.name'),
);
const operatorObject = fc
  .array(fc.tuple(operator, anyValue), { maxLength: 3 })
  .map((entries) => Object.fromEntries(entries) as Record<string, unknown>);
const filter = fc
  .array(fc.tuple(key, fc.oneof(anyValue, operatorObject)), { maxLength: 4 })
  .map((entries) => Object.fromEntries(entries) as Record<string, unknown>);
const orderBy = fc.oneof(
  key,
  key.map((k) => `-${k}`),
  fc.array(key, { maxLength: 3 }),
  fc.dictionary(key, fc.oneof(fc.constantFrom('asc', 'desc'), hostile)),
  anyValue,
);

describe('filters and orderBy under random hostile input (10,000 cases)', () => {
  it('either throw InvalidQueryError or build SQL whose text never holds a payload', () => {
    let built = 0;
    fc.assert(
      fc.property(filter, orderBy, (where, order) => {
        let text: string;
        let params: unknown[];
        try {
          const condition = buildWhere(info, where);
          const sort = orderExpressions(parseSort(info, order));
          const query = dialect.sqlToQuery(
            dialect.buildSelectQuery({
              withList: [],
              fields: {},
              fieldsFlat: [{ path: ['id'], field: items.id }],
              table: items,
              where: condition,
              orderBy: sort,
              joins: undefined,
              setOperators: [],
            }),
          );
          text = query.sql;
          params = query.params;
        } catch (err) {
          expect(err).toBeInstanceOf(InvalidQueryError);
          expect((err as Error).message.length).toBeLessThan(200);
          return;
        }
        built++;
        expect(text).not.toContain(MARK);
        // Every hostile value that made it in is a bound parameter, as given (like/ilike: escaped and wrapped).
        for (const v of Object.values(where)) {
          if (typeof v === 'string') expect(params).toContain(v);
        }
      }),
      { numRuns: 10_000 },
    );
    expect(built).toBeGreaterThan(100);
  });

  it('escapes LIKE wildcards and the escape character', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        const escaped = escapeLike(s);
        expect(escaped.replace(/\\[\\%_]/g, '')).not.toMatch(/[\\%_]/);
        expect(escaped.replace(/\\([\\%_])/g, '$1')).toBe(s);
      }),
      { numRuns: 2000 },
    );
  });
});
