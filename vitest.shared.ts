// Shared vitest settings for every package: tests run on sources (no build needed) by mapping
// each `@copycat/<name>` import to `packages/<name>/src/index.ts`.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineProject, type UserWorkspaceConfig } from 'vitest/config';

const root = path.dirname(fileURLToPath(import.meta.url));

export function packageTestConfig(overrides: UserWorkspaceConfig['test'] = {}): UserWorkspaceConfig {
  return defineProject({
    resolve: {
      alias: [{ find: /^@copycat\/([a-z-]+)$/, replacement: path.join(root, 'packages/$1/src/index.ts') }],
    },
    test: {
      include: ['test/**/*.test.ts'],
      testTimeout: 30_000,
      hookTimeout: 30_000,
      ...overrides,
    },
  });
}
