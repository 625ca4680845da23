/**
 * A project whose repository is on another node (docs/git-tasks.md, "Several nodes"): the daemon
 * on the local PostgreSQL (a schema of its own) and a project bound to a real repository. In the
 * Repository dialog the person names the node that holds it (this one, which checks it); the
 * binding then names node wk1 and the repository leaves this disk, as when it is on wk1's only;
 * two tasks are as wk1's flow records them (written to the store, as approvals.spec.ts plants a
 * request: a second node is not needed to show a recorded state): WEB-1 in Review with its
 * worktree in wk1's home and a person's merge recorded for wk1 (`git.request`), WEB-2 started
 * with its worktree waiting for wk1 (`creating`, no folder). wk1 never joined, so the status lists
 * it as down. The cards say `on wk1` and `merge waits for wk1`; WEB-1's detail says its worktree is
 * on node wk1 and the merge waits for node wk1 (down) since when; WEB-2's that its worktree waits
 * for wk1; the repository's summary and dialog show the node. axe in both themes.
 */
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test, type BrowserContext, type Page } from '@playwright/test';
import { gitRepos } from '@tinyagi/test-kit';
import { pgTestDatabase, testSchema } from '@tinyagi/test-kit/pg';
import { openOffice, SETTINGS, type Daemon } from './daemon';
import { look } from './look';

const schema = testSchema('office_task_node');
let url = '';
let daemon: Daemon;
let context: BrowserContext;
let page: Page;

/** TinyOffice has no PostgreSQL client of its own: psql (beside the server). */
const psql = (sql: string) => execFileSync('psql', [url, '-qc', sql], { env: { ...process.env, PGOPTIONS: '-c client_min_messages=warning' } });
const json = (value: unknown) => `$json$${JSON.stringify(value)}$json$`;

test.beforeAll(async ({ browser }) => {
  const db = await pgTestDatabase();
  test.skip(db.skip !== undefined, db.skip);
  url = db.url;
  // git on the daemon's PATH: binding looks at the repository with it.
  ({ daemon, context, page } = await openOffice(browser, { path: ['/usr/bin', '/bin'], settings: (root) => ({ ...SETTINGS(root), storage: { url, schema } }) }));
});

test.afterAll(async () => {
  await context?.close();
  await daemon?.cleanup();
  if (url !== '') psql(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
});

test('a task whose worktree is on node wk1 says so, and a merge recorded for wk1 waits there while it is down', async () => {
  const { kit } = daemon;
  const { root, repoDir } = gitRepos();
  const project = await kit.api.createProject({ body: { name: 'Web', repo: { path: repoDir } } });
  const inReview = await kit.api.createTask({ body: { title: 'Fix the login', projectId: project.id, assigneeAgent: 'coder' } });
  const starting = await kit.api.createTask({ body: { title: 'Add a logout button', projectId: project.id, assigneeAgent: 'coder' } });
  expect(inReview.identifier).toBe('WEB-1');

  // The person names the node that holds the repository: this one, which checks the binding.
  const here = (await kit.api.status()).nodes.find((n) => n.self)!.name;
  await page.goto(`${kit.url}/projects?project=${project.id}`);
  const summary = page.getByTestId('repo-summary');
  const dialog = page.getByRole('dialog', { name: 'Repository of Web' });
  // Once, under load (a clean-clone CI run), the click opened nothing: the dialog never came and the
  // page was otherwise whole. Click again until it is open (the cause is not known yet).
  await expect(async () => {
    if (!(await dialog.isVisible())) await summary.getByRole('button', { name: 'Edit binding' }).click();
    await expect(dialog).toBeVisible({ timeout: 2_000 });
  }).toPass();
  await expect(dialog.getByLabel('Node')).toHaveValue('');
  await dialog.getByLabel('Node').fill(here);
  await dialog.getByRole('button', { name: 'Save' }).click();
  await expect(dialog).toHaveCount(0);
  await expect(summary).toContainText(`node${here}`);
  expect((await kit.api.getProject({ params: { id: project.id } })).repo?.node).toBe(here);

  // The repository is on wk1's disk only; the tasks as wk1's flow records them.
  rmSync(repoDir, { recursive: true, force: true });
  psql(`UPDATE "${schema}".projects SET repo = ${json({ ...project.repo, node: 'wk1' })} WHERE id = '${project.id}'`);
  const now = Date.now();
  const head = 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678';
  const worktree = join(root, 'wk1', '.tinyagi', 'worktrees', project.id, 'WEB-1');
  const check = { state: 'passed', headSha: head, startedAt: now - 60_000, finishedAt: now - 55_000, commits: 1, uncommitted: [], pushed: null, checks: [], missing: [], error: null };
  const request = { id: 'step_office_1', step: 'merge', node: 'wk1', args: {}, requestedAt: now };
  const reviewGit = { state: 'ready', branch: 'tinyagi/WEB-1-fix-the-login', worktreePath: worktree, node: 'wk1', request, headSha: head, error: null, rounds: 0, check, updatedAt: now };
  psql(`UPDATE "${schema}".tasks SET status = 'review', git = ${json(reviewGit)} WHERE id = '${inReview.id}'`);
  const startGit = { state: 'creating', branch: null, worktreePath: null, node: 'wk1', headSha: null, error: null, updatedAt: now };
  psql(`UPDATE "${schema}".tasks SET status = 'in_progress', git = ${json(startGit)} WHERE id = '${starting.id}'`);
  expect((await kit.api.getTask({ params: { id: inReview.id } })).git).toMatchObject({ node: 'wk1', request: { step: 'merge', node: 'wk1' } });
  expect((await kit.api.status()).nodes.map((n) => n.name)).not.toContain('wk1');

  await page.goto(`${kit.url}/projects?project=${project.id}&task=${inReview.id}`);
  const card = page.locator(`li[data-task="${inReview.id}"]`);
  await expect(card.getByTestId('task-node')).toHaveText('on wk1');
  await expect(card.getByTestId('task-step-waits-badge')).toHaveText('merge waits for wk1');
  await expect(summary).toContainText('nodewk1');
  const git = page.getByTestId('task-detail').getByTestId('task-git');
  await expect(git.getByTestId('task-worktree-node')).toHaveText(' on node wk1');
  await expect(git).toContainText(worktree);
  const waits = git.getByTestId('task-step-waits');
  await expect(waits).toHaveAttribute('data-node-state', 'absent');
  await expect(waits).toHaveText(/^Merge waits for node wk1 \(down\) since .+: it runs there when the node is back\.$/);
  await look(page, 'merge waits for its node');

  // The other task's start waits for wk1: no worktree yet.
  await page
    .locator(`li[data-task="${starting.id}"]`)
    .getByRole('button', { name: /Add a logout button/ })
    .click();
  await expect(page.getByTestId('task-detail').getByTestId('task-worktree-node')).toHaveText('waits for node wk1 (down): made there when the node is back');
  await expect(page.getByTestId('task-detail').getByTestId('task-step-waits')).toHaveCount(0);
  await look(page, 'start waits for its node');

  // The Repository dialog shows the node.
  await summary.getByRole('button', { name: 'Edit binding' }).click();
  await expect(dialog.getByLabel('Node')).toHaveValue('wk1');
});
