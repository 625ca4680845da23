/**
 * Live activity in TinyOffice, against a real daemon whose mock agent streams what a coding CLI
 * does (a plan, tool calls with ids, kinds and titles, their results, per-call usage) and then
 * stays in its last tool call: Chat says which tool runs; the run tree shows the running call in
 * the run's row and, in a keyboard-operable disclosure, the plan and every call (done, failed with
 * its output, running); the office desk shows the running call and the plan, and the agent's
 * detail lists the plan's steps. axe checks each view (test/look.ts).
 */
import { expect, test, type BrowserContext, type Page } from '@playwright/test';
import { openOffice, SETTINGS, type Daemon } from './daemon';
import { look, shot } from './look';

test.describe.configure({ mode: 'serial' });

let daemon: Daemon;
let context: BrowserContext;
let page: Page;

const settings = (root: string) => {
  const base = SETTINGS(root);
  return {
    ...base,
    agents: {
      ...base.agents,
      fixer: {
        name: 'Fixer',
        provider: 'mock',
        mock: {
          reply: 'fixed',
          replies: [
            {
              match: 'fix the parser',
              progress: [
                {
                  plan: [
                    { text: 'reproduce the bug', status: 'completed' },
                    { text: 'fix the parser', status: 'in_progress' },
                    { text: 'run the tests', status: 'pending' },
                  ],
                },
                { tool: 'Read', id: 'call-1', kind: 'file_read', title: 'src/parser.ts' },
                { tool_result: 'Read', id: 'call-1', ok: true, output: 'export function parse() {}' },
                { tool: 'Bash', id: 'call-2', kind: 'command', title: 'npm test' },
                { usage: { input_tokens: 1200, output_tokens: 40, cache_read_tokens: 1000, model: 'mock-1' } },
                { tool_result: 'Bash', id: 'call-2', ok: false, output: 'FAIL parser.test.ts\n  expected 2, got 3' },
                { tool: 'Edit', id: 'call-3', kind: 'file_edit', title: 'src/parser.ts' },
              ],
              // Stays in the Edit call until cancelled (a gate nobody opens).
              gate: 'never',
            },
          ],
        },
      },
    },
  };
};

test.beforeAll(async ({ browser }) => {
  ({ daemon, context, page } = await openOffice(browser, { settings }));
});

test.afterAll(async () => {
  await context?.close();
  await daemon?.cleanup();
});

let conversationId = '';

test('Chat: what the agent does now is the tool call it runs, by its title', async () => {
  await page.goto(`${daemon.url}/chat`);
  await page.getByLabel('Talk to').selectOption('@fixer');
  await page.getByLabel('Message').fill('please fix the parser');
  await page.getByRole('button', { name: 'Send' }).click();
  await expect(page.getByTestId('chat-doing')).toContainText('Edit: src/parser.ts');
  await shot(page, 'chat-doing');
  const [conversation] = await daemon.kit.api.listConversations({ query: { limit: 1 } });
  conversationId = conversation!.id;
  // To its run tree in the same tab (client-side: the tab's event stream and feed go on).
  await page.getByTestId('chat-log').locator('[data-role="user"]').filter({ hasText: 'please fix the parser' }).last().getByRole('link', { name: 'run tree' }).click();
  await expect(page).toHaveURL(/\/conversations\/view\?id=/);
});

test('the run tree: the running call in the row; plan and calls in a disclosure the keyboard opens and closes', async () => {
  const row = page.getByTestId('run-tree').locator('[data-agent="fixer"]').first();
  await expect(row).toHaveAttribute('data-status', 'running');
  // The events from before the page opened come from the tab's feed.
  await expect(row.getByTestId('current-tool')).toHaveText(/Edit: src\/parser\.ts/);
  const activity = row.getByTestId('run-activity');
  await expect(activity).toHaveAttribute('open', '');
  await expect(activity.locator('summary')).toHaveText('Activity of fixer: 3 tool calls · plan 1/3: fix the parser · 1 model call, 1000 tokens from cache');
  const plan = activity.getByRole('list', { name: "Plan of fixer's run" });
  await expect(plan.getByRole('listitem')).toHaveText(['✓ reproduce the bug (completed)', '▸ fix the parser (in progress)', '· run the tests (pending)']);
  const calls = activity.getByRole('list', { name: "Tool calls of fixer's run" }).getByRole('listitem');
  await expect(calls).toHaveCount(3);
  await expect(calls.nth(0)).toHaveAttribute('data-state', 'done');
  await expect(calls.nth(0)).toContainText('Read src/parser.ts');
  await expect(calls.nth(1)).toHaveAttribute('data-state', 'failed');
  await expect(calls.nth(1)).toContainText('FAIL parser.test.ts');
  await expect(calls.nth(2)).toHaveAttribute('data-state', 'running');
  await expect(calls.nth(2)).toContainText('Edit src/parser.ts');
  await look(page, 'run tree with activity');

  // Keyboard: Tab reaches the summary; Enter closes and opens it.
  const summary = activity.locator('summary');
  await summary.focus();
  await expect(summary).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(activity).not.toHaveAttribute('open', '');
  await expect(plan).toBeHidden();
  await page.keyboard.press('Enter');
  await expect(plan).toBeVisible();

  // 390 px wide: nothing wider than the screen, still readable in both themes (axe's contrast).
  await page.setViewportSize({ width: 390, height: 844 });
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
  await look(page, 'run tree with activity');
  await page.setViewportSize({ width: 1280, height: 800 });
});

test('the office: the desk shows the running call and the plan; the agent detail lists the steps', async () => {
  await page.getByRole('link', { name: 'Office', exact: true }).click();
  const tile = page.locator('[data-agent="fixer"]').first();
  await expect(tile).toHaveAttribute('data-working', 'true');
  await expect(tile.getByTestId('desk-tool')).toHaveText(/Edit: src\/parser\.ts/);
  await expect(tile.getByTestId('desk-plan')).toHaveText('plan 1/3: fix the parser');
  await expect(tile.getByTestId('bubble')).toContainText('Edit: src/parser.ts');
  await shot(page, 'office-desk');
  // Keyboard: the tile is a button; Enter opens the agent's detail.
  await tile.focus();
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('agent-tool')).toHaveText('Running Edit: src/parser.ts');
  await expect(page.getByRole('list', { name: "fixer's plan" }).getByRole('listitem')).toHaveText(['✓ reproduce the bug (completed)', '▸ fix the parser (in progress)', '· run the tests (pending)']);
  await look(page, 'office with the agent detail');
  await daemon.kit.cliOk(['cancel', conversationId]);
  await expect(tile).toHaveAttribute('data-working', 'false');
  await expect(tile.getByTestId('desk-tool')).toHaveCount(0);
});
