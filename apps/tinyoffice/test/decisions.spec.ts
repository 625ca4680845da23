/**
 * A conversation that waits for the person's decision: a ping-pong team whose guard holds the
 * third handoff (ping_pong_max 2). The conversation page shows it live, and Continue / Stop
 * answer that conversation (by its id, whichever others wait); a decision taken elsewhere (the
 * CLI) updates the page too. One daemon for the file, the steps in order.
 */
import { expect, test, type BrowserContext, type Page } from '@playwright/test';
import { SETTINGS, startDaemon, type Daemon } from './daemon';
import { look } from './look';

test.describe.configure({ mode: 'serial' });

/** p1 and p2 hand the work back and forth; p1's second turn waits at gate `round-two`, so a page can open before the guard holds its handoff. */
function settings(root: string): Record<string, unknown> {
  const base = SETTINGS(root);
  return {
    ...base,
    agents: {
      ...base.agents,
      p1: {
        name: 'Ping',
        provider: 'mock',
        mock: {
          reply: 'p1 here',
          replies: [
            { match: 'round two', gate: 'round-two', reply: 'Third. [@p2: round three]' },
            { match: 'ping-pong', reply: 'First. [@p2: round one]' },
          ],
        },
      },
      p2: {
        name: 'Pong',
        provider: 'mock',
        mock: {
          reply: 'p2 here',
          replies: [
            { match: 'round three', reply: 'All done here.' },
            { match: 'round one', reply: 'Second. [@p1: round two]' },
          ],
        },
      },
    },
    teams: { ...base.teams, pp: { name: 'Ping-pong', agents: ['p1', 'p2'], leader_agent: 'p1', limits: { ping_pong_max: 2 } } },
  };
}

const HELD_NOTE = 'A guard held back a handoff from @p1 to @p2: two agents have passed the work back and forth 2 times without new input from you (ping_pong).';

let daemon: Daemon;
let context: BrowserContext;
let page: Page;

test.beforeAll(async ({ browser }) => {
  daemon = await startDaemon({ settings });
  context = await browser.newContext();
  page = await context.newPage();
  await page.goto(await daemon.loginLink());
  await expect(page).toHaveURL(`${daemon.url}/`);
});

test.afterAll(async () => {
  await context?.close();
  await daemon?.cleanup();
});

const banner = () => page.getByTestId('decision-banner');
const tree = () => page.getByTestId('run-tree');

/** Starts the ping-pong from the CLI (sender `cli`); resolves with the conversation id. */
async function startFromCli(text: string): Promise<string> {
  const sent = JSON.parse(await daemon.cli(['send', '--team', 'pp', '--json', text])) as { conversationId: string };
  return sent.conversationId;
}

test('a handoff held by a guard shows live on the conversation page with the guard’s note; Continue delivers it and the banner goes away', async () => {
  await page.goto(`${daemon.url}/chat`);
  await page.getByLabel('Talk to').selectOption('#pp');
  await page.getByLabel('Message').fill('start the ping-pong');
  await page.getByRole('button', { name: 'Send' }).click();
  await page.getByTestId('chat-log').locator('[data-role="user"]').filter({ hasText: 'start the ping-pong' }).last().getByRole('link', { name: 'run tree' }).click();
  // p1's second turn is running: nothing waits yet.
  const p1 = tree().locator('[data-agent="p1"]');
  await expect(p1).toHaveCount(2);
  await expect(p1.nth(1)).toHaveAttribute('data-status', 'running');
  await expect(banner()).toHaveCount(0);
  await page.evaluate(() => ((window as unknown as { marker: string }).marker = 'same page'));

  // Its handoff back to p2 is held: the banner appears without a reload, with what the guard said.
  // (The gate stays open: the later conversations reach the guard at once.)
  daemon.openGate('round-two');
  await expect(banner()).toBeVisible();
  await expect(banner().getByRole('heading', { name: 'Waiting for your decision' })).toBeVisible();
  await expect(page.getByTestId('decision-note')).toHaveText(HELD_NOTE);
  await expect(page.getByTestId('conversation-status')).toHaveText('waiting');
  await look(page, '/conversations/view (waiting for a decision)');

  // A request that fails says so in plain words; the conversation still waits.
  await page.route('**/api/conversations/*/answer', (route) => route.abort('connectionrefused'));
  await banner().getByRole('button', { name: 'Continue' }).click();
  await expect(banner().getByRole('alert')).toContainText('Continue was not sent: Cannot reach the TinyAGI server');
  await expect(banner().getByRole('alert')).toContainText('The conversation still waits for your decision; try again.');
  await page.unroute('**/api/conversations/*/answer');

  await banner().getByRole('button', { name: 'Continue' }).click();
  await expect(banner()).toHaveCount(0);
  await expect(page.getByTestId('decision-reply')).toHaveText('Limits raised to 2× for this conversation; 1 held message delivered.');
  // The held handoff reaches p2, who finishes; nothing waits any more.
  const p2 = tree().locator('[data-agent="p2"]');
  await expect(p2).toHaveCount(2);
  await expect(p2.nth(1)).toHaveAttribute('data-status', 'completed');
  await expect(page.getByTestId('transcript')).toContainText('All done here.');
  await expect(page.getByTestId('conversation-status')).toContainText('completed');
  await expect(banner()).toHaveCount(0);
  expect(await page.evaluate(() => (window as unknown as { marker?: string }).marker)).toBe('same page');
});

test('Stop ends the waiting conversation it is on, whichever others wait; a stop sent from the CLI clears the banner and the waiting list live', async () => {
  const older = await startFromCli('start the ping-pong, older');
  const newer = await startFromCli('start the ping-pong, newer');
  await page.goto(`${daemon.url}/conversations/view?id=${newer}`);
  await expect(banner()).toBeVisible();
  await page.goto(`${daemon.url}/conversations/view?id=${older}`);
  await expect(banner()).toBeVisible();
  // The list says which conversations wait, not that they completed.
  await page.goto(`${daemon.url}/conversations`);
  for (const id of [older, newer]) await expect(page.locator(`a[href="/conversations/view?id=${id}"]`)).toContainText('waiting');
  // …and can show only those.
  await page.getByLabel('Status').selectOption('waiting');
  await expect(page.locator('a[href^="/conversations/view?id="]')).toHaveCount(2);
  // Opened after the guard fired (a fresh page has seen none of its events): the note is what the
  // daemon told the person, without the "Reply `continue`" line the buttons replace.
  await page.goto(`${daemon.url}/conversations/view?id=${older}`);
  await expect(page.getByTestId('decision-note')).toHaveText(/^I held back a message from @p1:\s+- handoff to @p2: two agents have passed the work back and forth 2 times without new input from you$/);

  // The older one is stopped, though a newer one of the same sender also waits…
  await banner().getByRole('button', { name: 'Stop' }).click();
  await expect(banner()).toHaveCount(0);
  await expect(page.getByTestId('conversation-status')).toContainText('stopped');
  await expect(page.getByTestId('decision-reply')).toHaveText('Stopped. 0 outstanding runs cancelled.');
  // …which still waits, for its own decision.
  await page.goto(`${daemon.url}/conversations/view?id=${newer}`);
  await expect(banner()).toBeVisible();
  await banner().getByRole('button', { name: 'Stop' }).click();
  await expect(banner()).toHaveCount(0);
  await expect(page.getByTestId('conversation-status')).toContainText('stopped');

  // Decided in a terminal while the page is open: the page follows without a reload.
  const third = await startFromCli('start the ping-pong, third');
  await page.goto(`${daemon.url}/conversations/view?id=${third}`);
  await expect(banner()).toBeVisible();
  await page.evaluate(() => ((window as unknown as { marker: string }).marker = 'same page'));
  expect(await daemon.cli(['send', '--team', 'pp', 'stop'])).toContain('Stopped.');
  await expect(banner()).toHaveCount(0);
  await expect(page.getByTestId('conversation-status')).toContainText('stopped');
  expect(await page.evaluate(() => (window as unknown as { marker?: string }).marker)).toBe('same page');

  // The list filtered to `waiting` follows holds and decisions live, too.
  await page.goto(`${daemon.url}/conversations`);
  await page.getByLabel('Status').selectOption('waiting');
  await expect(page.getByText('No conversations match')).toBeVisible();
  const fourth = await startFromCli('start the ping-pong, fourth');
  await expect(page.locator(`a[href="/conversations/view?id=${fourth}"]`)).toContainText('waiting');
  expect(await daemon.cli(['send', '--team', 'pp', 'stop'])).toContain('Stopped.');
  await expect(page.locator(`a[href="/conversations/view?id=${fourth}"]`)).toHaveCount(0);
});
