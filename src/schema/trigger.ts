import { getTableConfig, type PgTable } from 'drizzle-orm/pg-core';
import { InvalidQueryError } from '../errors/index.js';

/** Options of {@link updatedAtTriggerSql}. */
export interface UpdatedAtTriggerOptions {
  /** The column the trigger sets. Default `updated_at` (the column of `timestamps()`). */
  column?: string;
}

/** What drizzle-kit puts between statements; Drizzle's migrator runs each part on its own. */
const BREAKPOINT = '\n--> statement-breakpoint\n';

/**
 * The SQL of a trigger that sets `updated_at` to `now()` on every UPDATE of `table` — also raw SQL updates and the
 * update branch of an upsert (`insert … on conflict do update`), which Drizzle's `$onUpdate` never sees. An UPDATE
 * that assigns the column itself keeps its value. Put the result in a migration (`spfn db generate --custom`); the
 * statements are separated by drizzle-kit breakpoints and safe to run twice.
 *
 * @example
 * ```ts
 * updatedAtTriggerSql(posts)            // for a Drizzle table with timestamps()
 * updatedAtTriggerSql('audit.events')   // or a (schema-qualified) table name
 * ```
 */
export function updatedAtTriggerSql(table: PgTable | string, options: UpdatedAtTriggerOptions = {}): string {
  const column = options.column ?? 'updated_at';
  if (column.length === 0 || column.length > 48) {
    throw new InvalidQueryError(`updatedAtTriggerSql: column name must be 1–48 characters, got ${column.length}`);
  }
  const { schema, name } = tableName(table);
  const qualified = schema === undefined ? quote(name) : `${quote(schema)}.${quote(name)}`;
  const fn = `spfn_set_${column}`;
  const trigger = `${name}_set_${column}`;
  const statements = [
    `CREATE OR REPLACE FUNCTION ${quote(fn)}() RETURNS trigger LANGUAGE plpgsql AS $spfn$
BEGIN
  IF NEW.${quote(column)} IS NOT DISTINCT FROM OLD.${quote(column)} THEN
    NEW.${quote(column)} := now();
  END IF;
  RETURN NEW;
END
$spfn$;`,
    `DROP TRIGGER IF EXISTS ${quote(trigger)} ON ${qualified};`,
    `CREATE TRIGGER ${quote(trigger)} BEFORE UPDATE ON ${qualified} FOR EACH ROW EXECUTE FUNCTION ${quote(fn)}();`,
  ];
  return statements.join(BREAKPOINT) + '\n';
}

function tableName(table: PgTable | string): { schema: string | undefined; name: string } {
  if (typeof table !== 'string') {
    const config = getTableConfig(table);
    return { schema: config.schema, name: config.name };
  }
  const parts = table.split('.');
  if (parts.length > 2 || parts.some((p) => p.length === 0)) {
    throw new InvalidQueryError(`updatedAtTriggerSql: expected "table" or "schema.table", got "${table}"`);
  }
  return parts.length === 2 ? { schema: parts[0], name: parts[1]! } : { schema: undefined, name: parts[0]! };
}

function quote(identifier: string): string {
  return `"${identifier.replace(/"/g, '""')}"`;
}
