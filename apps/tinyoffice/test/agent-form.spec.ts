/**
 * The New agent form and the agent's page, as a user meets them (docs/tinyoffice.md, "Agents"):
 * a short form (id, runtime, model, workspace, sandbox) with the rest under "More"; a runtime
 * whose CLI is not on the daemon's PATH marked "not installed" with its install hint (this
 * daemon's PATH holds a stand-in `claude` and no `codex`); permission rules edited as rows; the
 * agent's page showing and changing its sandbox and whether the boundary holds; an agent whose
 * last run failed listed as failed, with when; the CLI's own messages named once in Chat.
 */
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test, type BrowserContext, type Locator, type Page } from '@playwright/test';
import { fakeCli } from '@tinyagi/test-kit';
import { openOffice, type Daemon } from './daemon';
import { look, shot } from './look';

test.describe.configure({ mode: 'serial' });

let daemon: Daemon;
let context: BrowserContext;
let page: Page;
let bin: string;

test.beforeAll(async ({ browser }) => {
  // Only `claude` (the test kit's stand-in) is installed; codex and opencode are not.
  bin = mkdtempSync(join(tmpdir(), 'tinyoffice-bin-'));
  symlinkSync(fakeCli('claude'), join(bin, 'claude'));
  ({ daemon, context, page } = await openOffice(browser, { path: [bin] }));
});

test.afterAll(async () => {
  await context?.close();
  await daemon?.cleanup();
  if (bin) rmSync(bin, { recursive: true, force: true });
});

// biome-ignore lint/suspicious/noExplicitAny: the test reads settings.json as the loose JSON it is
type Loose = any;
const settingsFile = (): Loose => JSON.parse(readFileSync(join(daemon.home, 'settings.json'), 'utf8'));

async function openMore(form: Locator): Promise<void> {
  const more = form.locator('details');
  if ((await more.getAttribute('open')) === null) await more.locator('summary').click();
  await expect(more).toHaveAttribute('open', '');
}

async function newAgentForm(): Promise<Locator> {
  await page.goto(`${daemon.url}/agents`);
  await page.getByRole('button', { name: 'New agent' }).click();
  return page.getByRole('form', { name: 'New agent' });
}

test('the short form makes an agent: id, runtime, model, workspace and sandbox in view, the rest under More; a runtime that is not installed says so with its install hint', async () => {
  const form = await newAgentForm();
  for (const label of ['Id', 'Runtime', 'Model', 'Workspace', 'Sandbox']) await expect(form.getByLabel(label, { exact: true })).toBeVisible();
  for (const label of ['Name', 'Process', 'Permission mode', 'Heartbeat interval (seconds)']) await expect(form.getByLabel(label, { exact: true })).toBeHidden();
  // Each sandbox setting is a choice that says what it means; empty is the daemon's default.
  const sandbox = form.getByLabel('Sandbox', { exact: true });
  await expect(sandbox).toHaveValue('');
  await expect(sandbox.locator('option')).toHaveText([/daemon’s default/, /^off: runs as you/, /^on: confined/, /^required: confined, or it does not run/]);
  await sandbox.selectOption('on');
  await expect(form.locator('[data-field="sandbox"]')).toContainText('on: runs inside the boundary');
  await sandbox.selectOption('');

  const runtime = form.getByLabel('Runtime', { exact: true });
  await expect(runtime.locator('option[value="codex"]')).toHaveText('codex (Codex) — not installed');
  await expect(runtime.locator('option[value="opencode"]')).toContainText('not installed');
  await expect(runtime.locator('option[value="claude-code"]')).not.toContainText('not installed');
  await runtime.selectOption('codex');
  await expect(form.getByTestId('runtime-not-installed')).toContainText('npm install -g @openai/codex');
  await look(page, '/agents new agent (runtime not installed)');
  await runtime.selectOption('claude-code');
  await expect(form.getByTestId('runtime-not-installed')).toHaveCount(0);

  await form.getByLabel('Id', { exact: true }).fill('helper');
  await form.getByLabel('Model', { exact: true }).fill('sonnet');
  await form.getByRole('button', { name: 'Create agent' }).click();
  await expect(page).toHaveURL(/\/agents\/view\?id=helper/);
  // The daemon chose the defaults (the same agent `tinyagi agent add` makes); the page shows its sandbox.
  const made = settingsFile().agents.helper;
  expect(made).toMatchObject({ provider: 'claude-code', model: 'sonnet' });
  const summary = page.getByTestId('agent-sandbox');
  await expect(summary).toHaveAttribute('data-setting', made.sandbox ?? 'off');
  const status = (await daemon.kit.api.getAgent({ params: { id: 'helper' } })).sandboxStatus;
  await expect(summary).toHaveAttribute('data-state', status?.state ?? 'off');
  await look(page, '/agents/view settings (new agent)');
});

test('the agent page shows and changes the sandbox: required, then off, each with what it means and whether the boundary holds', async () => {
  await page.goto(`${daemon.url}/agents/view?id=helper&tab=settings`);
  const form = page.getByRole('form', { name: 'Edit agent helper' });
  const summary = page.getByTestId('agent-sandbox');
  await form.getByLabel('Sandbox', { exact: true }).selectOption('required');
  await form.getByRole('button', { name: 'Save changes' }).click();
  await expect(form.getByRole('status')).toHaveText('Saved.');
  expect(settingsFile().agents.helper.sandbox).toBe('required');
  await expect(summary).toHaveAttribute('data-setting', 'required');
  await expect(summary).toContainText('runs only inside the boundary');
  const status = (await daemon.kit.api.getAgent({ params: { id: 'helper' } })).sandboxStatus;
  expect(status?.setting).toBe('required');
  await expect(summary).toHaveAttribute('data-state', status!.state);
  await expect(summary).toContainText(status!.state === 'enforced' ? 'The boundary holds' : (status!.reason ?? ''));
  await shot(page, 'agent-sandbox-required');

  await form.getByLabel('Sandbox', { exact: true }).selectOption('off');
  await form.getByRole('button', { name: 'Save changes' }).click();
  await expect(form.getByRole('status')).toHaveText('Saved.');
  expect(settingsFile().agents.helper.sandbox).toBe('off');
  await expect(summary).toHaveAttribute('data-setting', 'off');
  await expect(summary).toContainText('runs as you');
});

test('a workspace a confined run worked in is held: its page says so and releases it; the Agents list marks it', async () => {
  // A sandboxed agent hands work to an unconfined teammate: that run is confined and holds its workspace.
  await daemon.cli(['agent', 'add', 'boxed', '--provider', 'mock', '--sandbox', 'on', '--config', '{"mock":{"reply":"[@plain: check this]"}}']);
  await daemon.cli(['agent', 'add', 'plain', '--provider', 'mock', '--sandbox', 'off', '--config', '{"mock":{"reply":"checked"}}']);
  await daemon.cli(['team', 'add', 'held', '--agents', 'boxed,plain', '--leader', 'boxed']);
  await daemon.cli(['send', '--agent', 'boxed', '--wait', 'hold it']);
  const held = (await daemon.kit.api.getAgent({ params: { id: 'plain' } })).sandboxStatus?.held;
  expect(held?.by).toEqual(['boxed']);

  await page.goto(`${daemon.url}/agents`);
  await expect(page.locator('[data-agent-row="plain"]')).toContainText('held');
  await page.goto(`${daemon.url}/agents/view?id=plain&tab=settings`);
  const note = page.getByTestId('agent-held');
  await expect(note).toContainText(`a confined run for @boxed worked in ${held!.folder}`);
  await expect(page.getByTestId('agent-sandbox')).toHaveAttribute('data-setting', 'off');
  await shot(page, 'agent-held');
  page.once('dialog', (dialog) => void dialog.accept());
  await note.getByRole('button', { name: 'Release the workspace' }).click();
  await expect(note).toBeHidden();
  expect((await daemon.kit.api.getAgent({ params: { id: 'plain' } })).sandboxStatus?.held).toBeUndefined();
});

test('a new agent’s permission rules are made as rows: decision, tool, command and path; a row removed is gone', async () => {
  const form = await newAgentForm();
  await form.getByLabel('Id', { exact: true }).fill('careful');
  await form.getByLabel('Runtime', { exact: true }).selectOption('mock');
  await openMore(form);
  await form.getByLabel('Permission mode', { exact: true }).selectOption('ask');
  for (let i = 0; i < 3; i++) await form.getByRole('button', { name: 'Add rule' }).click();
  await form.getByLabel('Rule 1 decision', { exact: true }).selectOption('allow');
  await form.getByLabel('Rule 1 tool', { exact: true }).fill('Read');
  await form.getByLabel('Rule 1 path', { exact: true }).fill('inside');
  await form.getByLabel('Rule 2 decision', { exact: true }).selectOption('deny');
  await form.getByLabel('Rule 2 command', { exact: true }).fill('git push *');
  await form.getByLabel('Rule 3 tool', { exact: true }).fill('WebFetch');
  await form.getByRole('button', { name: 'Remove rule 3' }).click();
  await expect(form.getByLabel('Rule 3 tool', { exact: true })).toHaveCount(0);
  await look(page, '/agents new agent (rules)');
  await form.getByRole('button', { name: 'Create agent' }).click();
  await expect(page).toHaveURL(/\/agents\/view\?id=careful/);
  expect(settingsFile().agents.careful).toMatchObject({
    provider: 'mock',
    permission_mode: 'ask',
    permissions: {
      rules: [
        { action: 'allow', tool: 'Read', path: 'inside' },
        { action: 'deny', command: 'git push *' },
      ],
    },
  });
});

test('an agent whose last run failed is listed as failed, with when; the CLI’s own message is named once in Chat', async () => {
  await daemon.cli(['send', '@coder broken on purpose']);
  await page.goto(`${daemon.url}/agents`);
  await expect(page.getByTestId('agents-table').locator('[data-agent-status="coder"]')).toHaveText(/^last run failed at \S/);
  await look(page, '/agents (failed agent)');
  // The CLI's sender is "cli" on the channel "cli": said once.
  // Answered before the page opens: what this checks is the sender's name in the chat's history.
  await daemon.cli(['send', '--agent', 'reviewer', '--wait', '--quiet', 'hello from the terminal']);
  await page.goto(`${daemon.url}/agents/view?id=reviewer&tab=chat`);
  const person = page.getByTestId('chat-log').locator('[data-role="user"]').filter({ hasText: 'hello from the terminal' });
  await expect(person).toContainText('cli');
  await expect(person).not.toContainText('cli on cli');
});

test('what the daemon says as it makes an agent is shown once on its page: a runtime that is not installed is a warning', async () => {
  const form = await newAgentForm();
  await form.getByLabel('Id', { exact: true }).fill('nocli');
  await form.getByLabel('Runtime', { exact: true }).selectOption('codex');
  await form.getByRole('button', { name: 'Create agent' }).click();
  await expect(page).toHaveURL(/\/agents\/view\?id=nocli/);
  const notes = page.getByTestId('new-agent-notes');
  await expect(notes).toContainText('Created @nocli.');
  await expect(notes.locator('[data-warning="cli-missing"]')).toContainText('codex');
  // Said in TinyOffice's terms: its controls, not the CLI's commands.
  await expect(notes.locator('li')).not.toHaveCount(0);
  for (const text of await notes.locator('li').allTextContents()) expect(text).not.toMatch(/tinyagi |--config/);
  await look(page, '/agents/view settings (made, with a warning)');
  await page.reload();
  await expect(page.getByTestId('agent-sandbox')).toBeVisible();
  await expect(notes).toHaveCount(0);
});
