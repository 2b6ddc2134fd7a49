import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const dist = (p: string): string => fileURLToPath(new URL(`./dist/${p}`, import.meta.url));

export default defineConfig({
  resolve: {
    alias: [{ find: /^@spfn\/core\/(db|errors|logger|server|cache)$/, replacement: dist('$1/index.js') }],
  },
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default', 'json'],
    outputFile: { json: '.vitest-results.json' },
    env: { LOG_LEVEL: 'warn', NODE_ENV: 'test' },
  },
});
