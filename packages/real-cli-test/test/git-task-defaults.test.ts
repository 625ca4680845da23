/**
 * A git-native task worked by the real Claude Code with the defaults a user gets
 * (docs/git-tasks.md): the agent made by `tinyagi agent add` — warm, sandboxed (the boundary holds
 * here), asking before it acts with the starter rules — on a project bound to a real repository
 * with one check, against the stand-in model. The person's repository lies where the boundary shows
 * it (in the home, not the private /tmp) with its installed `node_modules`, linked into each
 * worktree (`--link node_modules`) and read by the check. The model writes in the task's worktree
 * (allowed: its own worktree), commits everything with `git add -A` (a person allows it at the
 * desk: approvals inside a task), says done with `update_task`; the check fails, its failing line
 * reaches the model, which fixes and commits again; Review; a person's review comment comes back to
 * it, it commits once more; a person merges: the person's checkout has the work, its
 * `node_modules` is the same folder with the same files, and no commit holds the link. The commits'
 * author is the person's own git identity (their `~/.gitconfig`), which the boundary hides.
 * Waits on events and states.
 */
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cleanupTemp, commitFile, QUIET_GIT_ENV, sh, type ModelRequest } from '@tinyagi/test-kit';
import { watchTaskEvents } from './task-events.ts';
import { CLI_CASES, startRig, type Rig } from './harness.ts';

const MARKER = 'GITDEFAULTS-8c1';
/** The check: fails until answer.txt says what the installed package expects, printing the failing line where it happens. */
const CHECK_SCRIPT = [
  '#!/bin/sh',
  'want=$(cat node_modules/answer-lib/expected.txt)',
  'got=$(cat answer.txt 2>/dev/null || echo nothing)',
  'if [ "$got" != "$want" ]; then echo "not ok 1 answer.txt says $got; the answer is $want"; exit 1; fi',
  'echo "ok 1 answer"',
  '',
].join('\n');
const REVIEW = 'REVIEW-3f9: add notes.txt saying reviewed';

let rig: Rig;
let root: string;
let repoDir: string;

beforeAll(async () => {
  // The person's checkout: in the home (the sandbox shows it; /tmp is private inside), node_modules installed and ignored.
  Object.assign(process.env, QUIET_GIT_ENV);
  root = mkdtempSync(join(homedir(), '.tinyagi-journey-'));
  repoDir = join(root, 'calc');
  mkdirSync(join(repoDir, 'node_modules', 'answer-lib'), { recursive: true });
  writeFileSync(join(repoDir, 'node_modules', 'answer-lib', 'expected.txt'), '42\n');
  sh(repoDir, 'init', '--quiet', '-b', 'main');
  commitFile(repoDir, '.gitignore', 'node_modules/\n', 'installed packages are not committed');
  commitFile(repoDir, 'check.sh', CHECK_SCRIPT, 'the answer check');
  rig = await startRig(CLI_CASES.claude, {
    daemonEnv: { ENABLE_TOOL_SEARCH: 'false' },
    // The person's own git identity, as on their machine; the boundary hides this file from the agent.
    prepareHome: (home) => writeFileSync(join(home, '.gitconfig'), '[user]\n\tname = Person Own\n\temail = person@example.invalid\n'),
  });
  // The agent as a user makes it: its defaults are agent add's own.
  await rig.daemon.cliHereOk(['agent', 'add', 'coder', '--provider', 'custom:standin', '--config', JSON.stringify({ env_passthrough: ['CLAUDE_CODE_MAX_RETRIES', 'ENABLE_TOOL_SEARCH'] })]);
}, 180_000);

afterAll(async () => {
  await rig?.cleanup();
  if (root) rmSync(root, { recursive: true, force: true });
  cleanupTemp();
});

function turnOf(request: ModelRequest): { message: string; steps: number } {
  const at = request.entries.findLastIndex((e) => e.role === 'user' && e.text.includes(MARKER));
  return { message: request.entries[at]?.text ?? '', steps: request.entries.slice(at + 1).filter((e) => e.role === 'tool').length };
}

it('the agent agent add makes (warm, sandboxed, asking) works a bound task with node_modules linked: writes in its worktree, commits as the person after a person allows it, gets the failing line, fixes, takes a review comment; merged, the person checkout has the work and its node_modules', async () => {
  const coder = (await rig.daemon.api.listAgents()).find((a) => a.id === 'coder');
  expect(coder?.sandboxStatus?.state, JSON.stringify(coder)).toBe('enforced');

  rig.rule(MARKER, (request) => {
    const { message, steps } = turnOf(request);
    const review = message.includes(REVIEW);
    const feedback = !review && message.includes('is not done yet');
    const worktree = (review || feedback ? /Fix it in the worktree (\S+), commit/ : /Work in the git worktree (\S+) \(branch/).exec(message)?.[1];
    if (worktree === undefined) return { reply: `no worktree in the message: ${message}` };
    const file = join(worktree, 'answer.txt');
    const script = review
      ? [{ tool: 'Write', input: { file_path: join(worktree, 'notes.txt'), content: 'reviewed\n' } }, { shell: 'git add -A && git commit -m "Add the notes"' }]
      : feedback
        ? [{ tool: 'Edit', input: { file_path: file, old_string: '41', new_string: '42' } }, { shell: 'git commit -am "Fix the answer"' }]
        : [{ tool: 'Write', input: { file_path: file, content: '41\n' } }, { shell: 'git add -A && git commit -m "Write the answer"' }];
    const step = script[steps];
    if (step) return step;
    if (steps === script.length) return { tool: 'update_task', input: { status: 'review' } };
    return { reply: 'Committed.' };
  });

  const api = rig.daemon.api;
  const { event, close } = watchTaskEvents(rig, 180_000);
  // A person at the desk: each commit the agent asks for is allowed once; anything else asked is denied, and fails the test below.
  const asked: string[] = [];
  const requests = api.subscribe({ types: ['approval.requested'], lastEventId: 0 });
  requests.onEvent((e) => {
    const request = e.data.approval;
    if (request.agentId !== 'coder') return;
    asked.push(request.summary ?? '');
    const commit = /git (add|commit)/.test(request.summary ?? '');
    void api.decideApproval({ params: { id: request.id }, body: commit ? { decision: 'allow_once' } : { decision: 'deny', reason: 'not asked for by this test' } }).catch(() => undefined);
  });
  try {
    const worktreeRoot = join(root, 'worktrees');
    const project = await api.createProject({
      body: { name: 'Calc', repo: { path: repoDir, worktreeRoot, files: [{ path: 'node_modules', mode: 'link' }], checks: [{ name: 'answer', argv: ['sh', 'check.sh'], timeoutMs: 30_000 }] } },
    });
    const created = await api.createTask({ body: { title: `${MARKER} Write the answer`, projectId: project.id, assigneeAgent: 'coder', status: 'in_progress' } });

    const firstCheck = await event('task.checked');
    expect(firstCheck.data, rig.daemon.logs()).toMatchObject({ passed: false, checks: [{ name: 'answer', ok: false, exitCode: 1 }] });
    const secondCheck = await event('task.checked', 2);
    expect(secondCheck.data, rig.daemon.logs()).toMatchObject({ passed: true, checks: [{ name: 'answer', ok: true, exitCode: 0 }] });
    const task = await api.getTask({ params: { id: created.id } });
    expect(task.status).toBe('review');
    const worktree = task.git!.worktreePath!;
    // The commits are the agent's, made inside the boundary, authored as the person.
    expect(sh(worktree, 'log', '--format=%s|%an|%ae', 'main..HEAD').split('\n')).toEqual(['Fix the answer|Person Own|person@example.invalid', 'Write the answer|Person Own|person@example.invalid']);
    // The failing line reached the model with the feedback.
    const fixTurn = rig.model.calls.find((c) => turnOf(c.request).message.includes('is not done yet'));
    expect(turnOf(fixTurn!.request).message).toContain('not ok 1 answer.txt says 41; the answer is 42');
    // Only the commits asked a person: the writes and edits in its own worktree, the reads and update_task did not.
    expect(asked.length, asked.join('\n')).toBeGreaterThan(0);
    expect(
      asked.every((s) => /git (add|commit)/.test(s)),
      asked.join('\n'),
    ).toBe(true);

    // A person's review comment on the answer's line goes back to the agent, which commits once more: Review again.
    await api.addComment({ params: { id: task.id }, body: { content: REVIEW, anchor: { path: 'answer.txt', line: 1 } } });
    await api.requestChanges({ params: { id: task.id }, body: {} });
    const thirdCheck = await event('task.checked', 3);
    expect(thirdCheck.data, rig.daemon.logs()).toMatchObject({ passed: true });
    expect(sh(worktree, 'log', '-1', '--format=%s', 'HEAD')).toBe('Add the notes');
    // Everything the agent added is its work: the linked node_modules entered no commit.
    expect(sh(worktree, 'ls-tree', '-r', '--name-only', 'HEAD').split('\n').sort()).toEqual(['.gitignore', 'answer.txt', 'check.sh', 'notes.txt']);

    const merged = await api.mergeTask({ params: { id: task.id }, body: {} });
    expect(merged.task.status).toBe('done');
    expect(sh(repoDir, 'show', 'main:answer.txt')).toBe('42');
    expect(sh(repoDir, 'show', 'main:notes.txt')).toBe('reviewed');
    // The person's node_modules is the folder it was, with its file.
    expect(lstatSync(join(repoDir, 'node_modules')).isDirectory()).toBe(true);
    expect(readFileSync(join(repoDir, 'node_modules', 'answer-lib', 'expected.txt'), 'utf8')).toBe('42\n');
  } finally {
    requests.close();
    close();
  }
});
