/**
 * The Workflows page against a real daemon (test/daemon.ts: the mock agents, their runs held at
 * gates the test opens). Workflow modules are written to a temp dir and started through the API
 * client, as `tinyagi workflow run` does: the page follows them live from their events, without a
 * reload. A run of `wf.parallel` (two agent steps) then `wf.step` shows running while its agents
 * wait at their gates, then completed with its tree (the group, its two branches, the steps) and
 * a step's output expanded as JSON; a run whose agent waits at a gate nobody opens is cancelled
 * with Cancel; a failed run's Resume with a budget the daemon refuses shows `CODE: message`. Task
 * steps run on a project bound to a real git repository with one check (as the CLI's
 * workflow-best-of e2e test sets it up): `wf.bestOf` over two mock agents that write a file,
 * commit and say done (held at a gate first, so the page shows their tasks while they work), then
 * `wf.task` for an agent whose change the check refuses; the page shows one "best of 2" group, each
 * task's identifier linked to the board, passed or failed and why, the lines changed and the
 * winner. A registered workflow (settings' `workflows.digest`, its input schema a string with a
 * pattern, an enum, a bounded integer, a boolean and a list of strings) is started from the page:
 * the form its schema makes, a number out of bounds refused at its field with nothing sent, the
 * daemon's refusal of the pattern shown at its field, the run chosen once started; the forecast
 * follows the input (one step, two with the boolean on), with no history before the first run and
 * priced from it after, and a budget below its high end is said beside the budget. A registered
 * workflow whose module is missing cannot be started, and says why. axe at 1280 and 390 px in
 * both themes (test/look.ts), and nothing wider than a 390 px phone.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test, type BrowserContext, type Page } from '@playwright/test';
import type { BestOfResult, Project } from '@tinyagi/client';
import { gitRepos } from '@tinyagi/test-kit';
import { openOffice, SETTINGS, type Daemon } from './daemon';
import { look } from './look';

test.describe.configure({ mode: 'serial' });

let daemon: Daemon;
let context: BrowserContext;
let page: Page;
const modules = mkdtempSync(join(tmpdir(), 'tinyoffice-workflows-'));
let project: Project;

/** The project's one check: hello.txt says hello. The agents' scripted actions, as in packages/cli/test/workflow-best-of.e2e.test.ts. */
const check = { name: 'greets', argv: ['grep', '-qx', 'hello', 'hello.txt'], timeoutMs: 30_000 };
const says = (content: string) => [{ write: { path: 'hello.txt', content } }, { commit: 'hello.txt' }, { update_task: { status: 'review' } }];
/** Held at gate `hello` until the test opens it, then its actions and "Done.". */
const taskAgent = (actions: unknown[]) => ({ provider: 'mock', mock: { replies: [{ match: 'hello', gate: 'hello', reply: 'Done.', actions }] } });

/** Writes a workflow module (an .mjs whose default export is the workflow) and gives its path. */
function workflowModule(name: string, body: string): string {
  const file = join(modules, `${name}.mjs`);
  writeFileSync(file, `export default async (wf, input) => {\n${body}\n};\n`);
  return file;
}

/** The registered workflow's input: what the start form is made from. */
const DIGEST_INPUT = {
  type: 'object',
  required: ['topic', 'files'],
  properties: {
    topic: { type: 'string', title: 'Topic', description: 'What the digest is about.', pattern: '^[a-z-]+$' },
    tone: { type: 'string', title: 'Tone', enum: ['brief', 'thorough'], default: 'brief' },
    rounds: { type: 'integer', title: 'Editing rounds', minimum: 1, maximum: 5, default: 2 },
    review: { type: 'boolean', title: 'Have it edited', default: false },
    files: { type: 'array', title: 'Files', items: { type: 'string' }, minItems: 1 },
  },
};
/** Its writer's and editor's runs report what they cost, so a second forecast has priced history. */
const pricedAgent = (reply: string, costUsd: number) => ({ provider: 'mock', mock: { reply, usage: { input_tokens: 1000, output_tokens: 200, cost_usd: costUsd } } });

test.beforeAll(async ({ browser }) => {
  // Before the daemon starts: gitRepos sets the git environment the daemon's git inherits.
  const { repoDir } = gitRepos();
  const digest = workflowModule(
    'digest',
    `  const draft = await wf.agent('writer', \`a \${input.tone} digest of \${input.topic}: \${input.files.join(', ')}\`);
  if (input.review) return wf.agent('editor', \`edit in \${input.rounds} rounds: \${draft}\`);
  return draft;`,
  );
  ({ daemon, context, page } = await openOffice(browser, {
    // git for the worktrees, grep for the check.
    path: ['/usr/bin', '/bin'],
    settings: (root) => {
      const settings = SETTINGS(root);
      return {
        ...settings,
        agents: {
          ...settings.agents,
          small: taskAgent(says('hello\n')),
          big: taskAgent(says(`hello\n${'and more\n'.repeat(20)}`)),
          // Its change never greets: the check fails each round (the file differs each time, so the commit has something).
          wrong: taskAgent([{ write: { path: 'hello.txt', content: 'bye {{message}}\n' } }, { commit: 'bye' }, { update_task: { status: 'review' } }]),
          writer: pricedAgent('drafted', 0.02),
          editor: pricedAgent('edited', 0.01),
        },
        workflows: {
          digest: { file: digest, description: 'Drafts a digest of the files, and has it edited when asked.', input: DIGEST_INPUT },
          gone: { file: join(modules, 'gone.mjs'), description: 'Its module was never written.' },
        },
      };
    },
  }));
  project = await daemon.kit.api.createProject({
    body: { name: 'Web', repo: { path: repoDir, worktreeRoot: join(daemon.kit.root, 'worktrees'), checks: [check], maxRounds: 1 } },
  });
});

// A failure with tasks is often the daemon's (a worktree, a check): its log goes with it.
// biome-ignore lint/correctness/noEmptyPattern: Playwright reads the fixtures from a destructuring pattern.
test.afterEach(async ({}, info) => {
  if (info.status !== info.expectedStatus) await info.attach('daemon', { body: daemon.kit.logs(), contentType: 'text/plain' });
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

const registered = (name: string) => page.getByTestId('registered-workflows').locator(`li[data-workflow="${name}"]`);
const startDialog = () => page.getByTestId('start-dialog');
const forecast = () => startDialog().getByTestId('workflow-forecast');

test('a registered workflow: a form from its input schema, refusals at their fields, its forecast following the input, and the run chosen once started', async () => {
  await expect(registered('digest')).toContainText('Drafts a digest of the files, and has it edited when asked.');
  await expect(registered('digest')).toContainText('Only you start it.');
  // Its module is missing: no Start, and why.
  await expect(registered('gone').getByRole('button', { name: 'Start gone' })).toBeDisabled();
  await expect(registered('gone').getByTestId('workflow-missing')).toContainText('workflows.gone.file');

  await registered('digest').getByRole('button', { name: 'Start digest' }).click();
  const dialog = startDialog();
  await expect(dialog.getByRole('heading', { name: 'Start digest' })).toBeVisible();
  // The schema's fields, their defaults filled in, the required ones marked.
  const topic = dialog.getByLabel('Topic');
  const rounds = dialog.getByLabel('Editing rounds');
  const files = dialog.getByLabel('Files');
  await expect(topic).toHaveAttribute('aria-required', 'true');
  await expect(files).toHaveAttribute('aria-required', 'true');
  await expect(dialog.getByLabel('Tone').locator('option:checked')).toHaveText('brief');
  await expect(rounds).toHaveValue('2');
  await expect(rounds).toHaveAttribute('min', '1');
  await expect(rounds).toHaveAttribute('max', '5');
  await expect(dialog.getByLabel('Have it edited')).not.toBeChecked();
  await expect(dialog).toContainText('What the digest is about.');
  await expect(dialog).toContainText('Matches ^[a-z-]+$');
  await expect(dialog).toContainText('A whole number from 1 to 5.');
  // Nothing is forecast while a required field is empty.
  await expect(forecast()).toHaveAttribute('data-state', 'waiting');
  await look(page, '/workflows (start dialog)', { widths: [1280, 390] });

  // Complete: one agent step, forecast with no history yet; the boolean on adds the editor's.
  await topic.fill('release-notes');
  await files.fill('src/a.ts\n\nsrc/b.ts\n');
  await expect(forecast()).toHaveAttribute('data-state', 'ready');
  await expect(forecast().getByTestId('forecast-summary')).toHaveText('Forecast: 1 step, not priced');
  await dialog.getByLabel('Have it edited').check();
  await expect(forecast().getByTestId('forecast-summary')).toHaveText('Forecast: 2 steps, not priced');
  await expect(forecast().getByTestId('forecast-past')).toHaveCount(0);
  await forecast().getByText('By agent (2)').click();
  for (const agent of ['writer', 'editor']) await expect(forecast().locator(`tr[data-agent="${agent}"]`)).toContainText(`@${agent}mock`);
  await expect(forecast().locator('tr[data-agent="editor"]')).toContainText('no history');
  await look(page, '/workflows (forecast, not priced)', { widths: [1280, 390] });

  // Out of bounds: refused at the field, the focus on it, nothing sent.
  await rounds.fill('9');
  await dialog.getByRole('button', { name: 'Start', exact: true }).click();
  await expect(dialog.getByTestId('field-error-input.rounds')).toHaveText('input.rounds: must be 5 or less');
  await expect(rounds).toHaveAttribute('aria-invalid', 'true');
  await expect(rounds).toBeFocused();
  expect((await daemon.kit.api.listWorkflowRuns()).runs).toEqual([]);
  // Fixed, its problem goes; the pattern is the daemon's to check: its refusal at the field it names.
  await rounds.fill('3');
  await expect(dialog.getByTestId('field-error-input.rounds')).toHaveCount(0);
  await topic.fill('Release notes');
  // The forecast asks the daemon too, which refuses the input: said there, in short.
  await expect(forecast().getByTestId('forecast-error')).toContainText('No forecast: the daemon refuses this input (input.topic: ');
  await dialog.getByRole('button', { name: 'Start', exact: true }).click();
  await expect(dialog.getByTestId('field-error-input.topic')).toContainText(/^input\.topic: .*\^\[a-z-\]\+\$/);
  await expect(topic).toHaveAttribute('aria-invalid', 'true');
  await expect(topic).toBeFocused();
  expect((await daemon.kit.api.listWorkflowRuns()).runs).toEqual([]);
  await look(page, '/workflows (start refused at a field)', { widths: [1280, 390] });

  await topic.fill('release-notes');
  await dialog.getByRole('button', { name: 'Start', exact: true }).click();
  await expect(dialog).toBeHidden();
  const [run] = (await daemon.kit.api.listWorkflowRuns()).runs;
  expect(run).toMatchObject({ name: 'digest', registered: 'digest', input: { topic: 'release-notes', tone: 'brief', rounds: 3, review: true, files: ['src/a.ts', 'src/b.ts'] } });
  // The run is chosen: its detail beside the list, followed to its end.
  await expect(page).toHaveURL(new RegExp(`/workflows/?\\?run=${run!.id}$`));
  await expect(runRow(run!.id)).toBeVisible();
  await expect(detail().getByRole('heading', { level: 2, name: 'digest' })).toBeVisible();
  await expect(detail()).toHaveAttribute('data-status', 'completed');
  await expect(detail().getByTestId('workflow-steps')).toHaveText('2 of 2 done');
  await expect(detail().getByTestId('workflow-spent')).toContainText('$0.03');
});

test("a registered workflow's second forecast is priced from the first run, and a budget below its high end says so", async () => {
  await registered('digest').getByRole('button', { name: 'Start digest' }).click();
  const dialog = startDialog();
  // A fresh form: the defaults again.
  await expect(dialog.getByLabel('Topic')).toHaveValue('');
  await dialog.getByLabel('Topic').fill('changelog');
  await dialog.getByLabel('Files').fill('CHANGES.md');
  await dialog.getByLabel('Have it edited').check();
  const summary = forecast().getByTestId('forecast-summary');
  await expect(summary).toHaveText(/^Forecast: \$[\d.]+–\$[\d.]+ \(2 steps\)$/);
  const high = Number(/–\$([\d.]+)/.exec((await summary.textContent()) ?? '')?.[1]);
  expect(high).toBeGreaterThan(0);
  await expect(forecast().getByTestId('forecast-past')).toContainText('Past runs of this workflow: 1, costing $0.03');
  await forecast().getByText('By agent (2)').click();
  await expect(forecast().locator('tr[data-agent="writer"]')).not.toContainText('no history');

  const usd = dialog.getByLabel('USD');
  await usd.fill('0.001');
  await expect(dialog.getByTestId('budget-warning-budgetUsd')).toContainText('Below the forecast’s high end');
  await expect(usd).toHaveAttribute('aria-describedby', /budgetUsd-hint/);
  await usd.fill(String(high * 2));
  await expect(dialog.getByTestId('budget-warning-budgetUsd')).toHaveCount(0);
  await usd.fill('0.001');
  await look(page, '/workflows (start dialog, forecast from history)', { widths: [1280, 390] });

  // Cancel starts nothing.
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await expect(dialog).toBeHidden();
  expect((await daemon.kit.api.listWorkflowRuns()).runs).toHaveLength(1);
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
  expect(cancelled.run.reason).toBe('Cancelled by a person.');
  await expect(detail().getByTestId('workflow-reason')).toHaveText('Cancelled by a person.');
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

test('best of two on a bound project, then a task that fails: one group, each task linked with how it did, the winner marked', async () => {
  const file = workflowModule(
    'say-hello',
    `  const best = await wf.bestOf({ project: 'Web', title: 'Say hello', description: 'Write hello.txt.', agents: ['small', 'big'] });
  await wf.task({ project: 'Web', title: 'Say hello, wrongly', agent: 'wrong' });
  return best;`,
  );
  const { run } = await daemon.kit.api.startWorkflow({ body: { file } });
  await page.goto(`${daemon.url}/workflows?run=${run.id}`);

  // One group for the bestOf, its two task steps straight under it (not under a parallel's branches).
  const group = item('1:bestOf');
  await expect(group).toHaveAttribute('data-kind', 'best-of');
  await expect(group.locator(':scope > div').first()).toContainText('best of 2');
  await expect(item('1:bestOf/1:parallel')).toHaveCount(0);
  const candidates = [0, 1].map((i) => item(`1:bestOf/1:parallel[${i}]/1:task`));
  for (const [i, agent] of ['small', 'big'].entries()) {
    await expect(group.locator(':scope > [role="group"] > [role="treeitem"]').nth(i)).toHaveAttribute('data-step', `1:bestOf/1:parallel[${i}]/1:task`);
    await expect(candidates[i]!.locator(':scope > div').first()).toContainText(`candidate ${i + 1}@${agent}`);
  }

  // Held at their gate, the tasks are made and the page read them by id: identifiers linked to the board, nothing marked yet.
  const taskSteps = async () => (await daemon.kit.api.getWorkflowRun({ params: { id: run.id } })).steps.filter((s) => s.kind === 'task' && s.taskId !== null);
  await expect.poll(async () => (await taskSteps()).length).toBe(2);
  const made = await Promise.all((await taskSteps()).sort((a, b) => (a.stepId < b.stepId ? -1 : 1)).map((s) => daemon.kit.api.getTask({ params: { id: s.taskId! } })));
  for (const [i, task] of made.entries()) {
    await expect(candidates[i]!).toHaveAttribute('data-status', 'running');
    const link = candidates[i]!.getByTestId('task-link');
    await expect(link).toHaveAccessibleName(`${task.identifier} (the task of step candidate ${i + 1})`);
    await expect(link).toHaveAttribute('href', `/projects?project=${project.id}&task=${task.id}`);
  }
  await expect(group.getByTestId('task-winner')).toHaveCount(0);
  await look(page, '/workflows (best of 2 at work)', { widths: [1280, 390] });

  daemon.openGate('hello');
  await expect(detail()).toHaveAttribute('data-status', 'completed', { timeout: 90_000 });
  const { run: done, steps: doneSteps } = await daemon.kit.api.getWorkflowRun({ params: { id: run.id } });
  const result = done.result as BestOfResult;
  expect(result.winner?.agent).toBe('small');

  // Both passed, with the lines each changed; the smaller change is the winner, and only it.
  for (const [i, candidate] of result.candidates.entries()) {
    const row = candidates[i]!.locator(':scope > div').first();
    await expect(candidates[i]!).toHaveAttribute('data-status', 'completed');
    await expect(row).toContainText(`candidate ${i + 1}@${candidate.agent}passed`);
    await expect(candidates[i]!.getByTestId('task-link')).toHaveAccessibleName(`${candidate.identifier} (the task of step candidate ${i + 1})`);
    await expect(candidates[i]!.getByTestId('task-lines')).toContainText(`+${candidate.additions} −${candidate.deletions}`);
  }
  expect(result.candidates.map((c) => [c.outcome, c.additions, c.deletions])).toEqual([
    ['passed', 1, 0],
    ['passed', 21, 0],
  ]);
  await expect(candidates[0]!.getByTestId('task-winner')).toHaveText('★ winner');
  await expect(group.getByTestId('task-winner')).toHaveCount(1);
  // The one that lost was set aside: a step of the group, after the candidates.
  await expect(group.locator(':scope > [role="group"] > [role="treeitem"]').nth(2)).toHaveAttribute('data-step', '1:bestOf/set-aside');

  // The task whose check still fails after its round: failed, and why; no lines.
  const wrong = item('2:task');
  await expect(wrong).toHaveAttribute('data-status', 'completed');
  await expect(wrong.locator(':scope > div').first()).toContainText('2:task@wrongfailed');
  await expect(wrong.getByTestId('task-reason')).toHaveText(/^Failed: its checks still fail after 1 rounds?; it waits for a person$/);
  await expect(wrong.getByTestId('task-lines')).toHaveCount(0);
  const failed = doneSteps.find((s) => s.stepId === '2:task')!;
  await expect(wrong.getByTestId('task-link')).toHaveAttribute('href', `/projects?project=${project.id}&task=${failed.taskId}`);
  await expect(wrong.getByTestId('task-winner')).toHaveCount(0);

  await look(page, '/workflows (best of 2 done)', { widths: [1280, 390] });
  await page.setViewportSize({ width: 390, height: 800 });
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
  await page.setViewportSize({ width: 1280, height: 800 });

  // The winner's link opens its task on the project's board.
  await candidates[0]!.getByTestId('task-link').click();
  await expect(page).toHaveURL(new RegExp(`/projects/?\\?project=${project.id}&task=${result.winner!.taskId}$`));
  await expect(page.getByTestId('task-detail')).toHaveAccessibleName(`Task ${result.winner!.identifier}`);
});
