import { defineConfig } from 'vitest/config';
import { resultsFile } from './test-results.ts';

// One vitest configuration for every package. Workspace packages resolve to their TypeScript
// sources (the `tinyagi-source` export condition) so tests need no build; Vite reads client and
// SSR conditions separately, hence both. Each run also writes vitest's JSON report to
// .test-results/ (test-results.ts), from which `pnpm test` prints the slowest files.
export default defineConfig({
  resolve: { conditions: ['tinyagi-source'] },
  ssr: { resolve: { conditions: ['tinyagi-source'], externalConditions: ['tinyagi-source'] } },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    reporters: ['default', 'json'],
    outputFile: { json: resultsFile() },
  },
});
