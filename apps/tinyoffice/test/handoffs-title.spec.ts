/**
 * What was there before the page opened: the office's Handoffs panel starts with the earlier
 * handoffs (GET /api/handoffs), in every tab and again after a reconnect, each handoff once even
 * when it is listed and also seen live; a conversation's page is titled by the conversation.
 */
import { expect, test, type BrowserContext, type Page } from '@playwright/test';
import { openOffice, type Daemon } from './daemon';
import { look } from './look';

// Each test stands on its own (a failure starts a fresh worker and daemon; the rest still run).
test.describe.configure({ mode: 'default' });

let daemon: Daemon;
let context: BrowserContext;
let page: Page;

test.beforeAll(async ({ browser }) => {
  ({ daemon, context, page } = await openOffice(browser));
  // Handoffs and their answers come at once.
  daemon.openGate('handoff', 'check');
});

test.afterAll(async () => {
  await context?.close();
  await daemon?.cleanup();
});

/** Sends coder work that it hands to reviewer, and waits until the daemon lists that handoff. */
async function handOff(message: string): Promise<string> {
  const before = (await daemon.kit.api.listHandoffs()).length;
  const sent = await daemon.kit.api.sendMessage({ body: { agent: 'coder', message } });
  await expect.poll(async () => (await daemon.kit.api.listHandoffs()).length, { timeout: 60_000 }).toBe(before + 1);
  return sent.conversationId;
}

const handoffs = (p: Page) => p.getByTestId('handoffs').getByRole('listitem');

test('the Handoffs panel starts with the earlier handoffs; a live one is added once, and a reconnect or another tab lists each once', async () => {
  const first = await handOff('handoff the first draft');
  await page.reload();
  await expect(page.getByTestId('connection')).toHaveAttribute('data-state', 'open');
  // Before: "No handoffs yet." although the daemon had one.
  await expect(handoffs(page)).toHaveCount(1);
  await expect(handoffs(page).first().getByRole('link')).toHaveText('coder → reviewer');
  await expect(handoffs(page).first().getByRole('link')).toHaveAttribute('href', `/conversations/view?id=${encodeURIComponent(first)}`);

  // A live handoff joins the list (newest first), and the earlier one stays.
  const second = await handOff('handoff the second draft');
  await expect(handoffs(page)).toHaveCount(2);
  await expect(handoffs(page).first().getByRole('link')).toHaveAttribute('href', `/conversations/view?id=${encodeURIComponent(second)}`);

  // Another tab (it follows this tab's stream) loads its own list: the same two.
  const other = await context.newPage();
  await other.goto(daemon.url);
  await expect(other.getByTestId('connection')).toHaveAttribute('data-state', 'open');
  await expect(handoffs(other)).toHaveCount(2);

  // The daemon restarts: after the reconnect both tabs load the list again, and still show each handoff once.
  await daemon.stop();
  await expect(page.getByTestId('connection')).toHaveText('reconnecting…');
  await daemon.start();
  for (const p of [page, other]) {
    await expect(p.getByTestId('connection')).toHaveAttribute('data-state', 'open');
    await expect(handoffs(p)).toHaveCount(2);
  }
  const third = await handOff('handoff the third draft');
  for (const p of [page, other]) {
    await expect(handoffs(p)).toHaveCount(3);
    await expect(handoffs(p).first().getByRole('link')).toHaveAttribute('href', `/conversations/view?id=${encodeURIComponent(third)}`);
  }
  await other.close();

  // The panel with its list, at 1280 and 390 px, light and dark.
  await look(page, '/ (handoffs)', { widths: [1280, 390] });
});

test('a conversation’s page is titled by the conversation, not only “Conversations”', async () => {
  const sent = await daemon.kit.api.sendMessage({ body: { agent: 'reviewer', message: 'Title me by this' } });
  await page.goto(`${daemon.url}/conversations/view?id=${encodeURIComponent(sent.conversationId)}`);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Title me by this');
  await expect(page).toHaveTitle('Title me by this · Conversations · TinyOffice');
  // Back on the list, the section's title again.
  await page.getByRole('link', { name: 'Conversations', exact: true }).click();
  await expect(page).toHaveTitle('Conversations · TinyOffice');
});
