/**
 * The Usage page end to end: a real daemon with the mock agents, Debian's Chromium. Empty first;
 * a conversation with the mock agents fills the chart and the tables live (no reload); an agent
 * created through the API with a cost and a daily budget draws its budget line; bucket and group
 * switch; axe checks the page empty and filled, in light and dark (test/look.ts).
 */
import { expect, test, type BrowserContext, type Page } from '@playwright/test';
import { openOffice, type Daemon } from './daemon';
import { look, shot } from './look';

test.describe.configure({ mode: 'serial' });

let daemon: Daemon;
let context: BrowserContext;
let page: Page;

test.beforeAll(async ({ browser }) => {
  ({ daemon, context, page } = await openOffice(browser));
  // The handoff and its answer come at once.
  daemon.openGate('handoff', 'check');
});

test.afterAll(async () => {
  await context?.close();
  await daemon?.cleanup();
});

/** What the API says, fetched by the page itself (same origin, its session cookie). */
async function apiUsage(query: string): Promise<{ rows: Array<{ key: string; runs: number; inputTokens: number; outputTokens: number; costUsd: number }> }> {
  return page.evaluate(async (q) => (await fetch(`/api/usage?${q}`)).json(), query);
}

const totalsRow = (key: string) => page.getByTestId('usage-totals-table').locator(`tr[data-key="${key}"]`);
const chart = () => page.getByTestId('usage-chart');
/** Clicks a segmented option as a user does (its label; the radio inside is visually hidden). */
async function choose(name: string): Promise<void> {
  const radio = page.getByRole('radio', { name, exact: true });
  await radio.locator('xpath=..').click();
  await expect(radio).toBeChecked();
}

test('before any run: an empty state that says what to do', async () => {
  await page.getByRole('link', { name: 'Usage', exact: true }).click();
  await expect(page).toHaveURL(/\/usage\/?$/);
  await expect(page.getByTestId('usage-empty')).toContainText('Usage appears here as soon as an agent finishes a run');
  await expect(page.getByTestId('usage-empty').getByRole('link', { name: 'Chat' })).toBeVisible();
  await look(page, '/usage (empty)');
});

test('a conversation with the mock agents shows up in the chart and the table without a reload', async () => {
  await page.evaluate(() => ((window as unknown as { marker: string }).marker = 'same page'));
  await daemon.cli(['send', '--team', 'dev', '--wait', 'handoff the draft']);
  // The handoff's reviewer run ends after coder's: wait for both in the table.
  await expect(totalsRow('coder')).toBeVisible();
  await expect(totalsRow('reviewer')).toBeVisible();
  const api = await apiUsage('by=agent');
  for (const agent of ['coder', 'reviewer']) {
    const row = api.rows.find((r) => r.key === agent);
    expect(row?.inputTokens).toBeGreaterThan(0);
    await expect(totalsRow(agent).locator('td').nth(1)).toHaveText(row!.inputTokens.toLocaleString('en-US'));
    await expect(totalsRow(agent).locator('td').nth(2)).toHaveText(row!.outputTokens.toLocaleString('en-US'));
  }
  // Mock runs cost nothing: the chart shows tokens, one bar per agent in today's bucket.
  await expect(page.getByRole('radio', { name: 'Tokens' })).toBeChecked();
  await expect(chart()).toHaveAttribute('data-series', /coder/);
  await expect(chart()).toHaveAttribute('data-series', /reviewer/);
  await expect(chart().locator('rect[data-key="coder"]')).toHaveCount(1);
  await expect(chart().locator('rect[data-key="reviewer"]')).toHaveCount(1);
  await expect(chart().getByRole('img')).toHaveAttribute('aria-label', /Tokens per day by agent.*Coder \d/);
  await expect(page.getByTestId('usage-totals')).toContainText('Runs');
  expect(await page.evaluate(() => (window as unknown as { marker?: string }).marker)).toBe('same page');
  await shot(page, 'usage-agents-day');
});

test('an agent with a cost and a daily budget draws its budget line; a top conversation links to its run tree', async () => {
  const created = await page.evaluate(async () => {
    const res = await fetch('/api/agents/accountant', {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        name: 'Accountant',
        provider: 'mock',
        mock: { reply: 'counted', usage: { input_tokens: 1200, output_tokens: 300, cost_usd: 0.04 } },
        budgets: { daily_usd: 0.05, daily_tokens: 5000 },
      }),
    });
    return { status: res.status, created: ((await res.json()) as { created?: boolean }).created };
  });
  expect(created).toEqual({ status: 200, created: true });
  await daemon.cli(['send', '--agent', 'accountant', '--wait', 'count the costs']);
  await expect(totalsRow('accountant').locator('td').nth(3)).toHaveText('$0.04');
  // Something cost money now: the user picks cost and side-by-side bars to see per-agent caps.
  await choose('Cost');
  await choose('Side by side');
  await expect(chart().locator('[data-testid="budget-line"][data-key="accountant"]')).toContainText('Accountant, daily cap $0.05');
  await choose('Tokens');
  await expect(chart().locator('[data-testid="budget-line"][data-key="accountant"]')).toContainText('5,000');
  await choose('Cost');
  await shot(page, 'usage-budget-grouped');

  const top = page.getByTestId('top-conversations').getByRole('link').first();
  await expect(top).toContainText('$0.04');
  await top.click();
  await expect(page).toHaveURL(/\/conversations\/view\?id=conv_/);
  await expect(page.getByTestId('run-tree').locator('[data-agent="accountant"]')).toBeVisible();
  await page.goBack();
  await expect(totalsRow('accountant')).toBeVisible();
});

test('switching bucket and group', async () => {
  await choose('Week');
  await expect(page.getByText('Budgets are daily caps (UTC days): pick Day to see them as lines.')).toBeVisible();
  await expect(chart().locator('[data-testid="budget-line"]')).toHaveCount(0);
  await page.getByText(/rows: every week and agent/).click();
  // A week's label is its Monday.
  const weekLabel = await page.getByTestId('usage-series-table').locator('tbody tr td').first().textContent();
  expect(new Date(`${weekLabel}T00:00:00Z`).getUTCDay()).toBe(1);

  await choose('Month');
  await expect(page.getByTestId('usage-series-table').locator('tbody tr td').first()).toHaveText(/^\d{4}-\d{2}$/);

  await choose('Provider');
  await expect(page.getByRole('heading', { name: 'Totals by provider' })).toBeVisible();
  await expect(totalsRow('mock')).toBeVisible();
  await expect(chart()).toHaveAttribute('data-series', 'mock');

  await choose('Team');
  await expect(totalsRow('dev').locator('th')).toHaveText('Dev');
  await expect(totalsRow('').locator('th')).toHaveText('(no team)');

  await choose('Channel');
  await expect(page.getByRole('heading', { name: 'Totals by channel' })).toBeVisible();
  await expect(page.getByTestId('usage-totals-table').locator('tbody tr')).not.toHaveCount(0);

  // By keyboard: the radio groups move with the arrow keys.
  await page.getByRole('radio', { name: 'Channel' }).focus();
  await page.keyboard.press('ArrowLeft');
  await expect(page.getByRole('radio', { name: 'Provider' })).toBeChecked();
  await expect(chart()).toHaveAttribute('data-series', 'mock');
});

test('axe finds nothing in light and dark; 390 px wide in the dark theme', async () => {
  await choose('Agent');
  await choose('Day');
  await choose('Side by side');
  await expect(chart().locator('[data-testid="budget-line"]').first()).toBeVisible();
  await look(page, '/usage (budget lines)');
  await page.getByRole('button', { name: 'Toggle dark theme' }).click();
  await expect(page.locator('html')).toHaveClass(/dark/);
  await page.setViewportSize({ width: 390, height: 800 });
  await expect(chart().locator('svg')).toHaveAttribute('width', /^\d+$/);
  // Polled: the chart takes its new width from a resize observer after the viewport changes; a
  // measure taken in between (a clean-clone run, 2026-11-26) saw the page still 1247 px wide.
  // Nothing that stays too wide passes: the poll fails with what was wide. What a row that scrolls
  // sideways by design holds (the navigation at phone width) is clipped by it, not wider than the page.
  await expect
    .poll(() =>
      page.evaluate(() => {
        const width = document.documentElement.clientWidth;
        const clipped = (e: Element): boolean => {
          for (let p = e.parentElement; p; p = p.parentElement) {
            if (['auto', 'scroll', 'hidden'].includes(getComputedStyle(p).overflowX) && p.getBoundingClientRect().right <= width + 1) return true;
          }
          return false;
        };
        return {
          overflow: document.documentElement.scrollWidth - width,
          wide: [...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > width + 1 && !clipped(e)).map((e) => `${e.tagName}.${e.className}`.slice(0, 80)),
        };
      }),
    )
    .toEqual({ overflow: 0, wide: [] });
  await shot(page, 'usage-agents-day-dark-390');
  await page.getByRole('button', { name: 'Toggle dark theme' }).click();
  await page.setViewportSize({ width: 1280, height: 800 });
});
