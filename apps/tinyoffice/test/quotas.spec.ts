/**
 * The rate-limit banner (docs/quotas.md): when an agent's runtime
 * says its account is exhausted (the mock runtime's scripted quota report), every page shows which
 * agents wait, for which limit and until when, as the event arrives; it goes once the reset passed
 * and the daemon released the hold. A daemon of its own.
 */
import { expect, test } from '@playwright/test';
import { createDaemon, type TestDaemon } from '@tinyagi/test-kit';
import { CHANNEL_RUNNER } from './daemon.ts';

/**
 * The hold's length: the checks made while it holds (from the send to the second page's banner)
 * took under 1 s at a load average of 16 on 2 cores; 10 s leaves them ten times that.
 */
const RESET_MS = 10_000;
let daemon: TestDaemon;

test.beforeAll(async () => {
  daemon = await createDaemon({
    prefix: 'tinyoffice-quota-',
    env: { TINYAGI_CHANNEL_RUNNER: CHANNEL_RUNNER },
    settings: ({ root }) => ({
      workspace: { path: `${root}/workspace` },
      channels: { enabled: [] },
      agents: {
        coder: {
          provider: 'mock',
          mock: { account: 'team-login', replies: [{ match: 'LIMIT', quota: { status: 'exhausted', resets_in_ms: RESET_MS, limit: 'five_hour' }, fail: 'rate_limited' }] },
        },
        reviewer: { provider: 'mock', mock: { account: 'team-login' } },
      },
    }),
  });
  await daemon.start();
});

test.afterAll(async () => {
  await daemon?.cleanup();
});

test('a held account is a banner on every page until its reset', async ({ page }) => {
  const out = await daemon.cliOk(['office', '--no-open'], { timeoutMs: 90_000 });
  const link = /http:\/\/\S+\/login#code=\S+/.exec(out)?.[0];
  expect(link).toBeDefined();
  await page.goto(link!);
  await expect(page.getByTestId('connection')).toHaveAttribute('data-state', 'open');
  await expect(page.getByTestId('quota-banner')).toHaveCount(0);

  const sent = await daemon.api.sendMessage({ body: { agent: 'coder', message: 'LIMIT please' } });
  const banner = page.getByTestId('quota-banner');
  await expect(banner).toBeVisible();
  await daemon.api.cancelMessage({ params: { id: sent.messageId } });
  await expect(banner).toContainText('Rate limited');
  await expect(banner.getByRole('listitem')).toHaveCount(1);
  await expect(banner.getByRole('listitem')).toContainText(/mock · [0-9a-f]{12} \(five_hour\): @coder, @reviewer, until .* \(in \d+s\)/);

  // Another page shows it too (the frame's banner, fetched on load).
  await page.getByRole('link', { name: 'Agents' }).click();
  await expect(page.getByTestId('quota-banner')).toBeVisible();

  // Gone after the reset.
  await expect(page.getByTestId('quota-banner')).toHaveCount(0, { timeout: RESET_MS + 30_000 });
  expect((await daemon.api.listQuotas()).holds).toEqual([]);
});
