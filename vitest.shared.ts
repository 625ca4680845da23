import { defineConfig } from 'vitest/config';
import { resultsFile } from './test-results.ts';

// One vitest configuration for every package. Workspace packages resolve to their TypeScript
// sources (the `tinyagi-source` export condition) so tests need no build; Vite reads client and
// SSR conditions separately, hence both. Each run also writes vitest's JSON report to
// .test-results/ (test-results.ts), from which `pnpm test` prints the slowest files.
//
// `isolate: false`: a worker runs test file after test file in one module cache instead of a new
// process per file (docs/testing.md, "Test files share a worker process"). It cut the CPU of teams' tests from 49 s to 15 s
// and server's from 85 s to 52 s: most of a file's cost was loading our modules again. The price is
// a rule for test helpers: nothing at a helper module's top level that belongs to one file (hooks,
// pools, servers); a helper registers its hooks when a file calls it.
export default defineConfig({
  resolve: { conditions: ['tinyagi-source'] },
  ssr: { resolve: { conditions: ['tinyagi-source'], externalConditions: ['tinyagi-source'] } },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    isolate: false,
    reporters: ['default', 'json'],
    outputFile: { json: resultsFile() },
  },
});
