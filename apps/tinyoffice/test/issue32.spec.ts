/**
 * Issue 32 as a person meets it, against a real daemon (test/daemon.ts): login links that cannot
 * be used say why (and a logged-in browser goes to the office), an invalid Settings save says how
 * many problems and moves focus to the first with the summary in view beside it, the phone width of Projects, Teams and Agents,
 * titles, headings, the skip link and the theme's pressed state, the kanban's announcements, the
 * Schedules page (next run, run now, history) and the Logs page (level, search, download). axe
 * checks every changed page in both themes (test/look.ts).
 */
import { expect, test, type BrowserContext, type Locator, type Page } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openOffice, type Daemon } from './daemon';
import { look, shot } from './look';

// Each test stands on its own (a failure starts a fresh worker and daemon; the rest still run).
test.describe.configure({ mode: 'default' });

let daemon: Daemon;
let context: BrowserContext;
let page: Page;

test.beforeAll(async ({ browser }) => {
  ({ daemon, context, page } = await openOffice(browser));
  // The quick replies come at once.
  daemon.openGate('quick');
});

test.afterAll(async () => {
  await context?.close();
  await daemon?.cleanup();
});

const pageWidth = () => page.evaluate(() => document.documentElement.scrollWidth);

/** The element is on screen and nothing (a sticky header or save bar) covers its middle. */
async function uncovered(target: Locator): Promise<boolean> {
  return target.evaluate((el) => {
    const r = el.getBoundingClientRect();
    if (r.top < 0 || r.bottom > window.innerHeight) return false;
    const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
    return hit !== null && (hit === el || el.contains(hit));
  });
}

test('login links: used, expired-or-unknown and malformed links each say why in plain words; a logged-in browser goes straight to the office', async ({ browser }) => {
  const other = await browser.newContext();
  const p = await other.newPage();
  try {
    const link = await daemon.loginLink();
    const code = new URL(link).hash.slice('#code='.length);

    // Cut short when copied.
    await p.goto(`${daemon.url}/login#code=${code.slice(0, 20)}`);
    await expect(p.getByTestId('login-reason')).toHaveAttribute('data-reason', 'malformed');
    await expect(p.getByRole('heading', { level: 1 })).toHaveText('This login link is incomplete');
    expect(await p.locator('main').textContent()).not.toContain('`');
    await look(p, '/login malformed');

    // Well-formed, but not one this daemon made (or it restarted since). (A new load: a link opens a page.)
    await p.goto('about:blank');
    await p.goto(`${daemon.url}/login#code=${'A'.repeat(32)}`);
    await expect(p.getByTestId('login-reason')).toHaveAttribute('data-reason', 'unknown');
    await expect(p.getByRole('heading', { level: 1 })).toHaveText('This login link is not from this daemon');

    // The logged-in browser opens a fresh link: straight to the office, and the link is not spent.
    await page.goto(link);
    await expect(page).toHaveURL(`${daemon.url}/`);
    await expect(page.getByTestId('connection')).toHaveAttribute('data-state', 'open');
    await page.goto(`${daemon.url}/login`);
    await expect(page).toHaveURL(`${daemon.url}/`);

    // So the other browser can still use it, once; the second time it was used.
    await p.goto('about:blank');
    await p.goto(link);
    await expect(p).toHaveURL(`${daemon.url}/`);
    const third = await browser.newContext();
    const q = await third.newPage();
    await q.goto(link);
    await expect(q.getByTestId('login-reason')).toHaveAttribute('data-reason', 'used');
    await expect(q.getByTestId('login-reason')).toHaveText('This link was already used: each link logs in one browser, once.');
    expect(await q.locator('main').textContent()).not.toContain('`');
    expect(await q.title()).toBe('Log in · TinyOffice');
    await shot(q, 'login-used');
    await third.close();
  } finally {
    await other.close();
  }
});

test('an invalid Settings save says how many problems, links each to its field and moves focus to the first, clear of the sticky bars', async () => {
  await page.goto(`${daemon.url}/settings`);
  const form = page.getByRole('form', { name: 'Settings' });
  await expect(form.getByLabel('Heartbeat interval', { exact: true })).toBeVisible();
  await form.getByLabel('Anthropic › Model', { exact: true }).fill('two words');
  await form.getByLabel('Heartbeat interval', { exact: true }).fill('-3');
  await form.locator('[data-field="server.port"] input').fill('70000');
  await form.locator('[data-field="queue.max_attempts"] input').fill('0');
  // Save from the sticky bar at the bottom, as a person at the end of the form would.
  await form.getByRole('button', { name: 'Save settings' }).click();

  const summary = page.getByTestId('problem-summary');
  await expect(summary).toContainText('4 problems stop this save');
  const links = summary.getByRole('link');
  await expect(links).toHaveText(['models.anthropic.model', 'monitoring.heartbeat_interval', 'server.port', 'queue.max_attempts']);
  const first = form.getByLabel('Anthropic › Model', { exact: true });
  await expect(first).toBeFocused();
  expect(await uncovered(first)).toBe(true);
  // The summary is in view beside the focused field (in the sticky save bar).
  await expect(summary).toBeInViewport();
  expect(await uncovered(summary)).toBe(true);
  await look(page, '/settings (refused save)');

  // Each link moves focus to its field, in view and not behind the save bar.
  await page.keyboard.press('End');
  await links.nth(3).click();
  const attempts = form.locator('[data-field="queue.max_attempts"] input');
  await expect(attempts).toBeFocused();
  expect(await uncovered(attempts)).toBe(true);
  await links.nth(1).click();
  await expect(form.getByLabel('Heartbeat interval', { exact: true })).toBeFocused();
  expect(await uncovered(form.getByLabel('Heartbeat interval', { exact: true }))).toBe(true);
  expect(JSON.parse(readFileSync(join(daemon.home, 'settings.json'), 'utf8')).server?.port).toBeUndefined();
  await form.getByRole('button', { name: 'Discard changes' }).click();
  await expect(summary).toHaveCount(0);

  // Custom providers have no page of their own: no pointer to one that does not exist.
  const custom = page.getByRole('region', { name: 'Custom providers' });
  await expect(custom).not.toContainText('Control');
  await expect(custom).toContainText('tinyagi provider add');
});

test("a refused save whose problems are far down the form: focus on the first problem's field and the summary of all of them in view with it, each linked to its field", async () => {
  await page.goto(`${daemon.url}/settings`);
  const form = page.getByRole('form', { name: 'Settings' });
  const port = form.locator('[data-field="server.port"] input');
  const attempts = form.locator('[data-field="queue.max_attempts"] input');
  const heartbeat = form.getByLabel('Heartbeat interval', { exact: true });
  const summary = page.getByRole('alert').filter({ hasText: '3 problems stop this save' });
  const refuseASave = async () => {
    await port.fill('70000');
    await attempts.fill('0');
    await heartbeat.fill('-3');
    await form.getByRole('button', { name: 'Save settings' }).click();
    await expect(summary).toHaveCount(1);
    await expect(heartbeat).toBeFocused();
    expect(await uncovered(heartbeat)).toBe(true);
    // What stops the save is in view with the field, not only at the top of a long page.
    await expect(summary).toBeInViewport();
    expect(await uncovered(summary)).toBe(true);
  };
  await expect(port).toBeVisible();
  await refuseASave();
  await expect(summary.getByRole('listitem')).toHaveText([/^monitoring\.heartbeat_interval: /, /^server\.port: /, /^queue\.max_attempts: /]);
  await shot(page, 'settings-refused-far-down');
  await look(page, '/settings (refused save, far down)', { widths: [1280, 390] });
  // Each link moves focus to its field, the summary still in view.
  await summary.getByRole('link', { name: 'queue.max_attempts' }).click();
  await expect(attempts).toBeFocused();
  expect(await uncovered(attempts)).toBe(true);
  await expect(summary).toBeInViewport();
  await form.getByRole('button', { name: 'Discard changes' }).click();
  await expect(summary).toHaveCount(0);

  // On a phone the same.
  await page.setViewportSize({ width: 390, height: 800 });
  try {
    await refuseASave();
    await summary.getByRole('link', { name: 'server.port' }).click();
    await expect(port).toBeFocused();
    expect(await uncovered(port)).toBe(true);
    await expect(summary).toBeInViewport();
    await shot(page, 'settings-refused-390');
    await form.getByRole('button', { name: 'Discard changes' }).click();
    await expect(summary).toHaveCount(0);
  } finally {
    await page.setViewportSize({ width: 1280, height: 800 });
  }
});

test('raw JSON problems are a list screen readers read as one (axe listitem)', async () => {
  await page.goto(`${daemon.url}/settings`);
  await page.getByRole('button', { name: 'Raw JSON', exact: true }).click();
  const editor = page.getByLabel('settings.json', { exact: true });
  const current = await page.evaluate(async () => (await fetch('/api/settings')).json());
  await editor.fill(JSON.stringify({ ...current, queue: { concurrency: -1 } }, null, 2));
  await page.getByRole('button', { name: 'Save JSON' }).click();
  await expect(page.getByTestId('raw-problems')).toContainText('queue.concurrency');
  await look(page, '/settings raw (problems)');
});

test('Usage points to the Budgets form, not to settings.json', async () => {
  // One finished run, so that Usage has a chart (and its budget note).
  const sent = await daemon.kit.api.sendMessage({ body: { message: 'quick one', agent: 'coder' } });
  await expect.poll(async () => (await daemon.kit.api.getMessage({ params: { id: sent.messageId } })).message.status).toBe('completed');
  await page.goto(`${daemon.url}/usage`);
  await expect(page.getByRole('heading', { name: 'Usage', level: 1 })).toBeVisible();
  const link = page.getByRole('link', { name: 'Settings › Budgets' });
  await expect(link).toBeVisible();
  await expect(page.getByText(/settings\.json under budgets/)).toHaveCount(0);
  await link.click();
  await expect(page).toHaveURL(`${daemon.url}/settings#section-budgets`);
  const budgets = page.getByRole('region', { name: 'Budgets' });
  await expect(budgets).toBeInViewport();
  await expect(budgets.locator('input, select').first()).toBeFocused();
});

test('every page has its own title and one h1; the theme toggle says whether it is pressed; a skip link leads to the main content', async () => {
  // (axe's full check, titles, headings and lists included, runs on each of these pages where its
  // spec fills it: office, agents-settings, teams-projects, usage and the tests below.)
  const titles = new Map<string, string>();
  for (const path of ['/', '/conversations', '/chat', '/memory', '/agents', '/teams', '/projects', '/schedules', '/usage', '/logs', '/control', '/settings']) {
    await page.goto(`${daemon.url}${path}`);
    await expect(page.getByTestId('connection')).toHaveAttribute('data-state', 'open');
    await expect(page.getByRole('heading', { level: 1 })).toHaveCount(1);
    const title = await page.title();
    expect(title.trim()).not.toBe('');
    titles.set(path, title);
  }
  expect(new Set(titles.values()).size).toBe(titles.size);
  expect(titles.get('/agents')).toBe('Agents · TinyOffice');
  await page.goto(`${daemon.url}/agents/view?id=coder`);
  await expect(page).toHaveTitle('@coder · Agents · TinyOffice');

  const toggle = page.getByRole('button', { name: 'Toggle dark theme' });
  await expect(toggle).toHaveAttribute('aria-pressed', 'false');
  await toggle.click();
  await expect(toggle).toHaveAttribute('aria-pressed', 'true');
  await toggle.click();
  await expect(toggle).toHaveAttribute('aria-pressed', 'false');

  // The first Tab stop skips the navigation: Enter, then Tab lands in the page's content.
  await page.goto(`${daemon.url}/agents`);
  await expect(page.getByTestId('agents-table')).toBeVisible();
  await page.keyboard.press('Tab');
  const skip = page.getByRole('link', { name: 'Skip to main content' });
  await expect(skip).toBeFocused();
  await expect(skip).toBeInViewport();
  await page.keyboard.press('Enter');
  await expect(page.locator('main')).toBeFocused();
  await page.keyboard.press('Tab');
  await expect(page.getByRole('button', { name: 'New agent' })).toBeFocused();
});

test('390 px: the Agents table keeps Status and Heartbeat in view; Teams offers a readable list; the org chart has zoom and fit controls', async () => {
  await page.goto(`${daemon.url}/teams`);
  await expect(page.getByTestId('org-chart').locator('.react-flow__controls')).toBeVisible();
  await expect(page.getByRole('button', { name: /zoom in/i })).toBeVisible();
  await expect(page.getByRole('button', { name: /fit view/i })).toBeVisible();

  await page.setViewportSize({ width: 390, height: 800 });
  await page.goto(`${daemon.url}/teams`);
  const list = page.getByTestId('org-list');
  await expect(list).toBeVisible();
  await expect(list.locator('[data-team-list="dev"] [data-agent="coder"]')).toContainText('leader');
  await expect(page.getByRole('button', { name: 'List' })).toHaveAttribute('aria-pressed', 'true');
  // The list is the chart: its "Teams" menus work there too.
  await list.getByRole('button', { name: 'Teams of @coder (in #dev)' }).click();
  await expect(page.getByRole('menu', { name: 'Teams of @coder' })).toBeVisible();
  await page.keyboard.press('Escape');
  expect(await pageWidth()).toBeLessThanOrEqual(390);
  await look(page, '/teams (390, list)');

  await page.goto(`${daemon.url}/agents`);
  const table = page.getByTestId('agents-table');
  await expect(table.locator('[data-agent-row="coder"]')).toBeVisible();
  for (const cell of [table.locator('[data-agent-status="coder"]'), table.locator('[data-agent-heartbeat="coder"]')]) {
    const box = (await cell.boundingBox())!;
    expect(box.x + box.width).toBeLessThanOrEqual(390);
  }
  expect(await table.evaluate((t) => t.parentElement!.scrollWidth <= t.parentElement!.clientWidth)).toBe(true);
  expect(await pageWidth()).toBeLessThanOrEqual(390);
  await look(page, '/agents (390)');
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.goto(`${daemon.url}/teams`);
  await expect(page.getByTestId('org-chart').locator('[data-agent="coder"]')).toBeVisible();
  await look(page, '/teams (chart)');
});

test('Projects at 390 px: no sideways page, every kanban column reachable; drag announcements name the task, and its conversation is titled by it', async () => {
  for (const [title, status] of [
    ['Write the landing page', 'backlog'],
    ['Fix the login bug', 'todo'],
    ['Review the API', 'review'],
    ['Ship 1.0', 'done'],
  ] as const) {
    await daemon.kit.api.createTask({ body: { title, status, assigneeAgent: 'coder' } });
  }
  await page.setViewportSize({ width: 390, height: 800 });
  await page.goto(`${daemon.url}/projects`);
  const kanban = page.getByTestId('kanban');
  await expect(kanban.locator('[data-column="done"]')).toContainText('Ship 1.0');
  expect(await pageWidth()).toBeLessThanOrEqual(390);
  // Stacked: no column hides sideways inside the board (before, 2 of 5 were in view).
  expect(await kanban.evaluate((k) => k.scrollWidth <= k.clientWidth)).toBe(true);
  for (const status of ['backlog', 'todo', 'in_progress', 'review', 'done']) {
    const column = kanban.locator(`[data-column="${status}"]`);
    await column.scrollIntoViewIfNeeded();
    await expect(column).toBeInViewport({ ratio: 0.5 });
    const box = (await column.boundingBox())!;
    expect(box.x).toBeGreaterThanOrEqual(0);
    expect(box.x + box.width).toBeLessThanOrEqual(390);
  }
  // The column links jump to a column further down.
  await page.getByRole('navigation', { name: 'Columns' }).getByRole('link', { name: /Done/ }).click();
  await expect(kanban.locator('[data-column="done"]')).toBeInViewport();
  // A task opened (its detail beside the board on a wide screen) keeps the page within the phone too.
  await kanban.getByRole('button', { name: /Ship 1\.0/ }).click();
  await expect(page).toHaveURL(/task=/);
  await expect(page.getByTestId('task-detail')).toBeVisible();
  expect(await pageWidth()).toBeLessThanOrEqual(390);
  await page.goto(`${daemon.url}/projects`);
  await expect(kanban.locator('[data-column="done"]')).toContainText('Ship 1.0');
  await look(page, '/projects (390)');
  await page.setViewportSize({ width: 1280, height: 800 });
  await look(page, '/projects');

  // Keyboard drag: what a screen reader hears names the task and the column, never its id.
  const card = kanban.locator('[data-column="todo"] li').filter({ hasText: 'Fix the login bug' });
  const id = (await card.getAttribute('data-task'))!;
  await card.getByRole('button', { name: /^Move / }).focus();
  await page.keyboard.press('Space');
  const live = page.locator('[id^="DndLiveRegion"]');
  await expect(live).toContainText('Fix the login bug');
  await expect(live).toContainText('To do');
  // Under load the first move can land on the card's own column again (dnd-kit measures the
  // columns a frame late after the resize): move right only while it is not in In progress yet.
  await expect(async () => {
    if (!(await live.textContent())?.includes('In progress')) await page.keyboard.press('ArrowRight');
    await expect(live).toContainText('In progress', { timeout: 3_000 });
  }).toPass({ timeout: 30_000 });
  await page.keyboard.press('Space');
  await expect(live).toContainText('Dropped');
  expect(await live.textContent()).not.toContain(id);
  await expect(kanban.locator('[data-column="in_progress"]')).toContainText('Fix the login bug');
  const conversation = kanban.locator('[data-column="in_progress"] li').filter({ hasText: 'Fix the login bug' }).getByTestId('task-conversation');
  await conversation.click();
  await expect(page.getByRole('heading', { level: 1 })).toContainText('Fix the login bug');
  await expect(page.getByRole('heading', { level: 1 })).not.toContainText('[task:');
});

test('Schedules: every schedule in one place with its next run; Run now sends it and the history links the conversation', async () => {
  const standup = await daemon.kit.api.createSchedule({ body: { label: 'standup', agent: 'coder', message: 'quick status please', cron: '0 9 * * 1-5', timezone: 'Asia/Tokyo' } });
  await daemon.kit.api.createSchedule({ body: { label: 'weekly-review', team: 'dev', message: 'weekly review', cron: '0 16 * * 5', timezone: 'UTC' } });
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Schedules' }).click();
  await expect(page).toHaveTitle('Schedules · TinyOffice');
  const item = page.locator('[data-schedule="standup"]');
  await expect(item).toContainText('@coder');
  await expect(page.locator('[data-schedule="weekly-review"]')).toContainText('#dev');
  const tokyo = new Intl.DateTimeFormat('en-GB', {
    timeZone: 'Asia/Tokyo',
    weekday: 'short',
    year: 'numeric',
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
    timeZoneName: 'short',
  });
  await expect(item.getByTestId('next-run')).toHaveText(tokyo.format(new Date(standup.nextRunAt!)));

  await item.getByRole('button', { name: 'History of standup' }).click();
  await expect(item.getByRole('region', { name: 'History of standup' })).toContainText('has not run yet');
  await item.getByRole('button', { name: 'Run now: standup' }).click();
  await expect(item.getByRole('status').filter({ hasText: 'Sent standup now.' })).toBeVisible();
  const firing = item.getByTestId('schedule-history').locator('li');
  await expect(firing).toHaveCount(1);
  await expect(firing).toHaveAttribute('data-firing', 'manual');
  await expect(firing).toContainText('run by hand');
  await expect(firing.getByText('completed')).toBeVisible();
  // Its timing did not move.
  expect((await daemon.kit.api.getSchedule({ params: { id: 'standup' } })).nextRunAt).toBe(standup.nextRunAt);
  await look(page, '/schedules');

  await item.getByRole('button', { name: 'Disable standup' }).click();
  await expect(item.getByTestId('next-run')).toHaveText('none (disabled or finished)');
  await firing.getByRole('link').click();
  await expect(page).toHaveURL(/\/conversations\/view\?id=conv_/);
  await expect(page.getByRole('heading', { level: 1 })).toContainText('quick status please');
});

test('Logs: the daemon log with a level filter, a search and a download of what is shown', async () => {
  // A dead letter writes a warning to the daemon log.
  await daemon.kit.api.sendMessage({ body: { message: 'broken on purpose', agent: 'coder' } });
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Logs' }).click();
  await expect(page.getByRole('heading', { name: 'Logs', level: 1 })).toBeVisible();
  const lines = page.getByTestId('log-lines').locator('li');
  await expect(lines.first()).toBeVisible();
  await expect
    .poll(async () => {
      await page.getByRole('button', { name: 'Refresh' }).click();
      return page.getByTestId('log-lines').locator('li[data-level="warn"]').count();
    })
    .toBeGreaterThan(0);
  const all = await lines.count();
  await page.getByLabel('Level').selectOption('warn');
  await expect(lines.first()).toHaveAttribute('data-level', /warn|error/);
  expect(await lines.count()).toBeLessThan(all);
  for (const level of await lines.evaluateAll((items) => items.map((i) => i.getAttribute('data-level')))) expect(['warn', 'error']).toContain(level);

  await page.getByLabel('Level').selectOption('debug');
  await page.getByLabel('Search').fill('dead letter');
  await expect(lines.first()).toContainText('dead letter');
  const shown = await lines.allInnerTexts();
  expect(shown.every((t) => t.toLowerCase().includes('dead letter'))).toBe(true);
  await expect(page.getByTestId('log-count')).toContainText(`${shown.length} of `);

  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download' }).click()]);
  expect(download.suggestedFilename()).toMatch(/^tinyagi-daemon-.*\.log$/);
  const file = readFileSync((await download.path())!, 'utf8');
  expect(file.trimEnd().split('\n')).toEqual(shown);
  await look(page, '/logs');
});
