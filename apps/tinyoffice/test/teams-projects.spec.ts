/**
 * TinyOffice teams, org chart, chat rooms, projects and the kanban, as a user drives them: a real
 * daemon with mock agents (test/daemon.ts), Debian's Chromium, the page served by the daemon.
 * Everything this file needs beyond the shared settings (team qa, agent writer, team solo) is
 * created through the UI or the API here. axe checks each view in both themes (test/look.ts).
 */
import { expect, test, type Locator, type Page } from '@playwright/test';
import { type ApiClient, createApiClient } from '@tinyagi/client';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon, type Daemon } from './daemon';
import { look, shot } from './look';

test.describe.configure({ mode: 'serial' });

let daemon: Daemon;
let page: Page;
let client: ApiClient;

test.beforeAll(async ({ browser }) => {
  daemon = await startDaemon();
  client = createApiClient({ baseUrl: daemon.url, token: readFileSync(join(daemon.home, 'api-token'), 'utf8').trim() });
  page = await (await browser.newContext()).newPage();
  await page.goto(await daemon.loginLink());
  await expect(page.getByTestId('connection')).toHaveAttribute('data-state', 'open');
});

test.afterAll(async () => {
  await page?.context().close();
  await daemon?.cleanup();
});

/** Drags with real mouse moves in small steps (what React Flow and dnd-kit listen to). */
async function mouseDrag(from: Locator, to: Locator, toOffset: { x: number; y: number } = { x: 0, y: 0 }): Promise<void> {
  await from.scrollIntoViewIfNeeded();
  const a = (await from.boundingBox())!;
  const b = (await to.boundingBox())!;
  await page.mouse.move(a.x + a.width / 2, a.y + a.height / 2);
  await page.mouse.down();
  await page.mouse.move(a.x + a.width / 2 + 8, a.y + a.height / 2 + 8, { steps: 4 });
  await page.mouse.move(b.x + b.width / 2 + toOffset.x, b.y + b.height / 2 + toOffset.y, { steps: 20 });
  await page.mouse.move(b.x + b.width / 2 + toOffset.x + 2, b.y + b.height / 2 + toOffset.y + 2, { steps: 2 });
  await page.mouse.up();
}

const teamMembers = async (id: string) => (await client.getTeam({ params: { id } })).agents ?? [];

test('a team with a leader who is not a member gets a field error; fixed, it is saved and the CLI lists it', async () => {
  await page.getByRole('link', { name: 'Teams', exact: true }).click();
  await expect(page.getByRole('heading', { name: 'Teams', exact: true })).toBeVisible();
  await page.getByRole('button', { name: 'New team' }).click();
  const form = page.getByRole('form', { name: 'New team' });
  await form.getByLabel('Team id').fill('qa');
  await form.getByLabel('Name').fill('QA');
  // Nothing chosen: the API's schema refuses the empty member list, next to the field.
  await form.getByRole('button', { name: 'Create team' }).click();
  await expect(form.locator('[data-field-error="agents"]')).toBeVisible();
  // A leader who is not a member: the server's rule, shown on the leader field.
  await form.getByRole('checkbox', { name: '@reviewer' }).check();
  await form.getByLabel('Leader (must be a member)').selectOption('coder');
  await form.getByRole('button', { name: 'Create team' }).click();
  await expect(form.locator('[data-field-error="leader_agent"]')).toContainText('not a member');
  await expect(form.getByLabel('Leader (must be a member)')).toHaveAttribute('aria-invalid', 'true');
  await expect(form.locator('[data-field-error="agents"]')).toHaveCount(0);
  expect((await client.listTeams()).map((t) => t.id)).not.toContain('qa');

  await form.getByLabel('Leader (must be a member)').selectOption('reviewer');
  // A taken id (dev is a team) is refused at the id field; dev keeps its members.
  await form.getByLabel('Team id').fill('dev');
  await form.getByRole('button', { name: 'Create team' }).click();
  await expect(form.locator('[data-field-error="id"]')).toContainText('already used by a team');
  expect(await teamMembers('dev')).toEqual(['coder', 'reviewer']);
  await form.getByLabel('Team id').fill('qa');
  await form.getByRole('button', { name: 'Create team' }).click();
  await expect(form).toHaveCount(0);
  await expect(page.getByTestId('team-list').locator('[data-team="qa"]')).toContainText('Leader: @reviewer');
  expect(await daemon.cli(['team', 'list'])).toMatch(/qa\s+QA\s+reviewer\s+reviewer/);
});

test('an agent dragged with the mouse onto a team in the org chart joins it', async () => {
  const chart = page.getByTestId('org-chart');
  const coderInDev = chart.locator('[data-agent="coder"][data-column="dev"]');
  await expect(coderInDev).toBeVisible();
  await expect(chart.locator('[data-agent="coder"][data-column="qa"]')).toHaveCount(0);
  await mouseDrag(coderInDev, chart.locator('[data-team-column="qa"]'), { x: 0, y: 20 });
  await expect(chart.locator('[data-agent="coder"][data-column="qa"]')).toBeVisible();
  expect(await teamMembers('qa')).toEqual(['reviewer', 'coder']);
  // Added, not moved: coder still leads dev.
  await expect(chart.locator('[data-agent="coder"][data-column="dev"]')).toHaveAttribute('data-role', 'leader');
  expect(await daemon.cli(['team', 'list'])).toMatch(/qa\s+QA\s+reviewer\s+reviewer, coder/);
});

test('by keyboard: a new agent (made with the API) shows up unassigned and joins a team from its Teams menu', async () => {
  await client.putAgent({ params: { id: 'writer' }, body: { name: 'Writer', provider: 'mock' } });
  const chart = page.getByTestId('org-chart');
  const menuButton = chart.getByRole('button', { name: 'Teams of @writer (unassigned)' });
  await expect(menuButton).toBeVisible();
  const menu = chart.getByRole('menu', { name: 'Teams of @writer' });
  // The new agent arrives with two reloads (agents, then teams); one can redraw the chart
  // between the key press and the menu opening (seen once under load): press again until open.
  await expect(async () => {
    await menuButton.press('Enter');
    await expect(menu.getByRole('menuitem', { name: 'Add to #dev' })).toBeFocused({ timeout: 2_000 });
  }).toPass();
  await page.keyboard.press('ArrowDown');
  await expect(menu.getByRole('menuitem', { name: 'Add to #qa' })).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(chart.locator('[data-agent="writer"][data-column="qa"]')).toBeVisible();
  expect(await teamMembers('qa')).toEqual(['reviewer', 'coder', 'writer']);
  // Out again onto "Unassigned" with the mouse.
  await mouseDrag(chart.locator('[data-agent="writer"][data-column="qa"]'), chart.locator('[data-team-column="__unassigned"]'), { x: 0, y: 20 });
  await expect(chart.locator('[data-agent="writer"][data-column="__unassigned"]')).toBeVisible();
  expect(await teamMembers('qa')).toEqual(['reviewer', 'coder']);
  await look(page, '/teams');
});

test('the chat room pages back through 120 posts without repeating one, and shows new posts live', async () => {
  // A one-member room: posts "from" its only member are delivered to nobody (no agent runs).
  await client.putTeam({ params: { id: 'solo' }, body: { agents: ['writer'], leader_agent: 'writer' } });
  for (let i = 1; i <= 120; i++) await client.postChatroom({ params: { id: 'solo' }, body: { message: `post ${i}`, from: 'writer' } });
  await page.goto(`${daemon.url}/teams`);
  await page.getByTestId('team-list').locator('[data-team="solo"]').getByRole('link', { name: 'Chat room' }).click();
  const room = page.getByTestId('chatroom');
  await expect(room).toHaveAttribute('data-count', '50');
  await expect(room.locator('li').last()).toContainText('post 120');
  const older = page.getByRole('button', { name: 'Load older messages' });
  await older.click();
  await expect(room).toHaveAttribute('data-count', '100');
  await older.click();
  await expect(room).toHaveAttribute('data-count', '120');
  await expect(older).toHaveCount(0);
  const ids = async () => room.locator('li[data-post-id]').evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-post-id'))));
  const seen = await ids();
  expect(new Set(seen).size).toBe(120);
  expect(seen).toEqual([...seen].sort((a, b) => a - b));
  await expect(room.locator('li').first()).toContainText('post 1');

  // Live: a post made elsewhere arrives by itself, then one from the post box; still no repeats.
  await client.postChatroom({ params: { id: 'solo' }, body: { message: 'made with the API', from: 'writer' } });
  await expect(room.locator('li').last()).toContainText('made with the API');
  await page.getByLabel('Message to #solo').fill('hello from the office');
  await page.getByRole('button', { name: 'Post' }).click();
  await expect(room.locator('li').last()).toContainText('hello from the office');
  await expect(room).toHaveAttribute('data-count', '122');
  const after = await ids();
  expect(new Set(after).size).toBe(after.length);
  await look(page, '/teams (chat room)');
});

const column = (status: string) => page.getByTestId('kanban').locator(`[data-column="${status}"]`);
const card = (identifier: string) => page.getByTestId('kanban').locator(`[data-identifier="${identifier}"]`);

test('projects: create, rename, archive and restore from the sidebar', async () => {
  await page.getByRole('link', { name: 'Projects', exact: true }).click();
  await page.getByLabel('New project name').fill('Website');
  await page.getByRole('button', { name: 'Add', exact: true }).click();
  await expect(page.getByRole('heading', { name: 'Website', level: 1 })).toBeVisible();
  const sidebar = page.getByRole('navigation', { name: 'Projects' });
  await sidebar.getByRole('button', { name: 'Rename' }).click();
  await page.getByLabel('New name of Website').fill('Web site');
  await page.getByLabel('New name of Website').press('Enter');
  await expect(page.getByRole('heading', { name: 'Web site', level: 1 })).toBeVisible();
  await sidebar.getByRole('button', { name: 'Archive' }).click();
  await expect(page.getByText('archived', { exact: true })).toBeVisible();
  expect((await client.listProjects()).find((p) => p.name === 'Web site')?.archivedAt).toEqual(expect.any(Number));
  await sidebar.getByRole('button', { name: 'Restore' }).click();
  await expect(page.getByText('archived', { exact: true })).toHaveCount(0);
  expect((await client.listProjects()).find((p) => p.name === 'Web site')?.archivedAt).toBeNull();
});

test('an assigned task dragged to In progress with the mouse is dispatched; its card follows the conversation live to completed', async () => {
  await page.getByLabel('New task title').fill('quick mouse task');
  await page.getByLabel('Assignee of the new task').selectOption('agent:coder');
  await page.getByRole('button', { name: 'Add task' }).click();
  await expect(column('backlog').locator('[data-identifier="WEB-1"]')).toBeVisible();
  await mouseDrag(card('WEB-1').getByRole('button', { name: 'Move WEB-1' }), column('in_progress'));
  await expect(column('in_progress').locator('[data-identifier="WEB-1"]')).toBeVisible();
  const link = card('WEB-1').getByTestId('task-conversation');
  // coder works until its gate opens: the card shows the run while it works, then completed.
  await expect(link).toHaveAttribute('data-status', 'active');
  await shot(page, 'projects-dispatched');
  daemon.openGate('quick');
  await expect(link).toHaveAttribute('data-status', 'completed');
  // A finished turn is not the task's state: the card links the conversation without a "completed" pill.
  await expect(link).toHaveText('conversationconversation of WEB-1');
  const task = (await client.listTasks({ query: {} })).find((t) => t.identifier === 'WEB-1')!;
  expect(task).toMatchObject({ status: 'in_progress', assigneeAgent: 'coder', conversationId: expect.stringMatching(/.+/) });
  expect(await link.getAttribute('href')).toBe(`/conversations/view?id=${task.conversationId}`);
  const conversation = await client.getConversation({ params: { id: task.conversationId! } });
  expect(conversation.conversation.status).toBe('completed');
});

test('the same by keyboard: Space, arrows, Space', async () => {
  await page.getByLabel('New task title').fill('quick keyboard task');
  await page.getByLabel('Assignee of the new task').selectOption('team:dev');
  await page.getByRole('button', { name: 'Add task' }).click();
  await expect(column('backlog').locator('[data-identifier="WEB-2"]')).toBeVisible();
  const handle = card('WEB-2').getByRole('button', { name: 'Move WEB-2' });
  await handle.focus();
  await page.keyboard.press('Space');
  await expect(handle).toHaveAttribute('aria-pressed', 'true');
  // dnd-kit listens for the arrow keys from a setTimeout(0) after the pick-up: let that run first
  // (a macrotask queued after it, not a clock wait).
  await page.evaluate(() => new Promise((resolve) => setTimeout(resolve, 0)));
  await page.keyboard.press('ArrowRight');
  await expect(column('todo').locator('[data-identifier="WEB-2"]')).toBeVisible();
  await page.keyboard.press('ArrowRight');
  await expect(column('in_progress').locator('[data-identifier="WEB-2"]')).toBeVisible();
  await page.keyboard.press('Space');
  const link = card('WEB-2').getByTestId('task-conversation');
  await expect(link).toHaveAttribute('data-status', /active|completed/);
  await expect(link).toHaveAttribute('data-status', 'completed');
  const task = (await client.listTasks({ query: {} })).find((t) => t.identifier === 'WEB-2')!;
  expect(task).toMatchObject({ status: 'in_progress', assigneeTeam: 'dev' });
  // The order is persisted as shown: an arrow into a column lands at its top, above WEB-1.
  await expect(column('in_progress').locator('li[data-identifier]')).toHaveCount(2);
  const shown = await column('in_progress')
    .locator('li[data-identifier]')
    .evaluateAll((els) => els.map((e) => e.getAttribute('data-identifier')));
  expect(shown).toEqual(['WEB-2', 'WEB-1']);
  expect((await client.listTasks({ query: { status: 'in_progress' } })).map((t) => t.identifier)).toEqual(shown);
});

test('task detail: description and comments are saved; the card links its conversation', async () => {
  await card('WEB-1')
    .getByRole('button', { name: /quick mouse task/ })
    .click();
  const detail = page.getByTestId('task-detail');
  await detail.getByLabel('Description').fill('Ship the landing page');
  await detail.getByRole('button', { name: 'Save task' }).click();
  await expect.poll(async () => (await client.getTask({ params: { id: 'WEB-1' } })).description).toBe('Ship the landing page');
  await detail.getByLabel('New comment').fill('Looks right');
  await detail.getByRole('button', { name: 'Comment' }).click();
  await expect(detail.getByRole('list', { name: 'Comments' })).toContainText('Looks right');
  expect((await client.getTask({ params: { id: 'WEB-1' } })).commentCount).toBe(1);
  await detail
    .getByRole('list', { name: 'Comments' })
    .getByRole('button', { name: /Delete the comment/ })
    .click();
  await expect(detail.getByRole('list', { name: 'Comments' }).locator('li')).toHaveCount(0);
  expect((await client.getTask({ params: { id: 'WEB-1' } })).commentCount).toBe(0);
  await expect(detail.getByRole('link', { name: 'open the run tree' })).toBeVisible();
  await look(page, '/projects (task detail)');
});

test('a task made, renamed, moved and deleted elsewhere (the API, as the CLI and agents do) follows on the open board', async () => {
  await page.keyboard.press('Escape');
  const project = (await client.listProjects()).find((p) => p.name === 'Web site')!;
  const made = await client.createTask({ body: { title: 'made elsewhere', projectId: project.id } });
  const elsewhere = card(made.identifier!);
  await expect(column('backlog').locator(`[data-identifier="${made.identifier}"]`)).toContainText('made elsewhere');
  await client.patchTask({ params: { id: made.id }, body: { title: 'renamed elsewhere', status: 'todo' } });
  await expect(column('todo').locator(`[data-identifier="${made.identifier}"]`)).toContainText('renamed elsewhere');
  await client.deleteTask({ params: { id: made.id } });
  await expect(elsewhere).toHaveCount(0);
});
