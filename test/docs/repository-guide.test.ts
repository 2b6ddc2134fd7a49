import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { generateDrizzleJson, generateMigration } from 'drizzle-kit/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clearRepositoryCache, closeDatabase, initDatabase } from '@spfn/core/db';
import { createTestDatabase, expectNoLeaksThenDrop, type TestDatabase } from '../helpers/pg.js';

// docs/02-repository.md's first two blocks, run as written: the schema block becomes schema.ts, its tables are
// created from it (drizzle-kit's own diff, as `spfn db generate` would), then the example runs against them.

const ROOT = resolve(import.meta.dirname, '..', '..');
const work = join(ROOT, 'test', '.docs-repository');
let tdb: TestDatabase;

function blocks(): string[] {
  const text = readFileSync(join(ROOT, 'docs', '02-repository.md'), 'utf8');
  return [...text.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

beforeAll(async () => {
  tdb = await createTestDatabase('docs_repository');
  mkdirSync(work, { recursive: true });
});

afterAll(async () => {
  await closeDatabase();
  clearRepositoryCache();
  rmSync(work, { recursive: true, force: true });
  await expectNoLeaksThenDrop(tdb);
});

describe('docs/02-repository.md', () => {
  it('the example runs against the schema the page shows', async () => {
    const [schemaBlock, exampleBlock] = blocks();
    expect(schemaBlock).toMatch(/^\/\/ schema\.ts/);
    expect(exampleBlock).toContain("from './schema.js'");
    writeFileSync(join(work, 'schema.ts'), schemaBlock!);
    writeFileSync(join(work, 'example.ts'), `${exampleBlock}\nexport { ada, adults, withAuthor };\n`);

    const schema = (await import(join(work, 'schema.ts'))) as Record<string, unknown>;
    const statements = await generateMigration(generateDrizzleJson({}), generateDrizzleJson(schema));
    for (const statement of statements) await tdb.sql.unsafe(statement);

    await initDatabase({ url: tdb.url, applicationName: tdb.appName });
    const example = (await import(join(work, 'example.ts'))) as {
      ada: { id: number; email: string };
      adults: unknown[];
      withAuthor: { post: { title: string }; author: { name: string } };
    };
    expect(example.ada.email).toBe('ada@example.com');
    expect(example.adults).toEqual([]); // Ada has no age
    expect(example.withAuthor.post.title).toBe('Hello');
    expect(example.withAuthor.author.name).toBe('Ada L.');
    expect(await tdb.sql`select name from users`).toEqual([{ name: 'Ada L.' }]);
    expect(await tdb.sql`select author_id from posts`).toEqual([{ author_id: String(example.ada.id) }]);
  });
});
