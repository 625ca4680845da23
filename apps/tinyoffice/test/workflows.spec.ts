/**
 * The Workflows page against a real daemon (test/daemon.ts: the mock agents, their runs held at
 * gates the test opens). Workflow modules are written to a temp dir and started through the API
 * client, as `tinyagi workflow run` does: the page follows them live from their events, without a
 * reload. A run of `wf.parallel` (two agent steps) then `wf.step` shows running while its agents
 * wait at their gates, then completed with its tree (the group, its two branches, the steps) and
 * a step's output expanded as JSON; a run whose agent waits at a gate nobody opens is cancelled
 * with Cancel; a failed run's Resume with a budget the daemon refuses shows `CODE: message`. axe
 * at 1280 and 390 px in both themes (test/look.ts), and nothing wider than a 390 px phone.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test, type BrowserContext, type Page } from '@playwright/test';
import { openOffice, type Daemon } from './daemon';
import { look } from './look';

test.describe.configure({ mode: 'serial' });

let daemon: Daemon;
let context: BrowserContext;
let page: Page;
const modules = mkdtempSync(join(tmpdir(), 'tinyoffice-workflows-'));

/** Writes a workflow module (an .mjs whose default export is the workflow) and gives its path. */
function workflowModule(name: string, body: string): string {
  const file = join(modules, `${name}.mjs`);
  writeFileSync(file, `export default async (wf, input) => {\n${body}\n};\n`);
  return file;
}

test.beforeAll(async ({ browser }) => {
  ({ daemon, context, page } = await openOffice(browser));
});

test.afterAll(async () => {
  await context?.close();
  await daemon?.cleanup();
  rmSync(modules, { recursive: true, force: true });
});

const runRow = (id: string) => page.getByTestId('workflow-runs').locator(`li[data-run="${id}"]`);
const detail = () => page.getByTestId('workflow-detail');
const tree = () => page.getByTestId('step-tree');
const item = (stepId: string) => tree().locator(`[role="treeitem"][data-step="${stepId}"]`);

test('before any run: the nav entry and an empty list that says how to start one', async () => {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Workflows', exact: true }).click();
  await expect(page).toHaveURL(/\/workflows\/?$/);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Workflows');
  await expect(page).toHaveTitle('Workflows · TinyOffice');
  await expect(page.getByTestId('workflows-empty')).toContainText('tinyagi workflow run');
  await look(page, '/workflows (empty)');
});

test('a parallel of two agent steps, then a step: it appears running, goes completed live, and shows its tree and outputs', async () => {
  await page.evaluate(() => ((window as unknown as { marker: string }).marker = 'same page'));
  const file = workflowModule(
    'release-notes',
    `  const [draft, review] = await wf.parallel([
    () => wf.agent('coder', 'quick: draft the release notes'),
    () => wf.agent('reviewer', 'please check the release plan'),
  ]);
  return wf.step('combine', () => ({ topic: input.topic, draft, review }));`,
  );
  const { run } = await daemon.kit.api.startWorkflow({ body: { file, input: { topic: 'v2' } } });
  expect(run.name).toBe('release-notes');

  // Both agents wait at their gates: the run is listed, running, none of its steps done.
  await expect(runRow(run.id)).toHaveAttribute('data-status', 'running');
  await expect(runRow(run.id)).toContainText('release-notes');
  await expect(runRow(run.id).getByTestId('run-steps')).toHaveText('0/2 steps');
  await runRow(run.id).getByRole('link').click();
  await expect(page).toHaveURL(new RegExp(`/workflows/?\\?run=${run.id}$`));
  await expect(detail()).toHaveAttribute('data-status', 'running');
  // Chosen from the list, the focus moves to the run.
  await expect(detail().getByRole('heading', { level: 2, name: 'release-notes' })).toBeFocused();
  await expect(page).toHaveTitle('release-notes · Workflows · TinyOffice');
  await expect(detail().getByRole('button', { name: 'Cancel run' })).toBeVisible();
  await expect(detail().getByRole('button', { name: 'Resume' })).toHaveCount(0);
  await expect(item('1:parallel[0]/1:agent')).toHaveAttribute('data-status', 'running');
  await expect(item('1:parallel[1]/1:agent')).toHaveAttribute('data-status', 'running');
  await look(page, '/workflows (a run at its gates)', { widths: [1280, 390] });

  daemon.openGate('quick', 'check');
  await expect(runRow(run.id)).toHaveAttribute('data-status', 'completed');
  await expect(runRow(run.id).getByTestId('run-steps')).toHaveText('3/3 steps');
  await expect(detail()).toHaveAttribute('data-status', 'completed');
  await expect(detail().getByTestId('workflow-steps')).toHaveText('3 of 3 done');
  await expect(detail().getByTestId('workflow-budget')).toHaveText('no limit');
  await expect(detail().getByRole('button', { name: 'Cancel run' })).toHaveCount(0);

  // The tree from the ids: the group, its branches in order, the agent steps under them, then the step.
  const group = item('1:parallel');
  await expect(group).toHaveAttribute('data-kind', 'group');
  await expect(group).toHaveAttribute('aria-expanded', 'true');
  await expect(group.locator(':scope > [role="group"] > [role="treeitem"]')).toHaveCount(2);
  for (const [i, agent] of ['coder', 'reviewer'].entries()) {
    const branch = item(`1:parallel[${i}]`);
    await expect(branch).toHaveAttribute('data-kind', 'branch');
    await expect(branch).toHaveAttribute('data-status', 'completed');
    await expect(branch.locator(':scope > div').first()).toContainText(`branch ${i}completed`);
    const step = item(`1:parallel[${i}]/1:agent`);
    await expect(step).toHaveAttribute('data-status', 'completed');
    await expect(step.locator(':scope > div').first()).toContainText(`1:agent@${agent}completed`);
  }
  const coder = item('1:parallel[0]/1:agent');
  await expect(coder).toContainText('quick: draft the release notes');
  // Each agent step links to its conversation.
  const conversation = coder.getByRole('link', { name: 'conversation of step 1:agent' });
  await expect(conversation).toHaveAttribute('href', /\/conversations\/view\?id=/);

  // The last step's output, folded until opened, as indented JSON.
  const combine = item('combine');
  await expect(combine).toHaveAttribute('data-kind', 'step');
  const output = combine.getByTestId('step-output');
  await expect(output.locator('pre')).toBeHidden();
  await output.getByText('Output').click();
  await expect(output.locator('pre')).toHaveText(JSON.stringify({ topic: 'v2', draft: 'quick done', review: 'looks good' }, null, 2));
  // An agent step's output is its reply, as text.
  await coder.getByTestId('step-output').getByText('Output').click();
  await expect(coder.getByTestId('step-output').locator('pre')).toHaveText('quick done');

  // By keyboard: the tree is one tab stop; Left closes the group, Right opens it, Down walks it.
  await group.focus();
  await page.keyboard.press('ArrowLeft');
  await expect(group).toHaveAttribute('aria-expanded', 'false');
  await expect(item('1:parallel[0]')).toHaveCount(0);
  await page.keyboard.press('ArrowRight');
  await expect(group).toHaveAttribute('aria-expanded', 'true');
  await page.keyboard.press('ArrowDown');
  await expect(item('1:parallel[0]')).toBeFocused();

  expect(await page.evaluate(() => (window as unknown as { marker?: string }).marker)).toBe('same page');
  await look(page, '/workflows (completed, outputs open)', { widths: [1280, 390] });
  await page.setViewportSize({ width: 390, height: 800 });
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
  await page.setViewportSize({ width: 1280, height: 800 });
});

test('a run whose agent waits at a gate shows running; Cancel ends it cancelled', async () => {
  const file = workflowModule('held', "  return wf.agent('coder', 'slow: wait for a gate nobody opens');");
  const { run } = await daemon.kit.api.startWorkflow({ body: { file } });
  await expect(runRow(run.id)).toHaveAttribute('data-status', 'running');
  await runRow(run.id).getByRole('link').click();
  await expect(detail()).toHaveAttribute('data-status', 'running');
  await expect(item('1:agent')).toHaveAttribute('data-status', 'running');

  await detail().getByRole('button', { name: 'Cancel run' }).click();
  await expect(detail()).toHaveAttribute('data-status', 'cancelled');
  await expect(detail().getByTestId('workflow-status')).toHaveText('cancelled');
  const cancelled = await daemon.kit.api.getWorkflowRun({ params: { id: run.id } });
  expect(cancelled.run.reason).toBeTruthy();
  await expect(detail().getByTestId('workflow-reason')).toHaveText(cancelled.run.reason!);
  // Its agent step was cancelled with it.
  await expect(item('1:agent')).toHaveAttribute('data-status', 'failed');
  await expect(runRow(run.id)).toHaveAttribute('data-status', 'cancelled');
  await expect(detail().getByRole('button', { name: 'Cancel run' })).toHaveCount(0);
  await expect(detail().getByRole('button', { name: 'Resume' })).toHaveCount(0);
  await look(page, '/workflows (cancelled)');
});

test('a failed run says why; Resume with a budget the daemon refuses shows its code and message', async () => {
  const file = workflowModule('broken-build', "  return wf.agent('coder', 'broken: this fails for good');");
  const { run } = await daemon.kit.api.startWorkflow({ body: { file } });
  await page.goto(`${daemon.url}/workflows?run=${run.id}`);
  await expect(detail()).toHaveAttribute('data-status', 'failed');
  await expect(detail().getByTestId('workflow-reason')).toContainText('scripted permanent failure');
  await expect(item('1:agent')).toHaveAttribute('data-status', 'failed');
  await expect(item('1:agent').getByTestId('step-error')).toBeVisible();
  await expect(detail().getByRole('button', { name: 'Cancel run' })).toHaveCount(0);

  // Not a number: said here, nothing sent.
  const budget = detail().getByLabel('New budget in USD (optional)');
  await budget.fill('lots');
  await budget.press('Enter');
  await expect(budget).toHaveAttribute('aria-invalid', 'true');
  await expect(detail().getByRole('alert')).toContainText('Write the budget as an amount of US dollars');
  // Zero is the daemon's to refuse: its code and message.
  await budget.fill('0');
  await detail().getByRole('button', { name: 'Resume' }).click();
  await expect(detail().getByTestId('workflow-refusal')).toHaveText(/^VALIDATION_FAILED: .*budgetUsd/);
  await expect(detail()).toHaveAttribute('data-status', 'failed');
  await look(page, '/workflows (failed, resume refused)', { widths: [1280, 390] });
});
