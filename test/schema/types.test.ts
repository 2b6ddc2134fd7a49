import { pgTable, text, uuid, integer, bigint } from 'drizzle-orm/pg-core';
import type { Config } from 'drizzle-kit';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { foreignKey, getDrizzleConfig, id, optionalForeignKey, timestamps, type ReferencedId } from '@spfn/core/db';
import type { comments } from './fixture-schema.js';
import { posts, users } from './fixture-schema.js';

describe('schema helper types', () => {
  it('id() is a number primary key that inserts may omit', () => {
    expectTypeOf<typeof users.$inferSelect.id>().toEqualTypeOf<number>();
    expectTypeOf<typeof users.$inferInsert>().toHaveProperty('id').toEqualTypeOf<number | undefined>();
    expectTypeOf(users.id.columnType).toEqualTypeOf<'PgBigInt53'>();
    expect(users.id.primary).toBe(true);
  });

  it('timestamps() are Dates, optional on insert', () => {
    expectTypeOf<typeof posts.$inferSelect.createdAt>().toEqualTypeOf<Date>();
    expectTypeOf<typeof posts.$inferSelect.updatedAt>().toEqualTypeOf<Date>();
    expectTypeOf<typeof posts.$inferInsert>().toHaveProperty('updatedAt').toEqualTypeOf<Date | undefined>();
    expect(Object.keys(timestamps())).toEqual(['createdAt', 'updatedAt']);
  });

  it('foreignKey() is a required number, optionalForeignKey() a nullable optional one', () => {
    expectTypeOf<typeof posts.$inferSelect.authorId>().toEqualTypeOf<number>();
    expectTypeOf<typeof posts.$inferInsert.authorId>().toEqualTypeOf<number>();
    expectTypeOf<typeof posts.$inferSelect.editorId>().toEqualTypeOf<number | null>();
    expectTypeOf<typeof posts.$inferInsert>().toHaveProperty('editorId').toEqualTypeOf<number | null | undefined>();
    expectTypeOf<typeof comments.$inferInsert.postId>().toEqualTypeOf<number>();
    expect(posts.authorId.notNull).toBe(true);
    expect(posts.editorId.notNull).toBe(false);
  });

  it('a reference to anything but a bigint id does not compile', () => {
    const other = pgTable('other', {
      id: id(),
      name: text('name').notNull(),
      uid: uuid('uid'),
      small: integer('small'),
      big64: bigint('big64', { mode: 'bigint' }),
    });
    expectTypeOf(other.id).toExtend<ReferencedId>();
    expectTypeOf(other.name).not.toExtend<ReferencedId>();
    pgTable('bad', {
      id: id(),
      // @ts-expect-error a text column is not an id
      a: foreignKey('a', () => other.name),
      // @ts-expect-error a uuid column is not a bigint id
      b: foreignKey('b', () => other.uid),
      // @ts-expect-error an integer column is not a bigint id
      c: optionalForeignKey('c', () => other.small),
      // @ts-expect-error a bigint read as BigInt does not match a number column
      d: foreignKey('d', () => other.big64),
      // @ts-expect-error the reference is a thunk, not the column
      e: foreignKey('e', other.id),
      // @ts-expect-error a required foreign key cannot be set null
      f: foreignKey('f', () => other.id, { onDelete: 'set null' }),
      // @ts-expect-error unknown action
      g: optionalForeignKey('g', () => other.id, { onDelete: 'explode' }),
      h: optionalForeignKey('h', () => other.id, { onDelete: 'cascade' }),
    });
    // @ts-expect-error the helper appends _id itself: 'owner_id' would be owner_id_id
    expect(() => foreignKey('owner_id', () => other.id)).toThrow(/without "_id"/);
    // @ts-expect-error the same for the optional helper
    expect(() => optionalForeignKey('reviewer_id', () => other.id)).toThrow(/without "_id"/);
  });

  it('the column is named ${name}_id, in the type too', () => {
    expectTypeOf<(typeof posts.authorId)['_']['name']>().toEqualTypeOf<'author_id'>();
    expectTypeOf<(typeof posts.editorId)['_']['name']>().toEqualTypeOf<'editor_id'>();
    expect(posts.authorId.name).toBe('author_id');
    expect(posts.editorId.name).toBe('editor_id');
  });

  it('getDrizzleConfig() returns a drizzle-kit Config', () => {
    const config = getDrizzleConfig({ schema: './src/schema.ts', connectionString: 'postgres://u:p@h:5432/d' });
    expectTypeOf(config).toExtend<Config>();
    const accepted: Config = config;
    expect(accepted.dialect).toBe('postgresql');
  });
});
