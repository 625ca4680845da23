/**
 * A repository-bound project in TinyOffice (docs/git-tasks.md, issue 51): the built daemon, a real
 * git repository (test-kit's gitRepos) and one check. The agent is the fake claude (test-kit's
 * FAKE_BIN_DIR) running a script in its worktree (the task title's `FAKE:bash=…`): it commits and
 * says done through its own update_task route, as the MCP tool does. One task's check passes (it
 * reaches Review), the other's fails (back to In progress with the check's log). The page shows
 * the checks with their logs, the commits and the diff; the Merge button shows a refusal's code
 * (uncommitted work) and then merges (main then holds the branch's tip, read with git), and the
 * card says Merged. Waits on states; axe in both themes.
 */
import { expect, test, type Page } from '@playwright/test';
import { type ApiClient, createApiClient, type Task } from '@tinyagi/client';
import { FAKE_BIN_DIR, gitRepos, sh, tempDir } from '@tinyagi/test-kit';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon, type Daemon } from './daemon';
import { look } from './look';

test.describe.configure({ mode: 'serial' });

let daemon: Daemon;
let page: Page;
let client: ApiClient;

test.beforeAll(async ({ browser }) => {
  daemon = await startDaemon({
    // The fake claude, and git, sh and curl for the worktree, the checks and the agent's script.
    path: [FAKE_BIN_DIR, '/usr/bin', '/bin'],
    settings: (root) => ({
      workspace: { path: join(root, 'workspace') },
      models: { provider: 'anthropic' },
      channels: { enabled: [] },
      agents: { coder: { name: 'Coder', provider: 'anthropic' } },
    }),
  });
  client = createApiClient({ baseUrl: daemon.url, token: readFileSync(join(daemon.home, 'api-token'), 'utf8').trim() });
  page = await (await browser.newContext()).newPage();
  await page.goto(await daemon.loginLink());
  await expect(page.getByTestId('connection')).toHaveAttribute('data-state', 'open');
});

test.afterAll(async () => {
  await page?.context().close();
  await daemon?.cleanup();
});

/** An agent's script: commit `file` with `content` once (a later run, the feedback's, changes nothing), then say done. */
function agentScript(dir: string, name: string, file: string, content: string): string {
  const path = join(dir, `${name}.sh`);
  const answer = join(dir, `${name}.json`);
  writeFileSync(
    path,
    [
      `[ -e ${file} ] && exit 0`,
      `printf '${content}\\n' > ${file} && git add ${file} && git -c user.name=Agent -c user.email=agent@example.com commit -q -m 'Add ${file}'`,
      // Renamed once complete: a redirect's file exists before curl has the answer.
      `curl -sS -X PATCH -H "authorization: Bearer $TINYAGI_RUN_TOKEN" -H 'content-type: application/json' -d '{"status":"review"}' "$TINYAGI_API_URL/api/runs/$TINYAGI_RUN_ID/task" > "${answer}.tmp" && mv "${answer}.tmp" "${answer}"`,
      '',
    ].join('\n'),
  );
  return path;
}

let repoDir: string;
let good: Task;
let bad: Task;

test('a task whose check passes reaches Review; its detail shows the check, its log, the commits and the diff', async () => {
  const fx = gitRepos();
  repoDir = fx.repoDir;
  // The daemon's environment has no git identity: the merge commit takes the repository's.
  sh(repoDir, 'config', 'user.name', 'Person');
  sh(repoDir, 'config', 'user.email', 'person@example.com');
  const scripts = tempDir('tinyoffice-git-agent-');
  const lint = {
    name: 'lint',
    argv: ['sh', '-c', 'if [ -e broken.txt ]; then echo "checking broken.txt" ; echo "broken.txt must not be committed" >&2; exit 3; fi; echo "all files clean"'],
    timeoutMs: 30_000,
  };
  const project = await client.createProject({ body: { name: 'Web', repo: { path: repoDir, worktreeRoot: join(fx.root, 'worktrees'), checks: [lint] } } });
  const goodScript = agentScript(scripts, 'good', 'feature.txt', 'added by the agent');
  const badScript = agentScript(scripts, 'bad', 'broken.txt', 'oops');
  good = await client.createTask({ body: { title: `Add the feature FAKE:bash=sh ${goodScript} #`, projectId: project.id, assigneeAgent: 'coder', status: 'in_progress' } });
  bad = await client.createTask({ body: { title: `Break the lint FAKE:bash=sh ${badScript} #`, projectId: project.id, assigneeAgent: 'coder', status: 'in_progress' } });

  await page.goto(`${daemon.url}/projects?project=${project.id}&task=${good.id}`);
  const detail = page.getByTestId('task-detail');
  // The page follows the daemon's steps live (task.* events): Review, the check passed.
  const goodCard = page.locator(`li[data-task="${good.id}"]`);
  await expect(goodCard.getByTestId('task-git-badge')).toHaveText('checks passed', { timeout: 60_000 });
  await expect(page.locator('section[data-column="review"]').locator(`li[data-task="${good.id}"]`)).toBeVisible();
  good = await client.getTask({ params: { id: good.id } });
  expect(good).toMatchObject({ status: 'review', git: { check: { state: 'passed', commits: 1 } } });

  const git = detail.getByTestId('task-git');
  await expect(git).toContainText(good.git!.branch!);
  await expect(git).toContainText(good.git!.worktreePath!);
  await expect(git.getByTestId('task-checking')).toHaveAttribute('data-state', 'passed');
  const check = git.locator('[data-testid="task-check"][data-check="lint"]');
  await expect(check).toContainText('passed');
  await expect(check.locator('details')).not.toHaveAttribute('open', '');
  // A passed check's log is there, folded: opened by keyboard.
  await check.locator('summary').focus();
  await page.keyboard.press('Enter');
  await expect(check.getByLabel('Log of lint')).toContainText('all files clean');
  await expect(check).toContainText('Command: sh -c');

  await expect(git.getByRole('list', { name: 'Commits' })).toContainText('Add feature.txt');
  const file = git.locator('[data-testid="diff-file"][data-path="feature.txt"]');
  await expect(file.locator('summary')).toContainText('added');
  await expect(file.locator('summary')).toContainText('+1');
  await expect(file.locator('[data-line="add"]')).toHaveText('+added by the agent');
  // Collapsible by keyboard.
  await file.locator('summary').focus();
  await page.keyboard.press('Enter');
  await expect(file.locator('[data-line="add"]')).toBeHidden();
  await page.keyboard.press('Enter');
  await expect(file.locator('[data-line="add"]')).toBeVisible();
  await expect(git.getByRole('button', { name: 'Merge' })).toBeEnabled();
  await look(page, '/projects (git task in review)');
});

test('a task whose check fails comes back to In progress; its detail shows the failure open, with exit code and log, and what does not hold', async () => {
  const badCard = page.locator(`li[data-task="${bad.id}"]`);
  await expect(badCard.getByTestId('task-git-badge')).toHaveText('checks failed', { timeout: 60_000 });
  bad = await client.getTask({ params: { id: bad.id } });
  expect(bad).toMatchObject({ status: 'in_progress', git: { rounds: 1, check: { state: 'failed' } } });
  await badCard.getByRole('button', { name: /Break the lint/ }).click();
  const git = page.getByTestId('task-detail').getByTestId('task-git');
  await expect(git.getByTestId('task-checking')).toHaveAttribute('data-state', 'failed');
  const check = git.locator('[data-testid="task-check"][data-check="lint"]');
  await expect(check).toContainText('exit 3');
  await expect(check.locator('details')).toHaveAttribute('open', '');
  await expect(check.getByLabel('Log of lint')).toContainText('broken.txt must not be committed');
  await expect(git.getByRole('list', { name: 'What does not hold' })).toContainText('lint');
  await expect(git.getByRole('button', { name: 'Merge' })).toHaveCount(0);
  await expect(git.locator('[data-testid="diff-file"][data-path="broken.txt"] [data-line="add"]')).toHaveText('+oops');
  await look(page, '/projects (git task, check failed)');
});

test('Merge shows a refusal with its code, then merges the task in Review: main holds its tip, the detail says where, the card says Merged', async () => {
  await page
    .locator(`li[data-task="${good.id}"]`)
    .getByRole('button', { name: /Add the feature/ })
    .click();
  const git = page.getByTestId('task-detail').getByTestId('task-git');
  const tip = good.git!.check!.headSha!;
  // A refusal shows the daemon's code and message, and nothing moves: a stray file in the worktree.
  const stray = join(good.git!.worktreePath!, 'stray.txt');
  writeFileSync(stray, 'not committed\n');
  const before = sh(repoDir, 'rev-parse', 'main');
  await git.getByRole('button', { name: 'Merge' }).click();
  await expect(git.getByTestId('merge-refusal')).toContainText('WORKTREE_UNSAFE');
  await expect(git.getByTestId('merge-refusal')).toContainText('stray.txt');
  expect(sh(repoDir, 'rev-parse', 'main')).toBe(before);
  rmSync(stray);

  await git.getByLabel('Merge as').selectOption('merge');
  await git.getByRole('button', { name: 'Merge' }).click();
  await expect(git.getByTestId('task-merged')).toContainText('Merged into main at');
  const main = sh(repoDir, 'rev-parse', 'main');
  await expect(git.getByTestId('task-merged')).toContainText(main.slice(0, 12));
  expect(sh(repoDir, 'merge-base', '--is-ancestor', tip, 'main')).toBe('');
  expect(sh(repoDir, 'log', '-1', '--format=%P', 'main').split(' ')).toContain(tip);
  await expect(page.locator(`li[data-task="${good.id}"]`).getByTestId('task-git-badge')).toHaveText('Merged');
  await expect(page.locator('section[data-column="done"]').locator(`li[data-task="${good.id}"]`)).toBeVisible();
  // The diff is still there, read from the merge commit.
  await expect(git.locator('[data-testid="diff-file"][data-path="feature.txt"] [data-line="add"]')).toHaveText('+added by the agent');
  await expect(git.getByRole('button', { name: 'Merge' })).toHaveCount(0);
  await look(page, '/projects (git task merged)');
});
