/**
 * `tinyagi task list|show|comment|request-changes|merge|worktrees` (docs/git-tasks.md) against the
 * built daemon, with a real repository: two tasks of a bound project, each worked by the fake
 * claude running a script in its worktree (it commits, then says done with its own update_task
 * route). WEB-1's check passes (Review); WEB-2's fails twice and, at `maxRounds: 1`, waits in
 * Checking for a person. The commands print what the daemon proved (branch, each check's result, a
 * failed check's output), put a review comment on WEB-1's diff and send it back (the script
 * commits again and the check passes), merge WEB-1 into main (the base's tip is the branch's, its
 * worktree gone), refuse to merge WEB-2 with the daemon's code, and list the worktree that is left.
 */
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gitRepos, sh, tempDir, type TestDaemon, waitFor } from '@tinyagi/test-kit';
import { createCoderDaemon, sayDoneLine } from './helpers/git-agent.ts';

let daemon: TestDaemon;
let repoDir: string;
let worktreeRoot: string;
let projectId: string;

/** The fake claude's script: write `content` (and a nonce, so a second run has something to commit), commit, say done. */
function agentScript(content: string): string {
  const dir = tempDir('tinyagi-task-cmd-agent-');
  const script = join(dir, 'agent.sh');
  writeFileSync(
    script,
    [`printf '%s %s\\n' '${content}' "$(date +%s%N)" > work.txt && git add work.txt && git -c user.name=Agent -c user.email=agent@example.com commit -q -m work`, sayDoneLine(), ''].join('\n'),
  );
  return script;
}

const check = { name: 'lint', argv: ['sh', '-c', 'cat work.txt; grep -q good work.txt || { echo "lint: work.txt is not good"; exit 1; }'], timeoutMs: 30_000 };

beforeAll(async () => {
  const fx = gitRepos();
  repoDir = fx.repoDir;
  worktreeRoot = join(fx.root, 'worktrees');
  daemon = await createCoderDaemon('tinyagi-task-cmd-');
  await daemon.start();
  const api = daemon.api;
  const project = await api.createProject({ body: { name: 'Web', repo: { path: repoDir, worktreeRoot, checks: [check], maxRounds: 1 } } });
  projectId = project.id;
  const good = await api.createTask({ body: { title: `Good change FAKE:bash=sh ${agentScript('good')} #`, projectId: project.id, assigneeAgent: 'coder', status: 'in_progress' } });
  const bad = await api.createTask({ body: { title: `Bad change FAKE:bash=sh ${agentScript('bad')} #`, projectId: project.id, assigneeAgent: 'coder', status: 'in_progress' } });
  await waitFor(
    async () => {
      const [g, b] = await Promise.all([api.getTask({ params: { id: good.id } }), api.getTask({ params: { id: bad.id } })]);
      for (const t of [g, b]) if (t.git?.state === 'failed') throw new Error(`the worktree step failed: ${t.git.error?.code}: ${t.git.error?.message}`);
      return g.status === 'review' && b.git?.check?.state === 'needs_person';
    },
    120_000,
    'WEB-1 in review and WEB-2 waiting for a person',
  );
}, 180_000);

afterAll(async () => {
  await daemon?.cleanup();
});

describe('tinyagi task', () => {
  it('list: each task with its status, branch and last Checking; --status and --project filter', async () => {
    const all = await daemon.cliHereOk(['task', 'list']);
    expect(all).toMatch(/WEB-1\s+review\s+@coder\s+tinyagi\/WEB-1-good-change\S*\s+passed 1\/1\s+Good change/);
    expect(all).toMatch(/WEB-2\s+checking\s+@coder\s+tinyagi\/WEB-2-bad-change\S*\s+needs a person: lint exit 1\s+Bad change/);
    const review = await daemon.cliHereOk(['task', 'ls', '--status', 'review', '--project', 'web']);
    expect(review).toContain('WEB-1');
    expect(review).not.toContain('WEB-2');
    const json = JSON.parse(await daemon.cliHereOk(['task', 'list', '--json'])) as Array<{ identifier: string }>;
    expect(json.map((t) => t.identifier).sort()).toEqual(['WEB-1', 'WEB-2']);
    const unknown = await daemon.cliHere(['task', 'list', '--project', 'nope']);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain('No project "nope". Projects: WEB (Web).');
  });

  it("show: the branch, the worktree, each check's result and a failed check's output; an unknown task is the daemon's 404", async () => {
    const bad = await daemon.cliHereOk(['task', 'show', 'WEB-2', '--lines', '2']);
    expect(bad).toMatch(/branch: +tinyagi\/WEB-2-bad-change/);
    expect(
      bad
        .split('\n')
        .find((l) => l.startsWith('worktree: '))
        ?.replace(/^worktree: +/, ''),
    ).toBe(join(worktreeRoot, 'WEB-2'));
    expect(bad).toMatch(/rounds: +1\n/);
    expect(bad).toContain('Checking: needs a person: lint exit 1');
    expect(bad).toMatch(/lint\s+exit 1\s+\S+\s+sh -c cat work\.txt/);
    expect(bad).toContain("The end of lint's output:");
    expect(bad).toMatch(/ {2}bad \d+\n {2}lint: work\.txt is not good/);
    const good = await daemon.cliHereOk(['task', 'show', 'WEB-1']);
    expect(good).toContain('Checking: passed 1/1');
    expect(good).toContain('Merge it with `tinyagi task merge WEB-1`.');
    const missing = await daemon.cliHere(['task', 'show', 'WEB-99']);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/not found|NOT_FOUND/i);
  });

  it("comment on a line, show lists it unsent, request-changes sends it to the agent (which commits again, checked: review); show says the round; nothing left to send is the daemon's 409", async () => {
    const tipBefore = sh(join(worktreeRoot, 'WEB-1'), 'rev-parse', 'HEAD');
    const commented = await daemon.cliHereOk(['task', 'comment', 'WEB-1', 'Say', 'why', 'it', 'is', 'good.', '--file', 'work.txt', '--line', '1']);
    expect(commented).toMatch(/^Commented on WEB-1 at work\.txt:1 \(comment \d+, on commit [0-9a-f]{10}\); `tinyagi task request-changes WEB-1` sends it/);
    expect(commented).toContain(`on commit ${tipBefore.slice(0, 10)}`);
    const half = await daemon.cliHere(['task', 'comment', 'WEB-1', 'x', '--line', '1']);
    expect(half.code).toBe(2);
    expect(half.stderr).toContain('A review comment needs both --file and --line');
    const notInDiff = await daemon.cliHere(['task', 'comment', 'WEB-1', 'x', '--file', 'README.md', '--line', '1']);
    expect(notInDiff.code).not.toBe(0);
    expect(notInDiff.stderr).toContain('INVALID_PATH');

    const unsent = await daemon.cliHereOk(['task', 'show', 'WEB-1']);
    expect(unsent).toContain('Review comments: 1 (1 not sent)');
    expect(unsent).toMatch(/work\.txt:1\s+user\s+not sent\s+Say why it is good\./);
    expect(unsent).toContain('or send the review comments with `tinyagi task request-changes WEB-1`');

    const sent = await daemon.cliHereOk(['task', 'request-changes', 'WEB-1', '--summary', 'One more pass.']);
    expect(sent).toMatch(/^Sent 2 comments to @coder \(round 1\); WEB-1 is in progress again, in conversation conv_\S+\.\n$/);
    // The agent's script runs again on the message: it commits, says done, the check passes.
    await waitFor(
      async () => {
        const t = await daemon.api.getTask({ params: { id: 'WEB-1' } });
        return t.status === 'review' && t.git?.check?.headSha !== tipBefore ? t : undefined;
      },
      60_000,
      'WEB-1 back in review',
    );
    const shown = await daemon.cliHereOk(['task', 'show', 'WEB-1']);
    expect(shown).toContain('Review comments: 1 (0 not sent)');
    // The agent's new commit rewrote the line: the comment is outdated.
    expect(shown).toMatch(/work\.txt:1 \(outdated: the line changed since\)\s+user\s+in round 1\s+Say why/);
    expect(shown).toMatch(/rounds: +1\n/);
    const nothing = await daemon.cliHere(['task', 'request-changes', 'WEB-1']);
    expect(nothing.code).not.toBe(0);
    expect(nothing.stderr).toContain('Nothing to send');
  });

  it('show --diff: the patch with each review comment under its line as it is now, the one the agent changed since outdated; --stat per file; plain when piped, coloured with FORCE_COLOR', async () => {
    const tip = sh(join(worktreeRoot, 'WEB-1'), 'rev-parse', 'HEAD');
    const line = sh(join(worktreeRoot, 'WEB-1'), 'show', 'HEAD:work.txt');
    await daemon.cliHereOk(['task', 'comment', 'WEB-1', 'Fine now.', '--file', 'work.txt', '--line', '1']);
    const diff = await daemon.cliHereOk(['task', 'show', 'WEB-1', '--diff']);
    expect(diff).toMatch(new RegExp(`^tinyagi/WEB-1-good-change\\S* against main \\([0-9a-f]{10}\\.\\.${tip.slice(0, 10)}\\): 2 commits, 1 file\ndiff --git a/work.txt b/work.txt\n`));
    expect(diff).toContain(`@@ -0,0 +1 @@\n+${line}\n    » user, not sent: Fine now.\n`);
    // Sent in round 1 on line 1, which the agent's next commit rewrote.
    expect(diff).toMatch(/\n\nOutdated comments: 1\n {4}» work\.txt:1 \(outdated: the line changed since\), user, sent in round 1: Say why it is good\.\n$/);
    expect(diff).not.toContain('\u001b[');
    const stat = await daemon.cliHereOk(['task', 'show', 'WEB-1', '--stat']);
    expect(stat).toMatch(/FILE +STATUS +\+ +- +COMMENTS\nwork\.txt +added +1 +0 +2 \(1 outdated\)\n1 file changed, \+1 -0\n$/);
    const json = JSON.parse(await daemon.cliHereOk(['task', 'show', 'WEB-1', '--diff', '--json'])) as {
      diff: { tip: string };
      comments: Array<{ anchor: { line: number; current: { line: number | null } } }>;
    };
    expect([json.diff.tip, json.comments.map((c) => [c.anchor.line, c.anchor.current])]).toEqual([
      tip,
      [
        [1, { path: 'work.txt', line: null, commitSha: tip }],
        [1, { path: 'work.txt', line: 1, commitSha: tip }],
      ],
    ]);
    // The built CLI in its own process, as a terminal would get it.
    const coloured = await daemon.cli(['task', 'show', 'WEB-1', '--diff'], { env: { NO_COLOR: '', FORCE_COLOR: '1' } });
    expect(coloured.code).toBe(0);
    expect(coloured.stdout).toContain(`\u001b[32m+${line}\u001b[39m`);
    expect(coloured.stdout).toContain('\u001b[36m@@ -0,0 +1 @@\u001b[39m');
    expect((await daemon.cliHere(['task', 'show', 'WEB-1', '--diff', '--stat'])).stderr).toContain('Give --diff or --stat, not both.');
  });

  it('merge: WEB-1 goes into main and its worktree is removed; WEB-2, not in review, is refused with the code; worktrees lists what is left', async () => {
    const wt1 = join(worktreeRoot, 'WEB-1');
    const tip = sh(wt1, 'rev-parse', 'HEAD');
    const refused = await daemon.cliHere(['task', 'merge', 'WEB-2']);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('INVALID_STATE');
    // Its checks have not passed: warned as TinyOffice's merge form warns.
    expect(refused.stderr).toContain('Warning: Its checks have not passed: a merge now brings work nobody checked into the base.');
    expect(sh(repoDir, 'rev-parse', 'main')).not.toBe(tip);

    // Auto-merge refused by the person's untracked work.txt: task show and task list say so and why.
    const repo = { path: repoDir, worktreeRoot, checks: [check], maxRounds: 1 };
    writeFileSync(join(repoDir, 'work.txt'), 'mine\n');
    await daemon.api.patchProject({ params: { id: projectId }, body: { repo: { ...repo, autoMerge: { when: 'checked' } } } });
    // Checked again now rather than at the next sweep: its pass tries the auto-merge.
    await daemon.cliHereOk(['task', 'check', 'WEB-1']);
    await waitFor(async () => (await daemon.api.getTask({ params: { id: 'WEB-1' } })).git?.autoMergeRefused, 30_000, 'WEB-1 auto-merge refused');
    expect(await daemon.cliHereOk(['task', 'show', 'WEB-1'])).toMatch(
      /Auto-merge refused: INVALID_STATE: Merging task WEB-1 would replace .*work\.txt[\s\S]*Tried again when the branch or the base moves, or at /,
    );
    expect(await daemon.cliHereOk(['task', 'list'])).toMatch(/WEB-1 +review .*passed 1\/1, auto-merge refused/);
    await daemon.api.patchProject({ params: { id: projectId }, body: { repo } });
    rmSync(join(repoDir, 'work.txt'));

    const merged = await daemon.cliHereOk(['task', 'merge', 'WEB-1', '--method', 'ff']);
    expect(merged).toContain(`Merged WEB-1 (tinyagi/WEB-1-good-change`);
    expect(merged).toContain(`into main: ${tip.slice(0, 10)} (fast-forward).`);
    expect(merged).toContain('the task is done.');
    expect(sh(repoDir, 'rev-parse', 'main')).toBe(tip);
    expect(existsSync(wt1)).toBe(false);
    expect(await daemon.cliHereOk(['task', 'show', 'WEB-1'])).toMatch(
      /status: +merged\n[\s\S]*worktree: +removed at the merge[\s\S]*Merged tinyagi\/WEB-1-good-change\S* into main \(fast-forward\) at .* by a person: /,
    );

    const worktrees = await daemon.cliHereOk(['task', 'worktrees', 'WEB']);
    expect(worktrees).toContain(join(worktreeRoot, 'WEB-2'));
    expect(worktrees).not.toContain(wt1);
    expect(worktrees).toMatch(/WEB-2\s+ready\s+tinyagi\/WEB-2-bad-change\S*\s+\S+\s+-\s+\//);
    // Its commits are merged nowhere and pushed nowhere: a removal is refused, naming them; nothing is removed.
    const refusedRemoval = await daemon.cliHere(['task', 'remove-worktree', 'WEB', 'WEB-2']);
    expect(refusedRemoval.code).not.toBe(0);
    expect(refusedRemoval.stderr).toContain('WORKTREE_UNSAFE');
    expect(refusedRemoval.stderr).toMatch(/\d commit\(s\) on tinyagi\/WEB-2-bad-change\S* merged into main nowhere and pushed nowhere, which the branch keeps/);
    expect(existsSync(join(worktreeRoot, 'WEB-2'))).toBe(true);
  });

  it('start: a task whose worktree step fails (its repository is not on this machine) was sent to nobody: start fails saying why and how to start it again', async () => {
    const gone = gitRepos();
    const project = await daemon.api.createProject({ body: { name: 'Gone', repo: { path: gone.repoDir, worktreeRoot: join(gone.root, 'worktrees') } } });
    rmSync(gone.repoDir, { recursive: true, force: true });
    const added = await daemon.api.createTask({ body: { title: 'Nowhere', projectId: project.id, assigneeAgent: 'coder' } });
    const name = added.identifier!;
    const started = await daemon.cliHere(['task', 'start', name]);
    expect(started.code).toBe(1);
    expect(started.stdout).not.toContain('sent to @coder');
    expect(started.stderr).toContain(`${name} is in progress, but nothing was sent to @coder: its worktree step failed: `);
    expect(started.stderr).toContain(`tinyagi task move ${name} todo`);
    await daemon.api.deleteTask({ params: { id: added.id } });
  });

  it('rounds: WEB-2 waits for a person (tinyagi approvals lists it, never expiring); a wrong answer is a usage error; stop puts it back in Todo, its worktree kept; a second answer is too late', async () => {
    const listed = await daemon.cliHereOk(['approvals']);
    expect(listed).toMatch(/apr_\S+\s+pending\s+@coder\s+WEB-2 Bad change/);
    expect(listed).toMatch(/never/);
    expect(listed).toContain('tinyagi rounds <id> more [n]');
    const id = /(apr_\S+)\s+pending/.exec(listed)![1]!;
    expect(await daemon.cliHereOk(['task', 'show', 'WEB-2'])).toContain(`Waits for a person after 1 round: \`tinyagi rounds ${id} more [n]\`, \`take-over\` or \`stop\`.`);
    const wrong = await daemon.cliHere(['rounds', id, 'later']);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('Answer more [n], take-over or stop, not "later"');
    expect((await daemon.cliHere(['rounds', id, 'stop', '3'])).stderr).toContain('A number of rounds goes with `more` only.');

    expect(await daemon.cliHereOk(['rounds', id, 'stop', '--reason', 'not now'])).toMatch(
      /^Stopped by cli: @coder WEB-2 Bad change .*: still not done after 1 round\. The check "lint" .* \(not now\)\.\n$/,
    );
    const stopped = await daemon.cliHereOk(['task', 'show', 'WEB-2']);
    expect(stopped).toMatch(/status: +todo\n/);
    expect(stopped).toContain('After its rounds: stopped by cli.');
    expect(stopped).toContain('Checking: stopped by a person: lint exit 1');
    expect(await daemon.cliHereOk(['task', 'list'])).toMatch(/WEB-2 +todo .*stopped by a person: lint exit 1/);
    expect(existsSync(join(worktreeRoot, 'WEB-2'))).toBe(true);
    const late = await daemon.cliHere(['rounds', id, 'more']);
    expect(late.code).not.toBe(0);
    expect(late.stderr).toContain('was already answered: answered by cli');
  });
});
