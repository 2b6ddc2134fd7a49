import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { closeDatabase, getDatabaseManager } from '@spfn/core/db';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const work = join(root, 'test', '.readme');

/** The ```ts blocks of the README, in order. */
function blocks(): string[] {
  const text = readFileSync(join(root, 'README.md'), 'utf8');
  return [...text.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

afterAll(async () => {
  await closeDatabase();
  rmSync(work, { recursive: true, force: true });
});

describe('README examples run as written', () => {
  it('has at least one TypeScript example', () => {
    expect(blocks().length).toBeGreaterThan(0);
  });

  it.each(blocks().map((code, i) => [i, code] as const))(
    'example %i runs on the embedded database',
    async (i, code) => {
      delete process.env.DATABASE_URL;
      delete process.env.DATABASE_WRITE_URL;
      process.env.PGLITE_DATA_DIR = 'memory://';
      mkdirSync(work, { recursive: true });
      const file = join(work, `example-${i}.ts`);
      writeFileSync(file, `${code}\nexport {};\n`);
      const printed: unknown[] = [];
      const log = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void printed.push(...args));
      try {
        await import(file);
      } finally {
        log.mockRestore();
      }
      if (i === 0) {
        // The first look inserts one note, prints the rows, and closes the database itself.
        expect(printed).toEqual([[{ id: 1, body: 'hello' }]]);
        expect(getDatabaseManager().initialized).toBe(false);
      }
      await closeDatabase();
    },
  );
});
