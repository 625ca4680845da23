/**
 * Many tabs, one event stream: a browser allows six HTTP/1.1 connections per host, so a stream
 * per tab left the seventh tab loading forever. Twelve tabs of the office share the leader's
 * stream; closing the leader hands the stream to another tab, which resumes it.
 */
import { expect, test, type BrowserContext, type Page } from '@playwright/test';
import { startDaemon, type Daemon } from './daemon';

test.describe.configure({ mode: 'serial' });

let daemon: Daemon;
let context: BrowserContext;
/** Which tab opened each event stream (GET /api/events), in order. */
const streams: Page[] = [];
const TABS = 12;
const PAGES = ['/', '/chat', '/conversations', '/control'];

test.beforeAll(async ({ browser }) => {
  daemon = await startDaemon();
  context = await browser.newContext();
  context.on('request', (r) => {
    if (new URL(r.url()).pathname === '/api/events') streams.push(r.frame().page());
  });
});

test.afterAll(async () => {
  await context?.close();
  await daemon?.cleanup();
});

const connection = (page: Page) => page.getByTestId('connection');

/** Every tab shows the office's live connection open. */
async function allLive(pages: Page[]): Promise<void> {
  for (const page of pages) await expect(connection(page)).toHaveAttribute('data-state', 'open');
}

/** Sends `text` to coder from the first tab's Chat and waits until every tab's office knows coder is working, then cancels it and waits until each knows it is idle. */
async function everyTabFollows(pages: Page[], text: string): Promise<void> {
  const [chat, ...rest] = pages as [Page, ...Page[]];
  // A click, not a page load: the first tab leads, and a load would hand the stream on.
  await chat.getByRole('link', { name: 'Chat', exact: true }).click();
  await chat.getByLabel('Talk to').selectOption('@coder');
  await chat.getByLabel('Message').fill(text);
  await chat.getByRole('button', { name: 'Send' }).click();
  await expect(chat.getByTestId('chat-progress')).toContainText('coder');
  for (const page of rest) {
    if (new URL(page.url()).pathname !== '/') await page.getByRole('link', { name: 'Office', exact: true }).click();
    await expect(page.locator('[data-agent="coder"]').first()).toHaveAttribute('data-working', 'true');
  }
  const runId = (await daemon.kit.api.status()).orchestrator as { running: Array<{ runId: string }> };
  for (const r of runId.running) await daemon.kit.api.cancelRun({ params: { id: r.runId } });
  for (const page of rest) await expect(page.locator('[data-agent="coder"]').first()).toHaveAttribute('data-working', 'false');
}

test('twelve tabs load and stay live on one event stream; closing the leader hands the stream to another tab', async () => {
  const first = await context.newPage();
  await first.goto(await daemon.loginLink());
  await expect(connection(first)).toHaveAttribute('data-state', 'open');
  const pages = [first];
  for (let i = 1; i < TABS; i++) {
    const page = await context.newPage();
    await page.goto(`${daemon.url}${PAGES[i % PAGES.length]}`);
    pages.push(page);
  }
  // The seventh and later tabs load too (they used to wait for a free connection).
  await allLive(pages);
  await expect(pages[TABS - 1]!.getByRole('heading', { name: 'Live events' })).toBeVisible();
  expect(streams).toHaveLength(1);

  await everyTabFollows(pages, 'slow work, all tabs watch');
  expect(streams).toHaveLength(1);

  // The leader goes: one other tab opens the stream, resuming where the leader was.
  const leader = streams[0]!;
  await leader.close();
  const left = pages.filter((p) => p !== leader);
  await expect.poll(() => streams.length).toBe(2);
  expect(left).toContain(streams[1]);
  await allLive(left);
  await everyTabFollows(left, 'slow work after the leader left');
  expect(streams).toHaveLength(2);

  // The daemon goes away and comes back: every tab says so and recovers, still on one stream.
  await daemon.stop();
  for (const page of left) await expect(connection(page)).toHaveText('reconnecting…');
  await daemon.start();
  await allLive(left);
  expect(new Set(streams.slice(1))).toEqual(new Set([streams[1]]));
  await everyTabFollows(left, 'slow work after a restart');
});

test('without Web Locks (a page that is not a secure context) each tab keeps its own stream and stays live', async ({ browser }) => {
  const insecure = await browser.newContext();
  await insecure.addInitScript(() => Object.defineProperty(Navigator.prototype, 'locks', { get: () => undefined }));
  const own: Page[] = [];
  insecure.on('request', (r) => {
    if (new URL(r.url()).pathname === '/api/events') own.push(r.frame().page());
  });
  const first = await insecure.newPage();
  await first.goto(await daemon.loginLink());
  // Logged in (the session cookie set) before the second tab opens: it was once "You are not logged in" when it raced the login.
  await expect(connection(first)).toHaveAttribute('data-state', 'open');
  const second = await insecure.newPage();
  await second.goto(`${daemon.url}/`);
  await allLive([first, second]);
  expect(new Set(own)).toEqual(new Set([first, second]));
  await insecure.close();
});
