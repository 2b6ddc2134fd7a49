import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'dist-typecheck/**',
      'node_modules/**',
      '.data/**',
      'coverage/**',
      'docs/api/**',
      'bench/results/**',
      'bench/peers/generated/**',
      'bench/peers/node_modules/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: {
          allowDefaultProject: [
            '*.js',
            '*.mjs',
            'examples/*.mjs',
            'examples/*/*.mjs',
            'test/fixtures/*.mjs',
            'bench/*.mjs',
            'scripts/*.mjs',
          ],
          // Scripts and fixtures outside tsconfig: more than the default 8 of them.
          maximumDefaultProjectFileMatchCount_THIS_WILL_SLOW_DOWN_LINTING: 32,
        },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['src/**/*.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          // V8's parser marks a function literal assigned straight to a property as long-lived: code that has not
          // been optimised allocates that closure in the old generation, and once it is dead its slot still holds
          // the young context (and all the context reaches) alive through every scavenge until the next full
          // collection. Per call, that promotes the call's objects (docs/adr/0013, docs/06-performance.md).
          selector:
            "AssignmentExpression[left.type='MemberExpression'][right.type=/^(ArrowFunctionExpression|FunctionExpression)$/]",
          message:
            'Assign the function to a local constant first, then to the property: V8 allocates a function literal assigned straight to a property in the old generation (docs/adr/0013).',
        },
      ],
    },
  },
  {
    files: ['**/*.mjs', '**/*.js'],
    languageOptions: {
      globals: {
        console: 'readonly',
        process: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        performance: 'readonly',
        fetch: 'readonly',
        URL: 'readonly',
        Request: 'readonly',
      },
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**', 'examples/**'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    // The peers benchmark is its own package (bench/peers/package.json): its imports resolve outside this
    // project's type information, so it is linted without type-aware rules.
    files: ['bench/peers/**'],
    ...tseslint.configs.disableTypeChecked,
  },
);
