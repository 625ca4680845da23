/**
 * A git-native task (issue 51, docs/git-tasks.md) worked by the real Claude Code against the
 * stand-in model: the model's side is scripted, everything else is the product as a user runs it
 * (the built daemon, a project bound to a real repository with a bare remote and one check, an
 * agent on Claude Code). The model uses Claude Code's own tools in the task's worktree (Write,
 * then Read and Edit; Bash for `git commit` and `git push`) and says done with TinyAGI's MCP tool
 * `update_task`; the daemon's Checking runs the check, which fails the first round: the model
 * receives the check's name and log tail, fixes, commits, pushes and says done again; the task
 * reaches Review with both commits, and a merge through the API leaves it done and its worktree
 * gone.
 *
 * The agent has `permission_mode: "bypassPermissions"` (TinyAGI's default for an agent of
 * settings.json, spelled out): Claude Code runs Bash, Write and Edit without asking. git's
 * identity is the user's own `~/.gitconfig` in the daemon's HOME, as on a developer's machine.
 * MCP tools are offered directly (`ENABLE_TOOL_SEARCH=false`, as in mcp-and-approvals.test.ts):
 * the stand-in does not search for deferred tools.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cleanupTemp, commitFile, gitRepos, sh, waitOnEvents, type GitRepos, type ModelRequest } from '@tinyagi/test-kit';
import { watchTaskEvents } from './task-events.ts';
import { CLI_CASES, isTitleCall, startRig, type Rig } from './harness.ts';

const MARKER = 'GITTASK-5e2';
/** The check: a script of the repository that fails until answer.txt says 42. */
const CHECK_SCRIPT = [
  '#!/bin/sh',
  'got=$(cat answer.txt 2>/dev/null || echo nothing)',
  'if [ "$got" != 42 ]; then',
  '  echo "answer.txt says $got; the answer is 42"',
  '  exit 1',
  'fi',
  'echo "answer.txt says 42: ok"',
  '',
].join('\n');

let rig: Rig;
let fx: GitRepos;

beforeAll(async () => {
  fx = gitRepos({ remote: true, identity: false });
  commitFile(fx.repoDir, 'check.sh', CHECK_SCRIPT, 'the answer check');
  sh(fx.repoDir, 'push', '--quiet', 'origin', 'main');
  rig = await startRig(CLI_CASES.claude, {
    agentSettings: { env_passthrough: ['CLAUDE_CODE_MAX_RETRIES', 'ENABLE_TOOL_SEARCH'] },
    daemonEnv: { ENABLE_TOOL_SEARCH: 'false' },
    agents: { coder: { permission_mode: 'bypassPermissions' } },
    prepareHome: (home) => writeFileSync(join(home, '.gitconfig'), '[user]\n\tname = Coder\n\temail = coder@example.invalid\n'),
  });
}, 120_000);

afterAll(async () => {
  await rig?.cleanup();
  cleanupTemp();
});

/** The step of the model's turn: the task's latest message to it, and how many tool results came after it. */
function turnOf(request: ModelRequest): { message: string; steps: number } {
  const at = request.entries.findLastIndex((e) => e.role === 'user' && e.text.includes(MARKER));
  return { message: request.entries[at]?.text ?? '', steps: request.entries.slice(at + 1).filter((e) => e.role === 'tool').length };
}

it('claude works a bound task in its worktree: Write, git commit and push with its Bash, done over MCP; the failed check comes back with its log, it fixes with Edit; Review with both commits on the remote; merged, the worktree gone', async () => {
  // The model: the worktree is the one the message names (the dispatch's, or the feedback's).
  rig.rule(MARKER, (request) => {
    const { message, steps } = turnOf(request);
    const feedback = message.includes('is not done yet');
    const worktree = (feedback ? /Fix it in the worktree (\S+), commit/ : /Work in the git worktree (\S+) \(branch/).exec(message)?.[1];
    if (worktree === undefined) return { reply: `no worktree in the message: ${message}` };
    const file = join(worktree, 'answer.txt');
    const script = feedback
      ? [
          { tool: 'Read', input: { file_path: file } },
          { tool: 'Edit', input: { file_path: file, old_string: '41', new_string: '42' } },
          { shell: 'git commit -am "Fix the answer" && git push origin HEAD' },
        ]
      : [{ tool: 'Write', input: { file_path: file, content: '41\n' } }, { shell: 'git add answer.txt && git commit -m "Write the answer" && git push origin HEAD' }];
    const step = script[steps];
    if (step) return step;
    if (steps === script.length) return { tool: 'update_task', input: { status: 'review', comment: feedback ? 'Fixed the answer.' : 'Wrote the answer.' } };
    return { reply: feedback ? 'Fixed, committed and pushed.' : 'Committed and pushed.' };
  });

  const api = rig.daemon.api;
  const { events, event, close } = watchTaskEvents(rig, 120_000);
  try {
    const worktreeRoot = join(fx.root, 'worktrees');
    const project = await api.createProject({
      body: { name: 'Calc', repo: { path: fx.repoDir, remote: 'origin', worktreeRoot, checks: [{ name: 'answer', argv: ['sh', 'check.sh'], timeoutMs: 30_000 }] } },
    });
    const created = await api.createTask({ body: { title: `${MARKER} Write the answer`, projectId: project.id, assigneeAgent: 'coder', status: 'in_progress' } });

    const firstCheck = await event('task.checked');
    expect(firstCheck.data, rig.daemon.logs()).toMatchObject({ passed: false, checks: [{ name: 'answer', ok: false, exitCode: 1 }] });
    const feedback = await event('task.feedback_sent');
    expect(feedback.data.round).toBe(1);
    const secondCheck = await event('task.checked', 2);
    expect(secondCheck.data, rig.daemon.logs()).toMatchObject({ passed: true, missing: [], checks: [{ name: 'answer', ok: true, exitCode: 0 }] });

    const task = await api.getTask({ params: { id: created.id } });
    const git = task.git!;
    const worktree = git.worktreePath!;
    const branch = git.branch!;
    expect(task.status).toBe('review');
    expect(worktree).toBe(join(worktreeRoot, task.identifier!));
    expect(git).toMatchObject({ rounds: 1, check: { state: 'passed', commits: 2, pushed: true, headSha: secondCheck.data.headSha } });

    // What the real CLI did: the commits, their content and author, in the worktree and on the bare remote.
    const remote = fx.remoteDir!;
    expect(sh(worktree, 'rev-parse', 'HEAD')).toBe(secondCheck.data.headSha);
    expect(sh(worktree, 'log', '--format=%s', 'main..HEAD').split('\n')).toEqual(['Fix the answer', 'Write the answer']);
    expect(sh(remote, 'rev-parse', `refs/heads/${branch}`)).toBe(secondCheck.data.headSha);
    expect(sh(remote, 'log', '--format=%s|%an', `main..${branch}`).split('\n')).toEqual(['Fix the answer|Coder', 'Write the answer|Coder']);
    expect(sh(remote, 'show', `${branch}:answer.txt`)).toBe('42');
    expect(sh(remote, 'show', `${branch}~1:answer.txt`)).toBe('41');
    expect(sh(worktree, 'status', '--porcelain')).toBe('');

    // What the model received: the real Bash tool's output of the commit and the push, and the check's feedback.
    const turnsNow = () => rig.model.calls.filter((c) => !isTitleCall(c.request) && c.request.entries.some((e) => e.text.includes(MARKER)));
    // Each request carries its session's earlier tool results again: each result once.
    const toolResultsNow = () => [...new Set(turnsNow().flatMap((c) => c.request.entries.filter((e) => e.role === 'tool').map((e) => e.text)))];
    const checking = (results: string[]) => results.filter((t) => t.startsWith('{"task":') && t.includes('"status":"checking"'));
    // The daemon checks the second "done" while Claude Code is still sending its result back to the model: wait for that request.
    const toolResults = await waitOnEvents(
      rig.model.listeners,
      () => {
        const results = toolResultsNow();
        return checking(results).length >= 2 ? results : undefined;
      },
      60_000,
      () => `the model never received the second update_task result; tool results: ${toolResultsNow().join('\n---\n')}`,
    );
    const turns = turnsNow();
    const firstSha = sh(remote, 'rev-parse', '--short', `${branch}~1`);
    expect(toolResults.join('\n---\n'), 'the Bash tool ran git commit in the worktree').toContain(`[${branch} ${firstSha}] Write the answer`);
    expect(toolResults.join('\n---\n'), 'and git push to the bare remote').toContain(`* [new branch]      HEAD -> ${branch}`);
    expect(toolResults.join('\n---\n'), 'the second push updated the branch').toMatch(new RegExp(`${firstSha}\\.\\.[0-9a-f]+ +HEAD -> ${branch.replaceAll('/', '\\/')}`));
    const fixTurn = turns.find((c) => turnOf(c.request).message.includes('is not done yet'));
    expect(fixTurn, 'the model received the feedback message').toBeDefined();
    const told = turnOf(fixTurn!.request).message;
    expect(told).toContain('The check "answer" (`sh check.sh`) exited with code 1.');
    expect(told).toContain('answer.txt says 41; the answer is 42');
    expect(told).toContain(`Fix it in the worktree ${worktree}, commit`);
    // update_task reached the daemon through Claude Code's MCP client: its result is the task, moved to Checking.
    expect(checking(toolResults)).toHaveLength(2);
    expect(
      rig.proxy.refused.filter((r) => CLI_CASES.claude.vendorHosts.includes(r.host)),
      'no model request went past the stand-in',
    ).toEqual([]);

    // A person merges: the task is done, the worktree and the local branch are gone, main has the fix.
    const merged = await api.mergeTask({ params: { id: task.id }, body: {} });
    expect(merged.task.status).toBe('done');
    expect(merged.worktree).toEqual({ removed: true, branchDeleted: true });
    expect((await event('task.worktree_removed')).data).toMatchObject({ taskId: task.id, removed: true });
    expect(existsSync(worktree)).toBe(false);
    expect(sh(fx.repoDir, 'show', 'main:answer.txt')).toBe('42');
    expect(sh(fx.repoDir, 'branch', '--list', branch)).toBe('');
    expect(events.map((e) => e.type)).toEqual([
      'task.worktree_created',
      'task.checking',
      'task.checked',
      'task.feedback_sent',
      'task.checking',
      'task.checked',
      'task.merged',
      'task.worktree_removed',
    ]);
  } finally {
    close();
  }
});
