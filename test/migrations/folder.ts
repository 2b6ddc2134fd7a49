import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateDrizzleJson, generateMigration } from 'drizzle-kit/api';

/** One migration of a drizzle-kit folder written by a test. */
export interface TestMigration {
  tag: string;
  sql: string;
}

const BREAKPOINT = '\n--> statement-breakpoint\n';
let clock = Date.UTC(2026, 0, 1);

/** Writes (or extends) a drizzle-kit migrations folder: meta/_journal.json plus one SQL file per migration. */
export function writeMigrations(folder: string, migrations: readonly TestMigration[]): void {
  mkdirSync(join(folder, 'meta'), { recursive: true });
  const journalPath = join(folder, 'meta', '_journal.json');
  let journal: { version: string; dialect: string; entries: Record<string, unknown>[] };
  try {
    journal = JSON.parse(readFileSync(journalPath, 'utf8'));
  } catch {
    journal = { version: '7', dialect: 'postgresql', entries: [] };
  }
  for (const m of migrations) {
    clock += 1000;
    journal.entries.push({ idx: journal.entries.length, version: '7', when: clock, tag: m.tag, breakpoints: true });
    writeFileSync(join(folder, `${m.tag}.sql`), m.sql);
  }
  writeFileSync(journalPath, JSON.stringify(journal, null, 2));
}

/** The DDL drizzle-kit would generate for `tables` on an empty database, with breakpoints. */
export async function ddlFor(tables: Record<string, unknown>): Promise<string> {
  const statements = await generateMigration(generateDrizzleJson({}), generateDrizzleJson(tables));
  return statements.join(BREAKPOINT);
}
