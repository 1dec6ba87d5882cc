import { defineConfig } from 'vitest/config';

// One run over every package and tool; each folder's own vitest.config.ts defines its project.
export default defineConfig({
  test: {
    projects: ['packages/*', 'tools/*'],
  },
});
