// ESLint flat config for the whole monorepo (typescript-eslint, type-aware).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// Design principle 1 (deterministic core): these packages reach time, timers, randomness,
// the network and the disk only through the injected Scheduler, Transport and Storage.
const DETERMINISTIC_PACKAGES = ['server', 'client', 'resource', 'collections', 'atomic', 'coordination'];
const deterministicFiles = DETERMINISTIC_PACKAGES.map((name) => `packages/${name}/src/**/*.ts`);
const why = 'use the injected Scheduler (design principle 1: deterministic core)';

export default tseslint.config(
  {
    ignores: [
      '**/dist/**',
      '**/node_modules/**',
      '**/.turbo/**',
      '.ci/out/**',
      '**/*.config.ts',
      'vitest.shared.ts',
      'eslint.config.js',
      '.dependency-cruiser.cjs',
      'tools/*/bin/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/switch-exhaustiveness-check': [
        'error',
        { considerDefaultExhaustiveForUnions: true },
      ],
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-unsafe-function-type': 'off',
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/only-throw-error': 'error',
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['@copycat/*/src', '@copycat/*/src/*', '@copycat/*/dist/*'],
              message: 'import the package entry point, not its internals',
            },
          ],
        },
      ],
    },
  },
  {
    // Tests may be loose with types of fixtures and mocks.
    files: ['**/test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/unbound-method': 'off',
    },
  },
  {
    files: deterministicFiles,
    rules: {
      'no-restricted-globals': [
        'error',
        { name: 'setTimeout', message: why },
        { name: 'setInterval', message: why },
        { name: 'setImmediate', message: why },
        { name: 'clearTimeout', message: why },
        { name: 'clearInterval', message: why },
        { name: 'performance', message: why },
      ],
      'no-restricted-syntax': [
        'error',
        { selector: "CallExpression[callee.object.name='Date'][callee.property.name='now']", message: why },
        { selector: "NewExpression[callee.name='Date']", message: why },
        {
          selector: "CallExpression[callee.object.name='Math'][callee.property.name='random']",
          message: why,
        },
        { selector: "MemberExpression[object.name='performance'][property.name='now']", message: why },
        {
          selector:
            "MemberExpression[object.name='globalThis'][property.name=/^(setTimeout|setInterval|setImmediate|performance)$/]",
          message: why,
        },
      ],
      'no-restricted-imports': [
        'error',
        {
          paths: [
            'fs',
            'node:fs',
            'fs/promises',
            'node:fs/promises',
            'net',
            'node:net',
            'dgram',
            'node:dgram',
            'http',
            'node:http',
            'timers',
            'node:timers',
            'timers/promises',
            'node:timers/promises',
            'perf_hooks',
            'node:perf_hooks',
          ].map((name) => ({
            name,
            message: 'go through the injected Transport, Storage or Scheduler (design principle 1)',
          })),
          patterns: [
            {
              group: ['@copycat/*/src', '@copycat/*/src/*', '@copycat/*/dist/*'],
              message: 'import the package entry point, not its internals',
            },
          ],
        },
      ],
    },
  },
);
