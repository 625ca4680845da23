/**
 * Browser tests: Debian's Chromium (`apt-get install -y chromium`; `.ci/run` installs it when
 * missing) against a real daemon started from the built CLI (packages/cli/dist) in a temp
 * TINYAGI_HOME with mock agents. `pnpm test` builds first (turbo: tinyoffice#test -> build).
 * The mock agents' runs wait at gates the tests open, not on a clock (test/daemon.ts); axe runs in
 * both themes through one helper, and screenshots are written only with TINYOFFICE_SHOTS=1 (into
 * test-results/shots) or TINYOFFICE_SHOTS=<dir> (test/look.ts).
 */
import { defineConfig } from '@playwright/test';
import { resultsFile } from '../../packages/test-kit/src/test-times.ts';

export const CHROMIUM = process.env['TINYOFFICE_CHROMIUM'] ?? '/usr/bin/chromium';

export default defineConfig({
  testDir: './test',
  testMatch: '*.spec.ts',
  // One daemon per file, driven step by step: no parallel workers on a shared 2-core machine.
  workers: 1,
  fullyParallel: false,
  retries: 0,
  forbidOnly: true,
  // Generous: a loaded machine is slow, and every wait is on a state, not a clock.
  timeout: 120_000,
  expect: { timeout: 30_000 },
  // The JSON report feeds the slowest-files table `pnpm test` prints (packages/test-kit/src/test-times.ts).
  reporter: [[process.env['CI'] ? 'line' : 'list'], ['json', { outputFile: resultsFile() }]],
  globalSetup: './test/global-setup.ts',
  use: {
    browserName: 'chromium',
    viewport: { width: 1280, height: 800 },
    actionTimeout: 30_000,
    navigationTimeout: 30_000,
    launchOptions: {
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-dev-shm-usage'],
    },
  },
});
