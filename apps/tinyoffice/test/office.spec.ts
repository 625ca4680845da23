/**
 * TinyOffice end to end, as a user drives it: a real daemon with mock agents, Debian's
 * Chromium, the page served by the daemon. One daemon for the file, the steps in order (login
 * first, logout last). Every request the page makes must stay on the daemon's loopback origin.
 */
import { expect, test, type BrowserContext, type Page } from '@playwright/test';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PLANTED_KEY, startDaemon, type Daemon } from './daemon';
import { look, shot } from './look';

test.describe.configure({ mode: 'serial' });

let daemon: Daemon;
let context: BrowserContext;
let page: Page;
const requests: string[] = [];

test.beforeAll(async ({ browser }) => {
  daemon = await startDaemon();
  context = await browser.newContext();
  context.on('request', (r) => requests.push(r.url()));
  page = await context.newPage();
});

test.afterAll(async () => {
  await context?.close();
  await daemon?.cleanup();
});

const tile = (agent: string) => page.locator(`[data-agent="${agent}"]`).first();

/** The line of what was just sent in Chat (history above it has links too). */
const sentLine = (text: string) => page.getByTestId('chat-log').locator('[data-role="user"]').filter({ hasText: text }).last();

test('the one-time link logs in with an HttpOnly, SameSite=Strict cookie and leaves no code behind; a second use is refused', async ({ browser }) => {
  const link = await daemon.loginLink();
  expect(link.startsWith(`${daemon.url}/login#code=`)).toBe(true);
  await page.goto(link);
  await expect(page).toHaveURL(`${daemon.url}/`);
  await expect(page.getByTestId('connection')).toHaveAttribute('data-state', 'open');
  await expect(tile('coder')).toBeVisible();

  const cookies = await context.cookies();
  expect(cookies).toHaveLength(1);
  expect(cookies[0]).toMatchObject({ name: 'tinyagi_session', httpOnly: true, sameSite: 'Strict', path: '/' });
  // The page's scripts cannot read it, and nothing is kept in storage.
  expect(await page.evaluate(() => document.cookie)).toBe('');
  expect(await page.evaluate(() => Object.keys(localStorage).filter((k) => k !== 'tinyoffice-theme'))).toEqual([]);
  // The code is gone from history: going back lands on /login without it.
  const entries = await page.evaluate(() => history.length);
  expect(entries).toBeLessThanOrEqual(2);

  const other = await browser.newContext();
  const second = await other.newPage();
  await second.goto(link);
  await expect(second.getByRole('alert').filter({ hasText: 'already used' })).toBeVisible();
  expect(second.url()).toBe(`${daemon.url}/login`);
  expect(await other.cookies()).toEqual([]);
  await other.close();
});

test('every page passes axe in the light and the dark theme', async () => {
  for (const [path, ready] of [
    ['/', 'Lounge'],
    ['/conversations', 'Conversations'],
    ['/chat', 'Chat'],
    ['/control', 'Dead letters'],
  ] as const) {
    await page.goto(`${daemon.url}${path}`);
    await expect(page.getByRole('heading', { name: new RegExp(ready, 'i') }).first()).toBeVisible();
    await look(page, path);
  }
});

test('a conversation id that does not exist says so, instead of an error over a page that keeps loading', async () => {
  await page.goto(`${daemon.url}/conversations/view?id=conv_does_not_exist`);
  await expect(page.getByText('This conversation does not exist (it may have been purged by retention).')).toBeVisible();
  await expect(page.getByText('Loading…')).toHaveCount(0);
});

test('a message from Chat: the office shows coder working, the handoff live in the office and the run tree, then everyone idle', async () => {
  await page.goto(`${daemon.url}/chat`);
  await page.getByLabel('Talk to').selectOption('#dev');
  await page.getByLabel('Message').fill('handoff the draft');
  await page.getByRole('button', { name: 'Send' }).click();
  // Straight to the run tree of the conversation just started (client-side navigation: the same stream).
  await sentLine('handoff the draft').getByRole('link', { name: 'run tree' }).click();
  const tree = page.getByTestId('run-tree');
  // coder works until its gate opens.
  await expect(tree.locator('[data-agent="coder"]')).toHaveAttribute('data-status', 'running');
  const loadedAt = Number(await tree.getAttribute('data-version'));
  await page.evaluate(() => ((window as unknown as { marker: string }).marker = 'same page'));

  daemon.openGate('handoff');
  const reviewer = tree.locator('[data-agent="reviewer"]');
  await expect(reviewer).toHaveAttribute('data-status', 'running');
  await expect(tree.locator('[data-agent="coder"]')).toHaveAttribute('data-status', 'completed');
  daemon.openGate('check');
  await expect(reviewer).toHaveAttribute('data-status', 'completed');
  await expect(reviewer).toContainText('handoff');
  // Updated by events, not by a reload.
  expect(Number(await tree.getAttribute('data-version'))).toBeGreaterThan(loadedAt);
  expect(await page.evaluate(() => (window as unknown as { marker?: string }).marker)).toBe('same page');
  await expect(page.getByTestId('conversation-status')).toContainText('completed');
  await expect(page.getByTestId('transcript')).toContainText('looks good');
  await look(page, '/conversations/view');

  // The run tree by keyboard (WAI-ARIA tree): the first root is the tab stop, arrows move and fold.
  const coderItem = tree.locator('[role="treeitem"][data-agent="coder"]');
  const reviewerItem = tree.locator('[role="treeitem"][data-agent="reviewer"]');
  await expect(coderItem).toHaveAttribute('tabindex', '0');
  await expect(reviewerItem).toHaveAttribute('tabindex', '-1');
  await coderItem.focus();
  await page.keyboard.press('ArrowDown');
  await expect(reviewerItem).toBeFocused();
  await page.keyboard.press('ArrowLeft');
  await expect(coderItem).toBeFocused();
  await page.keyboard.press('ArrowLeft');
  await expect(coderItem).toHaveAttribute('aria-expanded', 'false');
  await expect(reviewerItem).toHaveCount(0);
  await page.keyboard.press('ArrowRight');
  await expect(coderItem).toHaveAttribute('aria-expanded', 'true');
  await page.keyboard.press('ArrowRight');
  await expect(reviewerItem).toBeFocused();

  // The office: a second handoff, watched from the office this time.
  await page.getByRole('link', { name: 'Office', exact: true }).click();
  await expect(tile('coder')).toHaveAttribute('data-working', 'false');
  daemon.closeGate('handoff', 'check');
  await daemon.cli(['send', '--team', 'dev', 'handoff once more']);
  await expect(tile('coder')).toHaveAttribute('data-working', 'true');
  await expect(page.getByTestId('desks').locator('[data-agent="coder"]')).toBeVisible();
  await shot(page, 'office-working');
  daemon.openGate('handoff');
  await expect(tile('reviewer')).toHaveAttribute('data-working', 'true');
  await expect(page.getByTestId('handoffs')).toContainText('coder → reviewer');
  await expect(tile('coder')).toHaveAttribute('data-working', 'false');
  daemon.openGate('check');
  await expect(tile('reviewer')).toHaveAttribute('data-working', 'false');
  await expect(page.getByTestId('lounge').locator('[data-agent="reviewer"]')).toBeVisible();

  // Click an agent for its live activity.
  await tile('reviewer').click();
  await expect(page.getByRole('region', { name: 'Agent reviewer' })).toContainText('run.completed');
});

test('usable at 390 px wide and in the dark theme', async () => {
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(`${daemon.url}/`);
  await expect(tile('coder')).toBeVisible();
  // Nothing wider than the screen.
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
  await page.getByRole('button', { name: 'Toggle dark theme' }).click();
  await expect(page.locator('html')).toHaveClass(/dark/);
  await look(page, '/ at 390');
  await page.getByRole('button', { name: 'Toggle dark theme' }).click();
  await expect(page.locator('html')).not.toHaveClass(/dark/);
  await page.setViewportSize({ width: 1280, height: 800 });
});

test('Chat shows the reply of an agent', async () => {
  daemon.openGate('quick');
  await page.goto(`${daemon.url}/chat`);
  await page.getByLabel('Talk to').selectOption('@coder');
  await page.getByLabel('Message').fill('quick question');
  await page.getByRole('button', { name: 'Send' }).click();
  await expect(sentLine('quick question')).toBeVisible();
  const bubble = page.getByTestId('chat-log').locator('[data-role="agent"]').filter({ hasText: 'quick done' });
  await expect(bubble).toBeVisible();
  // The bubble names the agent; the platforms' signature line is not repeated under it.
  await expect(bubble).not.toContainText('— @coder');
  await expect(page.getByTestId('chat-progress')).toHaveCount(0);
  await shot(page, 'chat');
});

test('Chat shows live progress; cancel from the run tree stops the run', async () => {
  await page.goto(`${daemon.url}/chat`);
  await page.getByLabel('Talk to').selectOption('@coder');
  await page.getByLabel('Message').fill('slow work that will be cancelled');
  await page.getByRole('button', { name: 'Send' }).click();
  // Live progress while it works (it would take minutes).
  await expect(page.getByTestId('chat-progress')).toContainText('coder: thinking…');
  await sentLine('slow work that will be cancelled').getByRole('link', { name: 'run tree' }).click();
  const row = page.getByTestId('run-tree').locator('[data-agent="coder"]');
  await expect(row).toHaveAttribute('data-status', 'running');
  // A direct message to coder, who is in #dev: the conversation is coder's, not the team's.
  await expect(page.getByText('agent @coder', { exact: true })).toBeVisible();
  // Pause or Resume, whichever applies.
  await expect(row.getByRole('button', { name: 'Resume' })).toHaveCount(0);
  await row.getByRole('button', { name: 'Pause' }).click();
  await expect(row.getByRole('button', { name: 'Resume' })).toBeVisible();
  await expect(row.getByRole('button', { name: 'Pause' })).toHaveCount(0);
  await row.getByRole('button', { name: "Cancel coder's run" }).click();
  await expect(row).toHaveAttribute('data-status', 'cancelled');
  await expect(page.getByTestId('conversation-status')).toContainText('cancelled');
  await page.getByRole('link', { name: 'Office', exact: true }).click();
  await expect(tile('coder')).toHaveAttribute('data-working', 'false');
});

test('a paused run: its desk says paused, live and after a reload; resumed, the live bubble is back', async () => {
  await page.goto(`${daemon.url}/`);
  await expect(tile('coder')).toHaveAttribute('data-working', 'false');
  await daemon.cli(['send', '--agent', 'coder', 'slow work to pause']);
  const desk = page.getByTestId('desks').locator('[data-agent="coder"]');
  await expect(desk.getByTestId('bubble')).toHaveText('thinking…');
  // Paused from the run tree, as a user does it, then back to the office on the same page.
  await desk.click();
  await page.getByRole('region', { name: 'Agent coder' }).getByRole('link', { name: 'this conversation' }).click();
  const row = page.getByTestId('run-tree').locator('[data-agent="coder"]');
  const runId = (await row.getAttribute('data-run')) ?? '';
  await row.getByRole('button', { name: 'Pause' }).click();
  await expect(row.getByRole('button', { name: 'Resume' })).toBeVisible();
  await page.getByRole('link', { name: 'Office', exact: true }).click();
  await expect(desk.getByTestId('bubble')).toHaveText('Paused · resume it from the run tree');
  await expect(desk).toHaveAttribute('data-paused', 'true');
  await expect(page.getByRole('heading', { name: 'Desks · 0 working · 1 paused' })).toBeVisible();
  await desk.click();
  await expect(page.getByTestId('agent-state')).toContainText('Paused on this conversation (its run started');
  await look(page, '/ (a run paused)');
  // A fresh load knows it too (GET /api/status lists the paused runs).
  await page.reload();
  await expect(desk.getByTestId('bubble')).toHaveText('Paused · resume it from the run tree');
  // Resumed elsewhere (the API, as the CLI would): the desk follows live.
  await daemon.kit.api.steerRun({ params: { id: runId }, body: { command: 'resume' } });
  await expect(desk.getByTestId('bubble')).toHaveText('working…');
  await expect(desk).toHaveAttribute('data-paused', 'false');
  await expect(page.getByRole('heading', { name: 'Desks · 1 working' })).toBeVisible();
  await daemon.kit.api.cancelRun({ params: { id: runId } });
  await expect(tile('coder')).toHaveAttribute('data-working', 'false');
});

test('a dead letter is retried from Control', async () => {
  await daemon.cli(['send', '--agent', 'coder', 'broken request']);
  await page.goto(`${daemon.url}/control`);
  const item = page.getByTestId('dead-letters').locator('li').filter({ hasText: 'broken request' });
  await expect(item).toBeVisible();
  const deaths = page.getByTestId('feed').getByText('queue.dead');
  const before = await deaths.count();
  await item.getByRole('button', { name: 'Retry' }).click();
  // It runs again (and, scripted to fail, dies again: one more queue.dead in the live feed).
  await expect(deaths).toHaveCount(before + 1);
  await expect(item).toBeVisible();
  // The daemon log follows by itself (no Refresh): the second dead letter's line appears, in view at the bottom.
  const log = page.getByTestId('daemon-log');
  await expect.poll(async () => ((await log.textContent()) ?? '').split('dead letter for @coder').length - 1, { timeout: 20_000 }).toBeGreaterThanOrEqual(2);
  expect(await log.evaluate((el) => el.scrollHeight - el.scrollTop - el.clientHeight)).toBeLessThan(8);
  await shot(page, 'control');
  await item.getByRole('button', { name: 'Delete' }).click();
  await expect(page.getByTestId('dead-letters')).toHaveCount(0);
});

test('Control lists providers with their keys masked; the key itself never reaches the page', async () => {
  const bodies: string[] = [];
  const collect = (r: import('@playwright/test').Response) =>
    void r.text().then(
      (t) => bodies.push(t),
      () => {},
    );
  page.on('response', collect);
  await page.goto(`${daemon.url}/control`);
  const providers = page.getByRole('region', { name: 'Providers' });
  await expect(providers).toContainText('anthropic');
  await expect(providers).toContainText('XYZW');
  expect(await page.content()).not.toContain(PLANTED_KEY);
  page.off('response', collect);
  expect(bodies.length).toBeGreaterThan(0);
  expect(bodies.filter((b) => b.includes(PLANTED_KEY))).toEqual([]);
});

test('a pairing request shows a badge and is approved', async () => {
  const token = readFileSync(join(daemon.home, 'api-token'), 'utf8').trim();
  const res = await fetch(`${daemon.url}/api/pairing/request`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ channel: 'telegram', senderId: 'u-42', sender: 'Grace' }),
  });
  expect(res.ok).toBe(true);
  const panel = page.getByRole('region', { name: 'Pairing requests' });
  await expect(panel).toContainText('Grace on telegram');
  await expect(panel.getByText('1', { exact: true })).toBeVisible();
  await panel.getByRole('button', { name: 'Approve' }).click();
  await expect(panel).toContainText('No one is waiting for approval.');
  expect(await daemon.cli(['pairing', 'list'])).toContain('Grace');
});

test('Control shows the WhatsApp QR code from its login state and follows the channel when it links', async () => {
  // The state file the WhatsApp channel process writes; no real WhatsApp connection is made.
  const dir = join(daemon.home, 'channels', 'whatsapp');
  mkdirSync(dir, { recursive: true });
  const plant = (state: object) => writeFileSync(join(dir, 'state.json'), JSON.stringify({ ...state, at: Date.now() }));
  plant({ state: 'qr', qr: '2@tinyoffice-e2e-qr,AbCdEf0123456789==,x' });
  await page.goto(`${daemon.url}/control`);
  await expect(page.getByRole('heading', { name: 'Channels' })).toBeVisible();
  await api('PATCH', '/api/settings', { channels: { enabled: ['whatsapp'] } });
  await expect(page.getByRole('region', { name: 'Channels' })).toContainText(/whatsapp\s*connecting/);
  const login = page.getByTestId('whatsapp-login');
  await expect(login).toHaveAttribute('data-state', 'qr');
  const qr = login.getByRole('img', { name: 'WhatsApp login QR code' });
  await expect(qr).toBeVisible();
  expect(await qr.locator('path').getAttribute('d')).toMatch(/^M\d+ \d+h1v1h-1z/);
  await shot(page, 'whatsapp-qr');
  // Linked: the next channel.status event for whatsapp makes the page read the state again.
  plant({ state: 'open' });
  await api('POST', '/api/channels/whatsapp/restart');
  await expect(login).toHaveAttribute('data-state', 'open');
  await expect(login).toContainText('WhatsApp is linked.');
  await expect(login.getByRole('img')).toHaveCount(0);
  await api('PATCH', '/api/settings', { channels: { enabled: [] } });
  // A channel the user disabled is drawn as disabled, not as a failure.
  await expect(page.getByTestId('channel-state-whatsapp')).toHaveText('disabled');
});

test("the Office page shows a channel's state in the words of every surface: a bot token Telegram refused is rejected, with the fix", async () => {
  await page.goto(daemon.url);
  await expect(page.getByRole('region', { name: 'Channels' })).toBeVisible();
  // The stand-in runner says what the real one says of a refused token (test/fixtures/channel-runner.mjs).
  await api('PATCH', '/api/settings', { channels: { enabled: ['telegram'], telegram: { bot_token: '123456:refused-token' } } });
  await expect(page.getByTestId('office-channel-state-telegram')).toHaveText('rejected');
  await expect(page.getByRole('region', { name: 'Channels' })).toContainText('Telegram rejected the bot token (getMe answered 401: Unauthorized); set the right one');
  await api('PATCH', '/api/settings', { channels: { enabled: [] } });
  await expect(page.getByTestId('office-channel-state-telegram')).toHaveText('disabled');
});

/** A request to the daemon with its API token, as the CLI makes it; fails the test on a non-2xx. */
async function api(method: string, path: string, body?: object): Promise<void> {
  const token = readFileSync(join(daemon.home, 'api-token'), 'utf8').trim();
  const res = await fetch(`${daemon.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  expect(res.ok, `${method} ${path}: ${res.status} ${await res.text()}`).toBe(true);
}

test('the daemon stops: the page shows reconnecting; it comes back: the page recovers without a reload', async () => {
  await page.goto(`${daemon.url}/`);
  await expect(page.getByTestId('connection')).toHaveAttribute('data-state', 'open');
  await page.evaluate(() => ((window as unknown as { marker: string }).marker = 'same page'));
  await daemon.stop();
  await expect(page.getByTestId('connection')).toHaveText('reconnecting…');
  await expect(page.getByTestId('reconnect-banner')).toContainText('tinyagi start');
  await shot(page, 'reconnecting');
  await daemon.start();
  await expect(page.getByTestId('connection')).toHaveAttribute('data-state', 'open');
  await expect(page.getByTestId('reconnect-banner')).toHaveCount(0);
  expect(await page.evaluate(() => (window as unknown as { marker?: string }).marker)).toBe('same page');
  // Live data flows again on the same page.
  daemon.closeGate('quick');
  await daemon.cli(['send', '--agent', 'coder', 'quick one after the restart']);
  await expect(tile('coder')).toHaveAttribute('data-working', 'true');
  daemon.openGate('quick');
  await expect(tile('coder')).toHaveAttribute('data-working', 'false');
});

test('logout ends the session on the server; the page says how to log in again', async () => {
  await page.getByRole('button', { name: 'Log out' }).click();
  await expect(page).toHaveURL(`${daemon.url}/login`);
  await expect(page.getByText('Run tinyagi office in a terminal')).toBeVisible();
  expect(await context.cookies()).toEqual([]);
  await page.goto(`${daemon.url}/`);
  await expect(page.getByRole('heading', { name: 'You are not logged in' })).toBeVisible();
});

test('no request left the daemon origin', () => {
  expect(requests.length).toBeGreaterThan(10);
  expect(requests.filter((url) => !url.startsWith(`${daemon.url}/`))).toEqual([]);
});
