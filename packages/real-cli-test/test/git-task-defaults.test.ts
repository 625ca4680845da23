/**
 * A git-native task worked by the real Claude Code with the defaults a user gets
 * (docs/git-tasks.md): the agent made by `tinyagi agent add` — warm, sandboxed (the boundary holds
 * here), asking before it acts with the starter rules — on a project bound to a real repository
 * with one check, against the stand-in model. The model writes in the task's worktree (allowed: its
 * own worktree), commits with its Bash (a person allows it at the desk: approvals inside a task),
 * says done with `update_task`; the check fails, its failing line reaches the model, which fixes
 * and commits again; Review; a person merges, and the person's checkout has the fix. The commit's
 * author is the person's own git identity (their `~/.gitconfig`), which the boundary otherwise
 * hides. Waits on events and states.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cleanupTemp, commitFile, gitRepos, sh, type GitRepos, type ModelRequest } from '@tinyagi/test-kit';
import { watchTaskEvents } from './task-events.ts';
import { CLI_CASES, startRig, type Rig } from './harness.ts';

const MARKER = 'GITDEFAULTS-8c1';
/** The check: fails until answer.txt says 42, printing the failing line where it happens. */
const CHECK_SCRIPT = [
  '#!/bin/sh',
  'got=$(cat answer.txt 2>/dev/null || echo nothing)',
  'if [ "$got" != 42 ]; then echo "not ok 1 answer.txt says $got; the answer is 42"; exit 1; fi',
  'echo "ok 1 answer"',
  '',
].join('\n');

let rig: Rig;
let fx: GitRepos;

beforeAll(async () => {
  fx = gitRepos({ identity: false });
  commitFile(fx.repoDir, 'check.sh', CHECK_SCRIPT, 'the answer check');
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
  cleanupTemp();
});

function turnOf(request: ModelRequest): { message: string; steps: number } {
  const at = request.entries.findLastIndex((e) => e.role === 'user' && e.text.includes(MARKER));
  return { message: request.entries[at]?.text ?? '', steps: request.entries.slice(at + 1).filter((e) => e.role === 'tool').length };
}

it('the agent agent add makes (warm, sandboxed, asking) works a bound task: writes in its worktree, commits as the person after a person allows it, gets the failing line, fixes; merged into the person checkout', async () => {
  const coder = (await rig.daemon.api.listAgents()).find((a) => a.id === 'coder');
  expect(coder?.sandboxStatus?.state, JSON.stringify(coder)).toBe('enforced');

  rig.rule(MARKER, (request) => {
    const { message, steps } = turnOf(request);
    const feedback = message.includes('is not done yet');
    const worktree = (feedback ? /Fix it in the worktree (\S+), commit/ : /Work in the git worktree (\S+) \(branch/).exec(message)?.[1];
    if (worktree === undefined) return { reply: `no worktree in the message: ${message}` };
    const file = join(worktree, 'answer.txt');
    const script = feedback
      ? [{ tool: 'Edit', input: { file_path: file, old_string: '41', new_string: '42' } }, { shell: 'git commit -am "Fix the answer"' }]
      : [{ tool: 'Write', input: { file_path: file, content: '41\n' } }, { shell: 'git add answer.txt && git commit -m "Write the answer"' }];
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
    const worktreeRoot = join(fx.root, 'worktrees');
    const project = await api.createProject({ body: { name: 'Calc', repo: { path: fx.repoDir, worktreeRoot, checks: [{ name: 'answer', argv: ['sh', 'check.sh'], timeoutMs: 30_000 }] } } });
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

    const merged = await api.mergeTask({ params: { id: task.id }, body: {} });
    expect(merged.task.status).toBe('done');
    expect(sh(fx.repoDir, 'show', 'main:answer.txt')).toBe('42');
  } finally {
    requests.close();
    close();
  }
});
