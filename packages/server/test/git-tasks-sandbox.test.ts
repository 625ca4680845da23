/**
 * A sandboxed agent's task (docs/git-tasks.md, "Sandboxed agents in tasks"; docs/sandbox.md, "A
 * task's worktree"), with real bwrap: the agent (the fake claude running a script, its CLI inside
 * the boundary because its `sandbox` is `required`) commits in its task's worktree and says done
 * through its run's `update_task` route; the Checking sees the commit, and the project's check runs
 * confined like the agent (its HOME the agent's private one, the secret planted in the user's home
 * out of its reach), so the task reaches Review. The routes on loopback with the real orchestrator.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { invokeAgent, type InvokeRequest, type Settings } from '@tinyagi/core';
import { fakeCli, gitRepos, sh, waitFor } from '@tinyagi/test-kit';
import { baseSettings, type ServerHarness, startHarness } from './harness.ts';

let h: ServerHarness | undefined;
let scratch: string | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  scratch = undefined;
});

describe('a sandboxed agent works in its task worktree', () => {
  it('commits inside its boundary, says done, and the Checking (its check confined like the agent) sees the commit: review', async () => {
    const fx = gitRepos();
    // The agent's script where the sandbox can read it (its /tmp is its own); a secret in the daemon's home it must not read.
    mkdirSync(join(homedir(), '.cache'), { recursive: true });
    scratch = mkdtempSync(join(homedir(), '.cache', 'tinyagi-gss-'));
    const agentScript = join(scratch, 'agent.sh');
    writeFileSync(
      agentScript,
      [
        'set -e',
        'echo "$HOME" > who.txt && echo fixed > login.ts',
        'git add who.txt login.ts && git -c user.name=Agent -c user.email=agent@example.invalid commit -q -m "fix login"',
        `curl -q -sS --noproxy "*" -X PATCH -H "authorization: Bearer $TINYAGI_RUN_TOKEN" -H 'content-type: application/json' -d '{"status":"review"}' "$TINYAGI_API_URL/api/runs/$TINYAGI_RUN_ID/task"`,
        '',
      ].join('\n'),
    );
    let apiUrl = '';
    let home = '';
    const settings = (dir: string): Settings => ({ ...baseSettings(dir), agents: { coder: { name: 'Coder', provider: 'anthropic', sandbox: 'required' } }, teams: {} });
    // The daemon's TINYAGI_HOME is the harness's home: hidden inside, the agent's private home under it.
    const invoke = (req: InvokeRequest) =>
      invokeAgent({
        ...req,
        target: { ...req.target, command: fakeCli('claude'), ...(req.target.sandbox ? { sandbox: { ...req.target.sandbox, tinyHome: home } } : {}) },
        env: { ...req.env, TINYAGI_API_URL: apiUrl },
      });
    h = await startHarness({ settings, invoke });
    apiUrl = h.url;
    home = h.home;
    const secret = join(h.home, '.ssh', 'id_ed25519');
    mkdirSync(join(h.home, '.ssh'));
    writeFileSync(secret, 'ssh-secret-0b5e\n', { mode: 0o600 });
    // The check passes only confined: the agent's private home (the daemon's TINYAGI_HOME is <HOME>/.tinyagi here), and the secret out of reach.
    const checkHome = join(h.home, '.tinyagi', 'agent-homes', 'coder');
    const check = ['sh', '-c', `echo "home=$HOME"; grep -q fixed login.ts && test "$HOME" = "${checkHome}" && ! cat ${secret}`];
    const project = await h.client.createProject({
      body: { name: 'Web', repo: { path: fx.repoDir, worktreeRoot: join(fx.root, 'worktrees'), checks: [{ name: 'confined', argv: check, timeoutMs: 30_000 }] } },
    });
    const task = await h.client.createTask({ body: { title: `Fix login FAKE:bash=sh ${agentScript} #`, projectId: project.id, assigneeAgent: 'coder', status: 'in_progress' } });

    const reviewed = await waitFor(
      async () => {
        const t = await h!.client.getTask({ params: { id: task.id } });
        return t.status === 'review' || t.git?.check?.state === 'failed' ? t : undefined;
      },
      30_000,
      'the Checking',
    );
    const wt = join(fx.root, 'worktrees', 'WEB-1');
    expect(reviewed.status, JSON.stringify(reviewed.git?.check)).toBe('review');
    const branch = reviewed.git!.branch!;
    // The commit was made inside the boundary (HOME was the agent's private home there) and is on the task's branch.
    expect(sh(fx.repoDir, 'show', `${branch}:who.txt`)).toBe(join(h.home, 'agent-homes', 'coder'));
    expect(sh(fx.repoDir, 'log', '-1', '--format=%s', branch)).toBe('fix login');
    expect(reviewed.git?.check).toMatchObject({
      state: 'passed',
      headSha: sh(wt, 'rev-parse', 'HEAD'),
      commits: 1,
      uncommitted: [],
      checks: [{ name: 'confined', ok: true, log: expect.stringContaining(`home=${checkHome}`) }],
    });
  });
});
