/**
 * TinyOffice agents and settings pages, driven as a user would against a real daemon (the
 * harness of office.spec.ts): create an agent through the form (a bad model is refused at its
 * field, the fixed one is saved and the CLI sees it), edits keep what the form does not show,
 * a cron schedule's next runs, the settings form and its raw JSON view, and changes made with
 * the CLI appearing in the open page. axe on every new page and tab, light and dark (test/look.ts).
 */
import { expect, test, type BrowserContext, type Locator, type Page } from '@playwright/test';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { OFFICE_OUT, PLANTED_KEY, openOffice, type Daemon } from './daemon';
import { look, shot } from './look';

test.describe.configure({ mode: 'serial' });

let daemon: Daemon;
let context: BrowserContext;
let page: Page;

test.beforeAll(async ({ browser }) => {
  ({ daemon, context, page } = await openOffice(browser));
});

test.afterAll(async () => {
  await context?.close();
  await daemon?.cleanup();
});

// biome-ignore lint/suspicious/noExplicitAny: the test reads settings.json as the loose JSON it is
type Loose = any;
const settingsFile = (): Loose => JSON.parse(readFileSync(join(daemon.home, 'settings.json'), 'utf8'));

/** Opens the agent form's "More" (name, process, permissions, heartbeat, limits, budgets). */
async function openMore(form: Locator): Promise<void> {
  const more = form.locator('details');
  if ((await more.getAttribute('open')) === null) await more.locator('summary').click();
  await expect(more).toHaveAttribute('open', '');
}

test('create an agent: a bad model is refused at its field, the fixed one is saved and `tinyagi agent list` shows it', async () => {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Agents' }).click();
  await expect(page.getByTestId('agents-table').locator('[data-agent-row="coder"]')).toBeVisible();
  await look(page, '/agents');

  await page.getByRole('button', { name: 'New agent' }).click();
  const form = page.getByRole('form', { name: 'New agent' });
  // An id that is taken is refused at its field; the existing agent is left as it was.
  const coderBefore = settingsFile().agents.coder;
  await form.getByLabel('Id', { exact: true }).fill('coder');
  await openMore(form);
  await form.getByLabel('Name', { exact: true }).fill('Impostor');
  await form.getByLabel('Runtime', { exact: true }).selectOption('mock');
  await form.getByRole('button', { name: 'Create agent' }).click();
  await expect(form.getByTestId('field-error-id')).toContainText('already used by an agent');
  expect(settingsFile().agents.coder).toEqual(coderBefore);
  await form.getByLabel('Id', { exact: true }).fill('writer');
  await form.getByLabel('Name', { exact: true }).fill('Writer');
  await form.getByLabel('Runtime', { exact: true }).selectOption('mock');
  await form.getByLabel('Model', { exact: true }).fill('claude sonnet 4');
  await form.getByLabel('Heartbeat interval (seconds)', { exact: true }).fill('soon');
  await form.getByLabel('Daily budget (USD)', { exact: true }).fill('-5');
  await form.getByRole('button', { name: 'Create agent' }).click();
  // In plain words, not zod's ("Invalid input: expected number, received string").
  await expect(form.getByTestId('field-error-heartbeat.interval')).toContainText('must be a number');
  await expect(form.getByTestId('field-error-budgets.daily_usd')).toContainText('must be 0 or more');
  await form.getByLabel('Heartbeat interval (seconds)', { exact: true }).fill('900');
  await form.getByLabel('Daily budget (USD)', { exact: true }).fill('2.5');
  await form.getByRole('button', { name: 'Create agent' }).click();
  const modelError = form.getByTestId('field-error-model');
  await expect(modelError).toContainText('model');
  await expect(modelError).toContainText('no spaces');
  await expect(form.getByLabel('Model', { exact: true })).toHaveAttribute('aria-invalid', 'true');
  expect(settingsFile().agents.writer).toBeUndefined();
  await look(page, '/agents (form with errors)');

  await form.getByLabel('Model', { exact: true }).fill('sonnet');
  await form.getByRole('button', { name: 'Create agent' }).click();
  await expect(page).toHaveURL(/\/agents\/view\?id=writer/);
  await expect(page.getByRole('heading', { name: '@writer' })).toBeVisible();
  expect(settingsFile().agents.writer).toEqual({ name: 'Writer', provider: 'mock', model: 'sonnet', heartbeat: { interval: 900 }, budgets: { daily_usd: 2.5 } });
  const list = await daemon.cli(['agent', 'list']);
  expect(list).toMatch(/writer/);
  expect(list).toMatch(/sonnet/);

  // A new CLI agent is warm (docs/sessions.md, "Warm or per message"), and its settings say so.
  await page.goto(`${daemon.url}/agents`);
  await page.getByRole('button', { name: 'New agent' }).click();
  const second = page.getByRole('form', { name: 'New agent' });
  await second.getByLabel('Id', { exact: true }).fill('warmcc');
  await openMore(second);
  await second.getByLabel('Name', { exact: true }).fill('Warm');
  await second.getByLabel('Runtime', { exact: true }).selectOption('claude-code');
  await second.getByRole('button', { name: 'Create agent' }).click();
  await expect(page).toHaveURL(/\/agents\/view\?id=warmcc/);
  expect(settingsFile().agents.warmcc).toMatchObject({ provider: 'claude-code', process: 'warm', permission_mode: 'ask' });
  await page.goto(`${daemon.url}/agents/view?id=warmcc&tab=settings`);
  await openMore(page.getByRole('form', { name: 'Edit agent warmcc' }));
  await expect(page.getByRole('form', { name: 'Edit agent warmcc' }).getByLabel('Process', { exact: true })).toHaveValue('warm');
  await daemon.cli(['agent', 'remove', 'warmcc', '--yes']);
});

test('editing one field keeps the rest: the heartbeat, and blocks the form does not show (mock scripts)', async () => {
  await page.goto(`${daemon.url}/agents/view?id=writer&tab=settings`);
  const form = page.getByRole('form', { name: 'Edit agent writer' });
  await expect(form.getByLabel('Model', { exact: true })).toHaveValue('sonnet');
  await openMore(form);
  await form.getByLabel('Name', { exact: true }).fill('Writer Two');
  await form.getByRole('button', { name: 'Save changes' }).click();
  await expect(form.getByRole('status')).toHaveText('Saved.');
  expect(settingsFile().agents.writer).toEqual({ name: 'Writer Two', provider: 'mock', model: 'sonnet', heartbeat: { interval: 900 }, budgets: { daily_usd: 2.5 } });
  await look(page, '/agents/view settings');

  // coder's mock script (replies the other tests rely on) is not a form field: it survives an edit.
  const mockBefore = settingsFile().agents.coder.mock;
  await page.goto(`${daemon.url}/agents/view?id=coder&tab=settings`);
  const coder = page.getByRole('form', { name: 'Edit agent coder' });
  await openMore(coder);
  await coder.getByLabel('Heartbeat enabled', { exact: true }).selectOption('false');
  await coder.getByRole('button', { name: 'Save changes' }).click();
  await expect(coder.getByRole('status')).toHaveText('Saved.');
  expect(settingsFile().agents.coder).toMatchObject({ name: 'Coder', provider: 'mock', heartbeat: { enabled: false }, mock: mockBefore });

  // Refusals only the daemon can make (core's rules over the whole file) land at the field too,
  // or, when they name another agent, in the list above the button.
  await coder.getByLabel('Workspace', { exact: true }).fill('../outside');
  // A settings change made meanwhile (the CLI here; also this form's own save, echoed as
  // settings.changed) reloads the agent: the fields not edited follow it, what was typed stays.
  // (It used to reset every field: a save right after typing then sent nothing.)
  await daemon.cli(['agent', 'provider', 'coder', 'mock', '--model', 'haiku']);
  await expect(coder.getByLabel('Model', { exact: true })).toHaveValue('haiku');
  await expect(coder.getByLabel('Workspace', { exact: true })).toHaveValue('../outside');
  await coder.getByRole('button', { name: 'Save changes' }).click();
  await expect(coder.getByTestId('field-error-working_directory')).toContainText('escapes the workspace');
  await coder.getByLabel('Workspace', { exact: true }).fill(join(daemon.home, '..', 'workspace', 'reviewer'));
  await coder.getByRole('button', { name: 'Save changes' }).click();
  await expect(coder.getByTestId('form-issues')).toContainText('agents.reviewer');
  expect(settingsFile().agents.coder.working_directory).toBeUndefined();
  await shot(page, 'agent-settings-server-error');
});

test('deleting an agent: refused with the reason while a team lists it; otherwise it is gone and its workspace archived', async () => {
  page.on('dialog', (dialog) => void dialog.accept());
  await page.goto(`${daemon.url}/agents/view?id=coder`);
  await page.getByRole('button', { name: 'Delete agent' }).click();
  await expect(page.getByRole('alert').filter({ hasText: 'is in team dev' })).toBeVisible();
  expect(settingsFile().agents.coder).toBeDefined();

  await daemon.kit.api.putAgent({ params: { id: 'scratch' }, body: { name: 'Scratch', provider: 'mock' } });
  await page.goto(`${daemon.url}/agents/view?id=scratch`);
  await expect(page.getByRole('heading', { name: '@scratch' })).toBeVisible();
  await page.getByRole('button', { name: 'Delete agent' }).click();
  await expect(page).toHaveURL(`${daemon.url}/agents`);
  await expect(page.getByTestId('agents-table').locator('[data-agent-row="scratch"]')).toHaveCount(0);
  expect(settingsFile().agents.scratch).toBeUndefined();
  page.removeAllListeners('dialog');
});

test('placing an agent on a node: a bad name is refused at the field; the list then shows where each agent runs', async () => {
  // One process on SQLite and no agent placed: no Node column.
  await page.goto(`${daemon.url}/agents`);
  await expect(page.getByTestId('agents-table').locator('[data-agent-row="writer"]')).toBeVisible();
  await expect(page.getByTestId('agents-table').getByRole('columnheader', { name: 'Node' })).toHaveCount(0);

  await page.goto(`${daemon.url}/agents/view?id=writer&tab=settings`);
  const form = page.getByRole('form', { name: 'Edit agent writer' });
  await openMore(form);
  await form.getByLabel('Node', { exact: true }).fill('gpu box');
  await form.getByRole('button', { name: 'Save changes' }).click();
  await expect(form.getByTestId('field-error-node')).toBeVisible();
  expect(settingsFile().agents.writer.node).toBeUndefined();
  await form.getByLabel('Node', { exact: true }).fill('gpu-box');
  await form.getByRole('button', { name: 'Save changes' }).click();
  await expect(form.getByRole('status')).toHaveText('Saved.');
  expect(settingsFile().agents.writer.node).toBe('gpu-box');

  await page.goto(`${daemon.url}/agents`);
  const table = page.getByTestId('agents-table');
  await expect(table.getByRole('columnheader', { name: 'Node' })).toBeVisible();
  // No such node has joined (this daemon is one process).
  await expect(table.locator('[data-agent-node="writer"]')).toHaveText(/gpu-box\s*not joined/);
  await expect(table.locator('[data-agent-node="coder"]')).toHaveText('any');
  await look(page, '/agents (with nodes)');
  // On a phone the wider table scrolls inside its panel; the page itself does not get wider.
  await page.setViewportSize({ width: 390, height: 800 });
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
  await page.setViewportSize({ width: 1280, height: 800 });

  await page.goto(`${daemon.url}/agents/view?id=writer&tab=settings`);
  await openMore(form);
  await form.getByLabel('Node', { exact: true }).fill('');
  await form.getByRole('button', { name: 'Save changes' }).click();
  await expect(form.getByRole('status')).toHaveText('Saved.');
  expect(settingsFile().agents.writer.node).toBeUndefined();
});

test('the Sandbox column: a sandboxed agent says whether its boundary holds, with the reason and the fix when it does not', async () => {
  // No agent names a sandbox yet: no column.
  await page.goto(`${daemon.url}/agents`);
  await expect(page.getByTestId('agents-table').locator('[data-agent-row="writer"]')).toBeVisible();
  await expect(page.getByTestId('agents-table').getByRole('columnheader', { name: 'Sandbox' })).toHaveCount(0);
  // A CLI agent (the daemon's self-test passed on this machine) and one on the mock runtime, which runs inside the daemon.
  await daemon.cli(['agent', 'add', 'boxed', '--provider', 'claude-code', '--sandbox', 'on']);
  await daemon.cli(['agent', 'add', 'scripted', '--provider', 'mock', '--sandbox', 'required']);
  await page.goto(`${daemon.url}/agents`);
  const table = page.getByTestId('agents-table');
  await expect(table.getByRole('columnheader', { name: 'Sandbox' })).toBeVisible();
  await expect(table.locator('[data-agent-sandbox="boxed"]')).toHaveText(/^enforced\s*on$/);
  const scripted = table.locator('[data-agent-sandbox="scripted"]');
  await expect(scripted).toContainText('degraded');
  await expect(scripted).toContainText('the mock runtime runs inside the daemon');
  await expect(scripted).toContainText('it does not run (sandbox "required")');
  await expect(scripted).toContainText('Fix: use a CLI runtime');
  await expect(table.locator('[data-agent-sandbox="writer"]')).toHaveText('off');
  await look(page, '/agents (with sandboxes)');
  await daemon.cli(['agent', 'remove', 'boxed', '--purge', '--yes']);
  await daemon.cli(['agent', 'remove', 'scripted', '--purge', '--yes']);
});

test('permissions: the mode, expiry and rules are listed and edited in the form, the rules as rows; a bad rule is refused at its row', async () => {
  await page.goto(`${daemon.url}/agents/view?id=writer&tab=settings`);
  const form = page.getByRole('form', { name: 'Edit agent writer' });
  await openMore(form);
  await expect(form.getByText('No rules: the permission mode decides every request.')).toBeVisible();
  await form.getByLabel('Permission mode', { exact: true }).selectOption('ask');
  await form.getByRole('button', { name: 'Add rule' }).click();
  await form.getByLabel('Rule 1 decision', { exact: true }).selectOption('allow');
  await form.getByLabel('Rule 1 tool', { exact: true }).fill('B'.repeat(201));
  await form.getByLabel('Rule 1 command', { exact: true }).fill('git status*');
  await form.getByRole('button', { name: 'Save changes' }).click();
  await expect(form.getByTestId('field-error-permissions.rules')).toContainText('rule 1, tool');
  expect(settingsFile().agents.writer.permission_mode).toBeUndefined();
  expect(settingsFile().agents.writer.permissions).toBeUndefined();

  await form.getByLabel('Rule 1 tool', { exact: true }).fill('Bash');
  await form.getByRole('button', { name: 'Add rule' }).click();
  await form.getByLabel('Rule 2 decision', { exact: true }).selectOption('deny');
  await form.getByLabel('Rule 2 tool', { exact: true }).fill('Bash');
  await form.getByLabel('Rule 2 command', { exact: true }).fill('rm -rf *');
  await form.getByLabel('Approval expires after (s)', { exact: true }).fill('120');
  await form.getByRole('button', { name: 'Save changes' }).click();
  await expect(form.getByRole('status')).toHaveText('Saved.');
  expect(settingsFile().agents.writer).toMatchObject({
    permission_mode: 'ask',
    permissions: {
      expires_s: 120,
      rules: [
        { action: 'allow', tool: 'Bash', command: 'git status*' },
        { action: 'deny', tool: 'Bash', command: 'rm -rf *' },
      ],
    },
  });
  await shot(page, 'agent-permissions');

  // The rules written are listed as rows in the form when the page opens again.
  await page.reload();
  await openMore(form);
  await expect(form.getByLabel('Rule 1 command', { exact: true })).toHaveValue('git status*');
  await expect(form.getByLabel('Rule 2 decision', { exact: true })).toHaveValue('deny');
  await expect(form.getByLabel('Rule 2 command', { exact: true })).toHaveValue('rm -rf *');
  // Removing every rule and the mode leaves the agent as it was.
  await form.getByRole('button', { name: 'Remove rule 2' }).click();
  await form.getByRole('button', { name: 'Remove rule 1' }).click();
  await form.getByLabel('Approval expires after (s)', { exact: true }).fill('');
  await form.getByLabel('Permission mode', { exact: true }).selectOption('');
  await form.getByRole('button', { name: 'Save changes' }).click();
  await expect(form.getByRole('status')).toHaveText('Saved.');
  expect(settingsFile().agents.writer.permission_mode).toBeUndefined();
  expect(settingsFile().agents.writer.permissions?.rules).toBeUndefined();
  await look(page, '/agents/view settings with permissions');
});

test('a cron schedule shows its next occurrences in its time zone; disable empties the calendar', async () => {
  await page.goto(`${daemon.url}/agents/view?id=writer&tab=schedules`);
  const form = page.getByRole('form', { name: 'New schedule' });
  await form.getByLabel('Label (optional)', { exact: true }).fill('standup');
  await form.getByLabel('Message to send', { exact: true }).fill('What is the status?');
  await form.getByLabel('When', { exact: true }).selectOption('cron');
  await form.getByLabel('Cron expression', { exact: true }).fill('every day');
  await expect(form.getByTestId('field-error-cron')).toBeVisible();
  await form.getByLabel('Cron expression', { exact: true }).fill('0 9 * * 1-5');
  await form.getByLabel('Time zone', { exact: true }).fill('Asia/Tokyo');
  await expect(form.getByTestId('cron-preview').locator('[data-run-at]')).toHaveCount(5);
  await form.getByRole('button', { name: 'Add schedule' }).click();
  await expect(form.getByRole('status')).toHaveText('Created standup.');

  const runs = page.getByTestId('next-runs').locator('[data-run-schedule="standup"]');
  await expect(runs).toHaveCount(10);
  const tokyo = new Intl.DateTimeFormat('en-GB', { timeZone: 'Asia/Tokyo', weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
  const times = (await runs.evaluateAll((items) => items.map((i) => Number(i.getAttribute('data-run-at'))))).sort((a, b) => a - b);
  expect(times[0]!).toBeGreaterThan(Date.now() - 60_000);
  for (const at of times) expect(tokyo.format(new Date(at))).toMatch(/^(Mon|Tue|Wed|Thu|Fri) 09:00$/);
  await expect(runs.first()).toContainText('09:00');
  expect(settingsFile().agents.writer.heartbeat).toEqual({ interval: 900 });
  await look(page, '/agents/view schedules');

  await page.getByRole('button', { name: 'Disable standup' }).click();
  await expect(page.locator('[data-schedule="standup"]')).toContainText('disabled');
  await expect(runs).toHaveCount(0);
});

test('the other tabs: AGENTS.md is saved to the workspace; heartbeat, memory, skills, usage and chat pass axe', async () => {
  await page.goto(`${daemon.url}/agents/view?id=writer&tab=prompt`);
  const editor = page.getByLabel('AGENTS.md', { exact: true });
  await expect(editor).not.toHaveValue('');
  await editor.fill('# Writer\n\nWrite short, clear prose.\n');
  await page.getByRole('button', { name: 'Save AGENTS.md' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Saved AGENTS.md.' })).toBeVisible();
  expect(readFileSync(join(daemon.home, '..', 'workspace', 'writer', 'AGENTS.md'), 'utf8')).toBe('# Writer\n\nWrite short, clear prose.\n');
  await look(page, '/agents/view prompt');

  // Tabs by keyboard (WAI-ARIA tabs): arrows move between tabs.
  await page.getByRole('tab', { name: 'System prompt' }).focus();
  await page.keyboard.press('ArrowRight');
  await expect(page).toHaveURL(/tab=memory/);
  await expect(page.getByRole('tab', { name: 'Memory files' })).toBeFocused();
  await expect(page.getByRole('region', { name: 'Memory files' })).toBeVisible();
  await look(page, '/agents/view memory');

  await page.getByRole('tab', { name: 'Heartbeat' }).click();
  await expect(page.getByLabel('Interval (seconds, 10 to 604800)', { exact: true })).toHaveValue('900');
  await page.getByLabel('Interval (seconds, 10 to 604800)', { exact: true }).fill('5');
  await page.getByRole('button', { name: 'Save heartbeat' }).click();
  await expect(page.getByTestId('field-error-interval')).toContainText('must be 10 or more');
  await page.getByLabel('Interval (seconds, 10 to 604800)', { exact: true }).fill('1800');
  await page.getByRole('button', { name: 'Save heartbeat' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Saved the heartbeat.' })).toBeVisible();
  expect(settingsFile().agents.writer.heartbeat).toMatchObject({ interval: 1800 });
  await look(page, '/agents/view heartbeat');

  for (const [tab, ready] of [
    ['Skills', 'Skills'],
    ['Usage', 'Usage'],
  ] as const) {
    await page.getByRole('tab', { name: tab }).click();
    await expect(page.getByRole('region', { name: ready })).toBeVisible();
    await look(page, `/agents/view ${tab}`);
  }

  await page.getByRole('tab', { name: 'Chat' }).click();
  await page.getByLabel('Message', { exact: true }).fill('hello writer');
  await page.getByRole('button', { name: 'Send' }).click();
  await expect(page.getByTestId('chat-log').locator('[data-role="agent"]').filter({ hasText: 'mock' }).first()).toBeVisible();
  await look(page, '/agents/view chat');
  await page.getByRole('tab', { name: 'Usage' }).click();
  await expect(page.getByTestId('agent-usage').locator('tbody tr').last().locator('td').nth(1)).not.toHaveText('0');
  await shot(page, 'agent-usage');
});

test('settings: a form edit is written to settings.json; a CLI edit appears in the open page without a reload; secrets stay masked', async () => {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Settings' }).click();
  const form = page.getByRole('form', { name: 'Settings' });
  const interval = form.getByLabel('Heartbeat interval', { exact: true });
  await expect(interval).toBeVisible();
  await look(page, '/settings');

  // The planted key: only masked, with its set flag.
  await expect(page.getByTestId('secret-models.anthropic.api_key')).toContainText('set (');
  // The channel kinds' blocks (GET /api/kinds): a secret as a secret, a setting as a field.
  await expect(page.getByTestId('secret-channels.telegram.bot_token')).toHaveText('not set');
  await expect(form.getByLabel('Telegram › Api root', { exact: true })).toBeVisible();
  expect(await page.content()).not.toContain(PLANTED_KEY);

  await interval.fill('-3');
  await form.getByRole('button', { name: 'Save settings' }).click();
  await expect(form.getByTestId('field-error-monitoring.heartbeat_interval')).toContainText('monitoring.heartbeat_interval: must be more than 0');
  await interval.fill('1200');
  await form.getByRole('button', { name: 'Save settings' }).click();
  await expect(form.getByRole('status')).toHaveText('Saved to settings.json.');
  expect(settingsFile().monitoring).toEqual({ heartbeat_interval: 1200 });
  expect(settingsFile().models.anthropic.api_key).toBe(PLANTED_KEY);

  // The CLI writes settings.json; the daemon's watcher emits settings.changed; the page follows.
  await page.evaluate(() => ((window as unknown as { marker: string }).marker = 'same page'));
  await daemon.cli(['provider', 'openai', '--model', 'gpt-5.1', '--no-default']);
  await expect(form.getByLabel('Openai › Model', { exact: true })).toHaveValue('gpt-5.1');
  await daemon.cli(['agent', 'provider', 'writer', 'mock', '--model', 'opus']);
  expect(await page.evaluate(() => (window as unknown as { marker?: string }).marker)).toBe('same page');

  // Replace a secret, then clear it.
  await page.getByRole('button', { name: 'Set models.openai.api_key' }).click();
  await form.getByLabel('Openai › Api key (new value)', { exact: true }).fill('sk-openai-from-the-form-0123456789abcd');
  await form.getByRole('button', { name: 'Save settings' }).click();
  await expect(form.getByRole('status')).toHaveText('Saved to settings.json.');
  expect(settingsFile().models.openai.api_key).toBe('sk-openai-from-the-form-0123456789abcd');
  await expect(page.getByTestId('secret-models.openai.api_key')).toContainText('set (sk-…abcd)');
  await page.getByRole('button', { name: 'Clear models.openai.api_key' }).click();
  await form.getByRole('button', { name: 'Save settings' }).click();
  await expect(page.getByTestId('secret-models.openai.api_key')).toHaveText('not set');
  expect(settingsFile().models.openai.api_key).toBeUndefined();
  expect(settingsFile().models.openai.model).toBe('gpt-5.1');
});

test('settings raw JSON: invalid JSON and invalid settings are refused with the path; a valid edit saves', async () => {
  await page.goto(`${daemon.url}/settings`);
  // The view switch's button (other controls on the page may mention the JSON view too).
  await page.getByRole('group', { name: 'View' }).getByRole('button', { name: 'Raw JSON', exact: true }).click();
  const editor = page.getByLabel('settings.json', { exact: true });
  await expect(editor).toHaveValue(/"workspace"/);
  await look(page, '/settings raw');
  const before = readFileSync(join(daemon.home, 'settings.json'), 'utf8');

  await editor.fill('{ "queue": { "concurrency": 2 ');
  await page.getByRole('button', { name: 'Save JSON' }).click();
  await expect(page.getByTestId('raw-problems')).toContainText('Not valid JSON');

  const current = await page.evaluate(async () => (await fetch('/api/settings')).json());
  await editor.fill(JSON.stringify({ ...current, queue: { concurrency: -1 }, agents: { ...current.agents, writer: { ...current.agents.writer, model: 'two words' } } }, null, 2));
  await page.getByRole('button', { name: 'Save JSON' }).click();
  await expect(page.getByTestId('raw-problems')).toContainText('queue.concurrency');
  await expect(page.getByTestId('raw-problems')).toContainText('agents.writer.model');
  expect(readFileSync(join(daemon.home, 'settings.json'), 'utf8')).toBe(before);
  await shot(page, 'settings-raw-errors');

  await editor.fill(JSON.stringify({ ...current, retention: { days: 14 } }, null, 2));
  await page.getByRole('button', { name: 'Save JSON' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Saved to settings.json.' })).toBeVisible();
  expect(settingsFile().retention).toEqual({ days: 14 });
  expect(settingsFile().models.anthropic.api_key).toBe(PLANTED_KEY);
});

test('zod and the contract load after the page: /settings says "Loading the form…" until they arrive; a submit made before they arrive is still checked', async ({ browser }) => {
  // The contract's chunk (the only one that carries the error codes) is held until released. It is
  // found in the build on disk, and no other request is routed: reading every chunk's body in the
  // route (route.fetch, then text()) failed now and then with "Response has been disposed" when
  // the context closed at the end while Next's link prefetches were still on their way.
  const chunks = join(OFFICE_OUT, '_next', 'static', 'chunks');
  const contract = new Set(readdirSync(chunks).filter((name) => name.endsWith('.js') && readFileSync(join(chunks, name), 'utf8').includes('VALIDATION_FAILED')));
  expect(contract.size).toBe(1);
  const lazy = await browser.newContext();
  let held = 0;
  let release = (): void => {};
  let gate = Promise.resolve();
  const closeGate = () => {
    gate = new Promise<void>((resolve) => {
      release = resolve;
    });
  };
  await lazy.route(
    (url) => url.pathname.startsWith('/_next/static/chunks/') && contract.has(url.pathname.slice('/_next/static/chunks/'.length)),
    async (route) => {
      held += 1;
      await gate;
      await route.continue();
    },
  );
  try {
    closeGate();
    const p = await lazy.newPage();
    await p.goto(await daemon.loginLink());
    await expect(p.getByTestId('connection')).toHaveAttribute('data-state', 'open');
    await p.goto(`${daemon.url}/settings`);
    await expect(p.getByRole('status').filter({ hasText: 'Loading the form…' })).toBeVisible();
    await expect.poll(() => held).toBe(1);
    release();
    await expect(p.getByRole('form', { name: 'Settings' })).toBeVisible();

    closeGate();
    await p.goto(`${daemon.url}/agents`);
    await p.getByRole('button', { name: 'New agent' }).click();
    const form = p.getByRole('form', { name: 'New agent' });
    await form.getByLabel('Id', { exact: true }).fill('early');
    await form.getByLabel('Model', { exact: true }).fill('claude sonnet 4');
    await expect.poll(() => held).toBe(2);
    await form.getByRole('button', { name: 'Create agent' }).click();
    release();
    await expect(form.getByTestId('field-error-model')).toContainText('no spaces');
    expect(settingsFile().agents.early).toBeUndefined();
  } finally {
    release();
    await lazy.close();
  }
});
