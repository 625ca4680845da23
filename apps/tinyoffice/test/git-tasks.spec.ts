/**
 * A repository-bound project in TinyOffice (docs/git-tasks.md, issue 51): the built daemon, a real
 * git repository (test-kit's gitRepos) and one check. The agent is the fake claude (test-kit's
 * FAKE_BIN_DIR) running a script in its worktree (the task title's `FAKE:bash=…`): it commits and
 * says done through its own update_task route, as the MCP tool does. One task's check passes (it
 * reaches Review), the other's fails (back to In progress with the check's log). The page shows
 * the checks with their logs, the commits, the diff and the project's worktrees. A person comments
 * on a line of the diff and requests changes: the agent gets the comment (the fake claude's
 * FAKE_LOG holds each prompt, and the script reads it), commits a fix and says done again, and the
 * task is back in Review with the comment sent in round 1. Moving a card to Done asks for the
 * merge in a dialog; the detail's Merge button shows a refusal's code (uncommitted work) and the
 * dialog then merges (main then holds the branch's tip, read with git), and the card says Merged;
 * before that, an auto-merge refused by the person's untracked file shows its reason on the detail.
 * A task whose check still fails after its project's maxRounds waits for a person: its detail
 * shows the `task_rounds` request's card, and Take over answers it.
 * Waits on states; axe in both themes.
 */
import { type Dialog, expect, type Locator, test, type Page } from '@playwright/test';
import { type ApiClient, createApiClient, type Task } from '@tinyagi/client';
import { FAKE_BIN_DIR, gitRepos, sh, tempDir } from '@tinyagi/test-kit';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon, type Daemon } from './daemon';
import { look } from './look';

test.describe.configure({ mode: 'serial' });

let daemon: Daemon;
let page: Page;
let client: ApiClient;
/** The fake claude appends each run's prompt here (one JSON line a run); the agent's script reads it too. */
let fakeLog: string;

test.beforeAll(async ({ browser }) => {
  fakeLog = join(tempDir('tinyoffice-git-log-'), 'fake.log');
  daemon = await startDaemon({
    // The fake claude, and git, sh and curl for the worktree, the checks and the agent's script.
    path: [FAKE_BIN_DIR, '/usr/bin', '/bin'],
    env: { FAKE_LOG: fakeLog },
    settings: (root) => ({
      workspace: { path: join(root, 'workspace') },
      models: { provider: 'anthropic' },
      channels: { enabled: [] },
      agents: { coder: { name: 'Coder', provider: 'anthropic', env_passthrough: ['FAKE_LOG'] } },
    }),
  });
  client = createApiClient({ baseUrl: daemon.url, token: readFileSync(join(daemon.home, 'api-token'), 'utf8').trim() });
  page = await (await browser.newContext()).newPage();
  await page.goto(await daemon.loginLink());
  await expect(page.getByTestId('connection')).toHaveAttribute('data-state', 'open');
});

// A failure here is often the daemon's (a refused merge, a check that hung): its log goes with it.
// biome-ignore lint/correctness/noEmptyPattern: Playwright reads the fixtures from a destructuring pattern.
test.afterEach(async ({}, info) => {
  if (info.status !== info.expectedStatus) await info.attach('daemon', { body: daemon.kit.logs(), contentType: 'text/plain' });
});

test.afterAll(async () => {
  await page?.context().close();
  await daemon?.cleanup();
});

/** Drags with real mouse moves in small steps (what dnd-kit listens to), as teams-projects.spec.ts does. */
async function mouseDrag(from: Locator, to: Locator): Promise<void> {
  const a = (await from.boundingBox())!;
  const b = (await to.boundingBox())!;
  await page.mouse.move(a.x + a.width / 2, a.y + a.height / 2);
  await page.mouse.down();
  await page.mouse.move(a.x + a.width / 2 + 8, a.y + a.height / 2 + 8, { steps: 4 });
  await page.mouse.move(b.x + b.width / 2, b.y + b.height / 2, { steps: 20 });
  await page.mouse.move(b.x + b.width / 2 + 2, b.y + b.height / 2 + 2, { steps: 2 });
  await page.mouse.up();
}

const COMMIT = 'git -c user.name=Agent -c user.email=agent@example.com commit -q';
/** What the reviewer writes on the added line, and what the agent's script looks for in its prompts. */
const REVIEW = 'Capitalise this line';

/**
 * An agent's script: commit `file` with `content` once, then say done. A later run changes
 * nothing (the failed check's feedback), unless `fix` is given and a prompt it got carries the
 * review comment: then it commits `fix` as the file's content and says done again, once.
 */
function agentScript(dir: string, name: string, file: string, content: string, fix?: string): string {
  const path = join(dir, `${name}.sh`);
  const answer = join(dir, `${name}.json`);
  const again = fix ? `if grep -q '${REVIEW}' "$FAKE_LOG" && ! grep -qx '${fix}' ${file}; then printf '${fix}\\n' > ${file} && ${COMMIT} -am 'Capitalise ${file}'; else exit 0; fi` : 'exit 0';
  writeFileSync(
    path,
    [
      `if [ -e ${file} ]; then ${again}`,
      `else printf '${content}\\n' > ${file} && git add ${file} && ${COMMIT} -m 'Add ${file}'; fi || exit 1`,
      // Renamed once complete: a redirect's file exists before curl has the answer.
      `curl -q -sS --noproxy "*" -X PATCH -H "authorization: Bearer $TINYAGI_RUN_TOKEN" -H 'content-type: application/json' -d '{"status":"review"}' "$TINYAGI_API_URL/api/runs/$TINYAGI_RUN_ID/task" > "${answer}.tmp" && mv "${answer}.tmp" "${answer}"`,
      '',
    ].join('\n'),
  );
  return path;
}

let repoDir: string;
let projectId: string;
let projectRepo: { path: string; worktreeRoot: string; checks: Array<{ name: string; argv: string[]; timeoutMs: number }>; keepAbandonedDays: number };
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
  // Every worktree counts as abandoned at once (keepAbandonedDays of a moment), so the list shows why each is kept.
  projectRepo = { path: repoDir, worktreeRoot: join(fx.root, 'worktrees'), checks: [lint], keepAbandonedDays: 1e-9 };
  const project = await client.createProject({ body: { name: 'Web', repo: projectRepo } });
  projectId = project.id;
  const goodScript = agentScript(scripts, 'good', 'feature.txt', 'added by the agent', 'Added by the agent');
  const badScript = agentScript(scripts, 'bad', 'broken.txt', 'oops');
  good = await client.createTask({ body: { title: `Add the feature FAKE:bash=sh ${goodScript} #`, projectId: project.id, assigneeAgent: 'coder', status: 'in_progress' } });
  bad = await client.createTask({ body: { title: `Break the lint FAKE:bash=sh ${badScript} #`, projectId: project.id, assigneeAgent: 'coder', status: 'in_progress' } });

  await page.goto(`${daemon.url}/projects?project=${project.id}&task=${good.id}`);
  const detail = page.getByTestId('task-detail');
  // The page follows the daemon's steps live (task.* events): Review, the check passed.
  const goodCard = page.locator(`li[data-task="${good.id}"]`);
  await expect(goodCard.getByTestId('task-git-badge')).toHaveText('checks passed', { timeout: 60_000 });
  await expect(page.locator('section[data-column="review"]').locator(`li[data-task="${good.id}"]`)).toBeVisible();
  // On a bound project's board, done is merged: the column says so, as the card, the CLI and the events do.
  await expect(page.locator('section[data-column="done"] h2')).toContainText('Merged');
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
  await expect(git.getByRole('button', { name: 'Merge', exact: true })).toBeEnabled();

  // The project's worktrees (folded until asked for): both tasks', abandoned (a moment's keepAbandonedDays) and kept, since their commits are neither merged nor pushed.
  await page.locator('summary:has(#worktrees-heading)').focus();
  await page.keyboard.press('Enter');
  const worktree = page.getByTestId('project-worktrees').getByTestId('worktree').filter({ hasText: good.git!.branch! });
  await expect(worktree).toContainText(good.git!.worktreePath!);
  await expect(worktree).toContainText(good.identifier!);
  await expect(worktree).toHaveAttribute('data-abandoned', 'true');
  await expect(worktree.getByTestId('worktree-removal')).toContainText('kept:');
  await expect(page.getByTestId('project-worktrees').getByTestId('worktree')).toHaveCount(2);
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
  await expect(git.getByRole('button', { name: 'Merge', exact: true })).toHaveCount(0);
  await expect(git.locator('[data-testid="diff-file"][data-path="broken.txt"] [data-line="add"]')).toHaveText('+oops');
  await look(page, '/projects (git task, check failed)');
});

test('a comment on a line of the diff, then Request changes: the agent gets it, commits a fix, the task is back in Review and the comment says sent in round 1', async () => {
  await page
    .locator(`li[data-task="${good.id}"]`)
    .getByRole('button', { name: /Add the feature/ })
    .click();
  const git = page.getByTestId('task-detail').getByTestId('task-git');
  const review = git.getByTestId('task-review');
  const firstTip = good.git!.check!.headSha!;
  // Nothing to send yet: the daemon refuses, and the page shows its code.
  await expect(review.getByTestId('request-changes-count')).toContainText('No review comment to send to @coder');
  await review.getByRole('button', { name: 'Request changes' }).click();
  await expect(review.getByTestId('request-changes-refusal')).toContainText('INVALID_STATE');

  // The added line's gutter button, by keyboard: the form opens under the line, its field focused.
  const file = git.locator('[data-testid="diff-file"][data-path="feature.txt"]');
  const lineButton = file.getByRole('button', { name: 'Comment on feature.txt line 1' });
  await lineButton.focus();
  await page.keyboard.press('Enter');
  const field = file.getByRole('textbox', { name: 'Your comment on feature.txt line 1' });
  await expect(field).toBeFocused();
  await field.fill(REVIEW);
  await file.getByRole('button', { name: 'Comment', exact: true }).click();
  const thread = file.locator('[data-testid="review-thread"][data-anchor="new:1"]');
  await expect(thread.getByTestId('review-comment')).toContainText(REVIEW);
  await expect(thread.getByTestId('review-comment')).toContainText('user');
  await expect(thread.getByTestId('comment-sent')).toHaveText('not sent yet');
  await expect(field).toHaveCount(0);
  await expect(lineButton).toBeFocused();
  await expect(review.getByTestId('request-changes-count')).toContainText('1 review comment will be sent to @coder');
  await expect(review.getByTestId('request-changes-refusal')).toHaveCount(0);
  const [comment] = (await client.listComments({ params: { id: good.id } })).filter((c) => c.anchor);
  expect(comment).toMatchObject({ content: REVIEW, sentRound: null, anchor: { path: 'feature.txt', line: 1, side: 'new', commitSha: firstTip } });

  await review.getByLabel('Summary of your review (optional)').fill('One thing to fix before the merge.');
  const answered = page.waitForResponse((r) => r.url().endsWith(`/api/tasks/${good.id}/request-changes`) && r.ok());
  await review.getByRole('button', { name: 'Request changes' }).click();
  // The daemon's answer: In progress, round 1, the comment (and the summary's) sent.
  const answer = await (await answered).json();
  expect(answer).toMatchObject({ task: { status: 'in_progress', git: { rounds: 1 } }, sent: { round: 1 } });
  expect(answer.sent.commentIds).toContain(comment!.id);
  await expect(git.getByTestId('changes-sent')).toContainText('sent in round 1');

  // The agent's next run got the comment with its file, in the worktree; it commits the fix and says done, the check passes: Review again.
  await expect
    .poll(async () => {
      const t = await client.getTask({ params: { id: good.id } });
      return t.status === 'review' && t.git?.check?.state === 'passed' && t.git.check.headSha !== firstTip;
    })
    .toBe(true);
  const prompts = readFileSync(fakeLog, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { prompt: string; cwd: string })
    .filter((r) => r.prompt.includes(REVIEW));
  expect(prompts).toHaveLength(1);
  expect(prompts[0]!.cwd).toBe(good.git!.worktreePath);
  expect(prompts[0]!.prompt).toContain('feature.txt');
  expect(prompts[0]!.prompt).toContain('One thing to fix before the merge.');

  good = await client.getTask({ params: { id: good.id } });
  await expect(git.getByTestId('task-rounds')).toHaveText('1');
  await expect(page.locator('section[data-column="review"]').locator(`li[data-task="${good.id}"]`)).toBeVisible();
  await expect(git.getByRole('list', { name: 'Commits' })).toContainText('Capitalise feature.txt');
  await expect(file.locator('[data-line="add"]')).toHaveText('+Added by the agent');
  // The fix rewrote the commented line: the comment follows the code, so it is outdated now, listed at the end, sent in round 1, written on the commit before the fix.
  const outdated = git.getByTestId('review-outdated').getByTestId('review-comment');
  await expect(outdated).toContainText('feature.txt:1 (outdated: the line changed since)');
  await expect(outdated.getByTestId('comment-sent')).toHaveText('sent in round 1');
  await expect(outdated).toContainText(`written on ${firstTip.slice(0, 12)}`);
  await expect(thread).toHaveCount(0);
  await expect(page.getByTestId('task-detail').getByRole('list', { name: 'Comments', exact: true })).toContainText('One thing to fix before the merge.');
  await look(page, '/projects (review comment sent)', { widths: [1280, 390] });
});

test('moving a card of the bound project to Done asks for the merge: a drag or the status menu opens the dialog, which shows the refusal; the card stays', async () => {
  const badCard = page.locator(`li[data-task="${bad.id}"]`);
  const handle = badCard.getByRole('button', { name: `Move ${bad.identifier}` });
  await handle.focus();
  await page.keyboard.press('Space');
  await expect(handle).toHaveAttribute('aria-pressed', 'true');
  // dnd-kit listens for the arrow keys from a setTimeout(0) after the pick-up (a macrotask queued after it, not a clock wait).
  await page.evaluate(() => new Promise((resolve) => setTimeout(resolve, 0)));
  await page.keyboard.press('ArrowRight');
  await expect(page.locator('section[data-column="review"]').locator(`li[data-task="${bad.id}"]`)).toBeVisible();
  await page.keyboard.press('ArrowRight');
  await expect(page.locator('section[data-column="done"]').locator(`li[data-task="${bad.id}"]`)).toBeVisible();
  await page.keyboard.press('Space');
  const dialog = page.getByRole('dialog', { name: `Merge ${bad.identifier}?` });
  await expect(dialog).toBeVisible();
  await expect(page.locator('section[data-column="in_progress"]').locator(`li[data-task="${bad.id}"]`)).toBeVisible();
  await look(page, '/projects (merge dialog)');
  await dialog.getByRole('button', { name: 'Merge', exact: true }).click();
  await expect(dialog.getByTestId('merge-refusal')).toContainText('INVALID_STATE');
  await page.keyboard.press('Escape');
  await expect(dialog).toBeHidden();
  expect((await client.getTask({ params: { id: bad.id } })).status).toBe('in_progress');

  // The detail's status menu: Done asks the same, and Cancel leaves the task as it was.
  await badCard.getByRole('button', { name: /Break the lint/ }).click();
  // The detail shown is this task's (the one open before is replaced once the address changes).
  const detail = page.getByRole('region', { name: `Task ${bad.identifier}` });
  await detail.getByLabel('Status').selectOption('done');
  await detail.getByRole('button', { name: 'Save task' }).click();
  await expect(dialog).toBeVisible();
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await expect(dialog).toBeHidden();
  await expect(detail.getByLabel('Status')).toHaveValue('in_progress');
  expect((await client.getTask({ params: { id: bad.id } })).status).toBe('in_progress');
});

test('Merge shows a refusal with its code; moved to Done, the dialog merges the task in Review: main holds its tip, the detail says where, the card says Merged', async () => {
  await page
    .locator(`li[data-task="${good.id}"]`)
    .getByRole('button', { name: /Add the feature/ })
    .click();
  const git = page.getByTestId('task-detail').getByTestId('task-git');
  const tip = good.git!.check!.headSha!;
  // Auto-merge refused by the person's untracked feature.txt in their checkout: the detail says so and why.
  writeFileSync(join(repoDir, 'feature.txt'), 'mine\n');
  await client.patchProject({ params: { id: projectId }, body: { repo: { ...projectRepo, autoMerge: { when: 'checked' } } } });
  await client.checkTask({ params: { id: good.id } });
  // The page follows it live (task.auto_merge_refused).
  await expect(git.getByTestId('auto-merge-refused')).toContainText('Auto-merge refused: INVALID_STATE: Merging task');
  await expect(git.getByTestId('auto-merge-refused')).toContainText('feature.txt');
  await client.patchProject({ params: { id: projectId }, body: { repo: projectRepo } });
  rmSync(join(repoDir, 'feature.txt'));

  // A refusal shows the daemon's code and message, and nothing moves: a stray file in the worktree.
  const stray = join(good.git!.worktreePath!, 'stray.txt');
  writeFileSync(stray, 'not committed\n');
  const before = sh(repoDir, 'rev-parse', 'main');
  await git.getByRole('button', { name: 'Merge', exact: true }).click();
  await expect(git.getByTestId('merge-refusal')).toContainText('WORKTREE_UNSAFE');
  await expect(git.getByTestId('merge-refusal')).toContainText('stray.txt');
  expect(sh(repoDir, 'rev-parse', 'main')).toBe(before);
  rmSync(stray);

  // Dragged to Done with the mouse: the dialog merges.
  const card = page.locator(`li[data-task="${good.id}"]`);
  await card.scrollIntoViewIfNeeded();
  await mouseDrag(card.getByRole('button', { name: `Move ${good.identifier}` }), page.locator('section[data-column="done"]'));
  const dialog = page.getByRole('dialog', { name: `Merge ${good.identifier}?` });
  await dialog.getByLabel('Merge as').selectOption('merge');
  await dialog.getByRole('button', { name: 'Merge', exact: true }).click();
  // Closed once merged; a refusal (or a merge still running) is what a failure says, not only "visible".
  await expect(async () => {
    const refusal = dialog.getByTestId('merge-refusal');
    expect((await refusal.isVisible()) ? await refusal.textContent() : null, 'the merge was refused').toBeNull();
    await expect(dialog, 'the dialog is still open: the merge has not answered').toBeHidden({ timeout: 1_000 });
  }).toPass({ timeout: 30_000 });
  await expect(git.getByTestId('task-merged')).toContainText('Merged into main at');
  const main = sh(repoDir, 'rev-parse', 'main');
  await expect(git.getByTestId('task-merged')).toContainText(main.slice(0, 12));
  expect(sh(repoDir, 'merge-base', '--is-ancestor', tip, 'main')).toBe('');
  expect(sh(repoDir, 'log', '-1', '--format=%P', 'main').split(' ')).toContain(tip);
  await expect(page.locator(`li[data-task="${good.id}"]`).getByTestId('task-git-badge')).toHaveText('Merged');
  await expect(page.locator('section[data-column="done"]').locator(`li[data-task="${good.id}"]`)).toBeVisible();
  // The diff is still there, read from the merge commit; the worktree is gone from the list.
  await expect(git.locator('[data-testid="diff-file"][data-path="feature.txt"] [data-line="add"]')).toHaveText('+Added by the agent');
  await expect(git.getByRole('button', { name: 'Merge', exact: true })).toHaveCount(0);
  await expect(page.getByTestId('project-worktrees').getByTestId('worktree')).toHaveCount(1);
  await look(page, '/projects (git task merged)');
});

test('the failing task deleted, its worktree kept: listed as orphaned; Remove is refused naming its commit, Remove anyway removes it', async () => {
  bad = await client.getTask({ params: { id: bad.id } });
  const worktreePath = bad.git!.worktreePath!;
  await page
    .locator(`li[data-task="${bad.id}"]`)
    .getByRole('button', { name: /Break the lint/ })
    .click();
  // Delete it? Yes. Remove its worktree too? No: kept.
  const answers = [true, false];
  const answer = (d: Dialog): void => void (answers.shift() ? d.accept() : d.dismiss());
  page.on('dialog', answer);
  await page.getByTestId('task-detail').getByRole('button', { name: 'Delete task' }).click();
  await expect(page.locator(`li[data-task="${bad.id}"]`)).toHaveCount(0);
  page.off('dialog', answer);
  expect(existsSync(worktreePath)).toBe(true);

  await page.getByRole('button', { name: 'Refresh the worktrees' }).click();
  const row = page.getByTestId('project-worktrees').getByTestId('worktree').filter({ hasText: worktreePath });
  await expect(row).toHaveAttribute('data-state', 'orphaned');
  await expect(row).toContainText('deleted task');
  // Remove: confirmed; refused with what it holds; Remove anyway: confirmed.
  const asked: string[] = [];
  const accept = (d: Dialog): void => {
    asked.push(d.message());
    void d.accept();
  };
  page.on('dialog', accept);
  await row.getByRole('button', { name: /Remove the worktree of/ }).click();
  await expect(row).toHaveCount(0);
  page.off('dialog', accept);
  expect(asked).toHaveLength(2);
  expect(asked[1]).toContain('WORKTREE_UNSAFE');
  expect(asked[1]).toContain('Add broken.txt');
  expect(existsSync(worktreePath)).toBe(false);
  await look(page, '/projects (orphaned worktree removed)');
});

test('a task whose check still fails after maxRounds waits for a person: its detail shows the request, and Take over hands it to nobody', async () => {
  const fx = gitRepos();
  const scripts = tempDir('tinyoffice-git-rounds-');
  const script = join(scripts, 'again.sh');
  // Commits broken.txt once, and says done on every run: the lint fails the same way each time.
  writeFileSync(
    script,
    [
      `[ -e broken.txt ] || { printf 'oops\\n' > broken.txt && git add broken.txt && ${COMMIT} -m 'Add broken.txt'; } || exit 1`,
      `curl -q -sS --noproxy "*" -X PATCH -H "authorization: Bearer $TINYAGI_RUN_TOKEN" -H 'content-type: application/json' -d '{"status":"review"}' "$TINYAGI_API_URL/api/runs/$TINYAGI_RUN_ID/task" > /dev/null`,
      '',
    ].join('\n'),
  );
  const lint = { name: 'lint', argv: ['sh', '-c', 'if [ -e broken.txt ]; then echo "broken.txt must not be committed"; exit 3; fi'], timeoutMs: 30_000 };
  const project = await client.createProject({ body: { name: 'Api', repo: { path: fx.repoDir, worktreeRoot: join(fx.root, 'worktrees'), checks: [lint], maxRounds: 1 } } });
  const task = await client.createTask({ body: { title: `Keep breaking FAKE:bash=sh ${script} #`, projectId: project.id, assigneeAgent: 'coder', status: 'in_progress' } });

  await page.goto(`${daemon.url}/projects?project=${project.id}&task=${task.id}`);
  const waits = page.getByTestId('task-detail').getByTestId('task-waits-for-person');
  await expect(waits).toContainText('This task waits for a person: its checks still fail after 1 round.', { timeout: 60_000 });
  const card = waits.getByTestId('approval');
  await expect(card.getByRole('heading')).toHaveText(`Task ${task.identifier} of @coder waits for a person after 1 round`);
  await expect(card.getByTestId('approval-left')).toHaveText('waits until answered');
  await expect(card.getByTestId('approval-summary')).toContainText('The check "lint"');
  await expect(card.getByRole('button', { name: 'Another 1 round' })).toBeEnabled();
  // Six columns with Checking's, at 1280 px: Done is within the board, not cut off behind a scroll.
  const board = (await page.getByTestId('kanban').boundingBox())!;
  const done = (await page.locator('section[data-column="done"]').boundingBox())!;
  expect(done.x + done.width).toBeLessThanOrEqual(board.x + board.width + 1);
  await look(page, '/projects (task waits for a person)');
  await card.getByRole('button', { name: 'Take over' }).click();
  await expect(page.getByTestId('task-detail').getByTestId('task-rounds-answer')).toHaveText('After 1 round: taken over by tinyoffice.');
  // The card says what the person decided, not "needs a person" any more.
  await expect(page.locator(`li[data-task="${task.id}"]`).getByTestId('task-git-badge')).toHaveText('taken over');
  expect(await client.getTask({ params: { id: task.id } })).toMatchObject({ status: 'in_progress', assigneeAgent: null, git: { roundsApproval: { decision: 'take_over' } } });
  const [request] = await client.listApprovals({ query: { taskId: task.id } });
  expect(request).toMatchObject({ kind: 'task_rounds', status: 'answered', decision: 'take_over', decidedBy: 'tinyoffice' });
});
