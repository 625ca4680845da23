/**
 * Issue 32 as a person meets it: chat history after a reload with every bubble's author, what an
 * agent is doing (and stopping it) from the chat, a tag not delivered, failures that stay visible until seen, dead
 * letters with their reason and conversation, elapsed times that tick, the conversations' agent
 * filter and filters in the URL, a confirmed cancel, and a chat error that goes once the
 * daemon is back. axe checks each changed page at 1280 and 390 px in both themes (test/look.ts).
 */
import { expect, test, type BrowserContext, type Page } from '@playwright/test';
import { SETTINGS, openOffice, type Daemon } from './daemon';
import { look as lookAt } from './look';

test.describe.configure({ mode: 'serial' });

/** A message long enough that the old dead-letter line cut it (at 100 characters, mid-word). */
const LONG_BROKEN = `broken on purpose: ${'a rather long explanation of what should have happened here, '.repeat(3)}and its last words`;

let daemon: Daemon;
let context: BrowserContext;
let page: Page;

test.beforeAll(async ({ browser }) => {
  ({ daemon, context, page } = await openOffice(browser, {
    settings: (root) => {
      const settings = SETTINGS(root);
      const coder = settings.agents.coder.mock;
      // Reports what it does, as an agent CLI streams its tool use, then works until cancelled.
      // Tags an agent that does not exist: the tag is not delivered.
      coder.replies.unshift({ match: 'stray tag', reply: 'Asking around. [@ghost: are you there?]' } as never);
      coder.replies.unshift({ match: 'work on the app', progress: [{ status: 'running tests' }, { tool: 'Edit', input: { file_path: 'src/app.ts' } }], gate: 'never', reply: 'never' } as never);
      return settings;
    },
  }));
  // The handoff and the quick replies come at once; "work on the app" and "slow" work until cancelled.
  daemon.openGate('handoff', 'check', 'quick');
});

test.afterAll(async () => {
  await context?.close();
  await daemon?.cleanup();
});

const tile = (agent: string) => page.locator(`[data-agent="${agent}"]`).first();
const bubbles = (role: string) => page.getByTestId('chat-log').locator(`[data-role="${role}"]`);

/** axe at 1280 and 390 px, light and dark. */
const look = (name: string) => lookAt(page, name, { widths: [1280, 390] });

async function chatTo(target: string): Promise<void> {
  await page.getByRole('link', { name: 'Chat', exact: true }).click();
  await page.getByLabel('Talk to').selectOption(target);
}

async function say(text: string): Promise<void> {
  await page.getByLabel('Message').fill(text);
  await page.getByRole('button', { name: 'Send' }).click();
}

test("a team's and an agent's chat history is there after a reload, and every bubble says who wrote it", async () => {
  await chatTo('#dev');
  await say('handoff the draft');
  await expect(bubbles('agent').filter({ hasText: 'looks good' })).toBeVisible();
  // Live: the handoff is drawn as one, between the two agents.
  await expect(bubbles('handoff').filter({ hasText: 'Handoff from @coder to @reviewer' }).first()).toBeVisible();

  await page.reload();
  await chatTo('#dev');
  await expect(bubbles('user').filter({ hasText: 'handoff the draft' })).toContainText('You');
  await expect(bubbles('agent').filter({ hasText: 'Drafted it.' })).toContainText('@coder');
  await expect(bubbles('handoff').filter({ hasText: 'please check the draft' })).toContainText('Handoff from @coder to @reviewer');
  await expect(bubbles('agent').filter({ hasText: 'looks good' })).toContainText('@reviewer');
  await look('chat-team-history');
  // A message to the team from elsewhere shows up live, saying who sent it, and so does its answer.
  await daemon.kit.api.sendMessage({ body: { message: 'quick check from alice', team: 'dev', channel: 'api', sender: 'alice', senderId: 'alice' } });
  await expect(bubbles('user').filter({ hasText: 'quick check from alice' })).toContainText('alice on api');
  await expect(bubbles('agent').filter({ hasText: 'quick done' })).toContainText('@coder');
  await expect(bubbles('user').filter({ hasText: 'quick check from alice' })).toHaveCount(1);

  // In reviewer's own chat, coder's handoff is coder's, not the person's.
  await page.getByLabel('Talk to').selectOption('@reviewer');
  await expect(bubbles('handoff').filter({ hasText: 'please check the draft' })).toContainText('Handoff from @coder to @reviewer');
  await expect(bubbles('user')).toHaveCount(0);
  await expect(bubbles('agent').filter({ hasText: 'looks good' })).toContainText('@reviewer');
  // The same panel is the agent page's Chat tab.
  await page.goto(`${daemon.url}/agents/view?id=reviewer&tab=chat`);
  await expect(bubbles('handoff').filter({ hasText: 'please check the draft' })).toContainText('Handoff from @coder to @reviewer');
  await look('agent-chat');
});

test('a tag that was not delivered is a notice of its own in the chat, saying why', async () => {
  await chatTo('#dev');
  await say('stray tag');
  await expect(bubbles('notice').filter({ hasText: "@coder's message to @ghost was not delivered: there is no agent with that id." })).toContainText('Not delivered');
});

test('the chat shows what the agent is doing from the event stream, and stops it', async () => {
  await chatTo('@coder');
  await say('work on the app');
  const doing = page.getByTestId('chat-progress').filter({ hasText: 'coder' });
  await expect(doing.getByTestId('chat-doing')).toHaveText('editing src/app.ts');
  // The office's bubble says the same.
  await look('chat-progress');
  // After a reload the chat still knows coder works on it, and can stop it.
  await page.reload();
  await chatTo('@coder');
  await expect(doing).toContainText('coder: working…');
  await doing.getByRole('button', { name: 'Stop @coder' }).click();
  await expect(page.getByTestId('chat-progress')).toHaveCount(0);
  await expect(bubbles('notice').filter({ hasText: 'The conversation cancelled' })).toBeVisible();
});

test('elapsed time of a running run keeps ticking (run tree, Control); cancelling the conversation asks first', async () => {
  await chatTo('@coder');
  await say('slow work to watch the clock');
  await bubbles('user').filter({ hasText: 'slow work to watch the clock' }).getByRole('link', { name: 'run tree' }).click();
  const row = page.getByTestId('run-tree').locator('[data-agent="coder"]');
  await expect(row).toHaveAttribute('data-status', 'running');
  // The row's "depth 0 · 3.2 s · 0 tok · $0": its time must move while nothing else happens.
  const elapsed = row.locator('span', { hasText: /^depth \d+ · / }).first();
  const first = await elapsed.textContent();
  await expect.poll(() => elapsed.textContent(), { timeout: 10_000 }).not.toBe(first);
  await look('conversation-running');

  await page.getByRole('link', { name: 'Control', exact: true }).click();
  const runningFor = page.getByTestId('running-for').first();
  const then = await runningFor.textContent();
  await expect.poll(() => runningFor.textContent(), { timeout: 10_000 }).not.toBe(then);
  await page.goBack();

  // Dismissed: nothing happens. Confirmed: cancelled.
  page.once('dialog', (d) => void d.dismiss());
  await page.getByRole('button', { name: 'Cancel conversation' }).click();
  await expect(page.getByTestId('conversation-status')).toContainText('active');
  await expect(row).toHaveAttribute('data-status', 'running');
  let asked = '';
  page.once('dialog', (d) => {
    asked = d.message();
    void d.accept();
  });
  await page.getByRole('button', { name: 'Cancel conversation' }).click();
  await expect(page.getByTestId('conversation-status')).toContainText('cancelled');
  expect(asked).toContain('Cancel this conversation?');
});

test('a failed agent stays failed in the office until dismissed; its dead letter shows the reason, the whole text and the conversation', async () => {
  await page.getByRole('link', { name: 'Office', exact: true }).click();
  const sent = await daemon.kit.api.sendMessage({ body: { message: LONG_BROKEN, agent: 'coder', channel: 'api', sender: 'tester', senderId: 'tester' } });
  await expect(tile('coder')).toHaveAttribute('data-failed', 'true');
  const failure = page.getByTestId('failure');
  await expect(failure).toContainText('scripted permanent failure');
  await expect(failure.getByRole('link', { name: 'Open the conversation' })).toHaveAttribute('href', new RegExp(sent.conversationId));
  // Other work comes and goes; the failure is still there (it used to go within ~150 ms).
  await daemon.kit.api.sendMessage({ body: { message: 'anything', agent: 'reviewer', channel: 'api', sender: 'tester', senderId: 'tester' } });
  await expect(page.getByTestId('queue').getByText('done').locator('..').locator('dd')).not.toHaveText('0');
  await expect(tile('coder')).toHaveAttribute('data-failed', 'true');
  await expect(page.getByRole('heading', { name: /Lounge · \d+ idle · 1 failed/ })).toBeVisible();
  await look('office-failed');

  await page.getByRole('link', { name: 'Control', exact: true }).click();
  const letter = page.getByTestId('dead-letters').locator('li').filter({ hasText: 'its last words' });
  await expect(letter.getByTestId('dead-reason')).toContainText('scripted permanent failure');
  await expect(letter.getByTestId('dead-content')).toHaveText(LONG_BROKEN);
  await expect(letter.getByRole('link', { name: 'Open the conversation' })).toHaveAttribute('href', new RegExp(sent.conversationId));
  await look('control-dead-letters');

  // Not seen yet: still there after a reload. Dismissed: gone, also after a reload.
  await page.goto(`${daemon.url}/`);
  await expect(tile('coder')).toHaveAttribute('data-failed', 'true');
  await expect(page.getByTestId('failure')).toContainText('scripted permanent failure');
  await page.getByRole('button', { name: "Dismiss Coder's failure" }).click();
  await expect(tile('coder')).toHaveAttribute('data-failed', 'false');
  await expect(page.getByTestId('failure')).toHaveCount(0);
  await page.reload();
  await expect(tile('coder')).toBeVisible();
  await expect(page.getByTestId('connection')).toHaveAttribute('data-state', 'open');
  await expect(tile('coder')).toHaveAttribute('data-failed', 'false');
});

test('the Agent filter finds conversations any agent worked in; the filters are in the URL and survive a reload', async () => {
  await page.getByRole('link', { name: 'Conversations', exact: true }).click();
  await page.getByLabel('Agent').selectOption('reviewer');
  await expect(page).toHaveURL(/agent=reviewer/);
  const list = page.getByTestId('conversation-list');
  // The #dev conversation started with coder; reviewer worked in it through the handoff.
  await expect(list.getByText('handoff the draft')).toBeVisible();
  await expect(page.getByLabel('Agent')).toHaveValue('reviewer');
  await expect(list.getByText('work on the app')).toHaveCount(0);
  await page.getByLabel('Search').fill('draft');
  await expect(page).toHaveURL(/q=draft/);
  await page.reload();
  await expect(page.getByLabel('Agent')).toHaveValue('reviewer');
  await expect(page.getByLabel('Search')).toHaveValue('draft');
  await expect(list.locator('li')).toHaveCount(1);
  await look('conversations-filtered');
});

test('the chat\'s "cannot reach the server" goes once the daemon is back', async () => {
  await chatTo('@coder');
  await daemon.stop();
  await expect(page.getByTestId('connection')).toHaveText('reconnecting…');
  await say('quick, while it is down');
  await expect(page.getByText(/Cannot reach the TinyAGI server/)).toBeVisible();
  await daemon.start();
  await expect(page.getByTestId('connection')).toHaveAttribute('data-state', 'open');
  await expect(page.getByText(/Cannot reach the TinyAGI server/)).toHaveCount(0);
  // What was typed is still there to send again.
  await expect(page.getByLabel('Message')).toHaveValue('quick, while it is down');
});
