import { defineConfig } from 'vitest/config';

// Workspace packages resolve to their TypeScript sources (the `tinyagi-source` export
// condition); Vite reads client and SSR conditions separately.
export default defineConfig({
  resolve: { conditions: ['tinyagi-source'] },
  ssr: { resolve: { conditions: ['tinyagi-source'], externalConditions: ['tinyagi-source'] } },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
