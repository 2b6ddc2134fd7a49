import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const dist = (p: string): string => fileURLToPath(new URL(`./dist/${p}`, import.meta.url));

/**
 * The integration suites that run on both backends (docs/adr/1100-backend-matrix.md): once on the PostgreSQL
 * server (the `postgres` project runs every file) and once more on the embedded PGlite, with the same assertions.
 */
const BOTH_BACKENDS = [
  'test/errors/sqlstate-matrix.test.ts',
  'test/integration/transactions.test.ts',
  'test/integration/transactional-http.test.ts',
  'test/integration/repository/methods.test.ts',
  'test/integration/repository/filter-property.test.ts',
  'test/migrations/run.test.ts',
  'test/server/example-service.test.ts',
];

const env = { LOG_LEVEL: 'warn', NODE_ENV: 'test' };

export default defineConfig({
  resolve: {
    alias: [{ find: /^@spfn\/core\/(db|errors|logger|server|cache)$/, replacement: dist('$1/index.js') }],
  },
  test: {
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default', 'json'],
    outputFile: { json: '.vitest-results.json' },
    projects: [
      { extends: true, test: { name: 'postgres', include: ['test/**/*.test.ts'], env } },
      {
        extends: true,
        test: { name: 'pglite', include: BOTH_BACKENDS, env: { ...env, SPFN_TEST_BACKEND: 'pglite' } },
      },
    ],
  },
});
