/**
 * A layered worktree with the defaults a user gets (docs/git-tasks.md, "Checkouts"), with the
 * built daemon: a project bound with `--copy node_modules` (so `auto` layers it), an agent made by
 * `tinyagi agent add` (warm, sandbox on, ask: the fake claude in real bubblewrap). The agent's shell
 * command is approved as a person would; it patches its copy of the dependency folder, commits inside
 * the overlay and says done with TinyAGI's MCP tool; the Checking sees both; the
 * person's folder is untouched; the merge unmounts the layer and leaves nothing behind.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanupTemp, FAKE_BIN_DIR, gitRepos, sh, startDaemon, type TestDaemon, waitFor } from '@tinyagi/test-kit';

let daemon: TestDaemon | undefined;
afterEach(async () => {
  await daemon?.cleanup();
  daemon = undefined;
  cleanupTemp();
});

const mounted = (path: string): boolean =>
  readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .some((line) => line.split(' ')[4] === path);

describe('a layered task worktree with the defaults', () => {
  it('a sandboxed warm agent works and commits in its overlay; its dependency folder is its own; the merge leaves no mount, layer or branch', { timeout: 240_000 }, async () => {
    const fx = gitRepos();
    writeFileSync(join(fx.repoDir, '.gitignore'), 'node_modules/\n');
    sh(fx.repoDir, 'add', '.gitignore');
    sh(fx.repoDir, 'commit', '-q', '-m', 'ignore the dependencies');
    mkdirSync(join(fx.repoDir, 'node_modules', 'dep'), { recursive: true });
    writeFileSync(join(fx.repoDir, 'node_modules', 'dep', 'index.js'), 'module.exports = "installed";\n');
    const worktreeRoot = join(fx.root, 'worktrees');
    // The agent's script is in the repository: the sandbox shows the agent its worktree, not the test's folders.
    writeFileSync(
      join(fx.repoDir, 'agent.sh'),
      [
        'printf \'module.exports = "patched";\\n\' > node_modules/dep/index.js',
        "printf 'done\\n' > work.txt && git add work.txt && git -c user.name=Agent -c user.email=agent@example.com commit -q -m work",
        // Done, as Claude Code says it: TinyAGI's update_task MCP tool, with the process's tools token.
        `curl -q -sS --noproxy "*" -X POST -H "authorization: Bearer $TINYAGI_TOOLS_TOKEN" -H 'content-type: application/json' -H 'accept: application/json, text/event-stream' -d '${JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'update_task', arguments: { status: 'review' } } })}' "$TINYAGI_API_URL/mcp" > /dev/null`,
        'git log --oneline -1',
        '',
      ].join('\n'),
    );
    sh(fx.repoDir, 'add', 'agent.sh');
    sh(fx.repoDir, 'commit', '-q', '-m', 'the agent script');
    daemon = await startDaemon({ prefix: 'tinyagi-layered-', path: [FAKE_BIN_DIR, '/usr/bin', '/bin'], settings: { agents: {} } });
    await daemon.cliHereOk(['agent', 'add', 'coder', '--provider', 'anthropic']);
    const api = daemon.api;
    const check = { name: 'deps', argv: ['sh', '-c', 'grep -q patched node_modules/dep/index.js && test -f work.txt && echo ok'], timeoutMs: 60_000 };
    const project = await api.createProject({ body: { name: 'Web', repo: { path: fx.repoDir, worktreeRoot, files: [{ path: 'node_modules', mode: 'copy' }], checks: [check] } } });
    const task = await api.createTask({ body: { title: 'Patch FAKE:bash=sh agent.sh #', projectId: project.id, assigneeAgent: 'coder', status: 'in_progress' } });

    const conversationId = await waitFor(async () => (await api.getTask({ params: { id: task.id } })).conversationId, 60_000, 'the task to start');
    // With `ask`, the agent's shell command waits for a person: approved here, as a person would.
    const answer = await waitFor(
      async () => {
        for (const request of await api.listApprovals({ query: { status: 'pending' } })) await api.decideApproval({ params: { id: request.id }, body: { decision: 'allow_once', by: 'test' } });
        return (await api.getTranscript({ params: { id: conversationId } })).entries.find((e) => e.direction === 'out')?.text;
      },
      120_000,
      "the agent's turn",
    );
    expect(answer).toMatch(/^[0-9a-f]{7,} work$/);
    const reviewed = await waitFor(
      async () => {
        const t = await api.getTask({ params: { id: task.id } });
        if (t.git?.check?.state === 'failed') throw new Error(`the Checking failed: ${JSON.stringify(t.git.check)}`);
        return t.status === 'review' && t.git?.check?.state === 'passed' ? t : undefined;
      },
      120_000,
      'the Checking to pass',
    );
    const worktree = join(worktreeRoot, 'WEB-1');
    expect(mounted(worktree)).toBe(true);
    expect(reviewed.git).toMatchObject({ checkout: { kind: 'layered' }, check: { state: 'passed', commits: 1, checks: [{ name: 'deps', exitCode: 0 }] } });
    expect(await daemon.cliHereOk(['task', 'show', 'WEB-1'])).toMatch(/^checkout: +layered$/m);
    expect(readFileSync(join(worktree, 'node_modules', 'dep', 'index.js'), 'utf8')).toContain('patched');
    expect(readFileSync(join(fx.repoDir, 'node_modules', 'dep', 'index.js'), 'utf8')).toContain('installed');
    // The task's writes are in its own folder, never in the shared base.
    const bases = join(worktreeRoot, '.tinyagi-bases');
    const [base] = readdirSync(bases);
    expect(readFileSync(join(bases, base!, 'tree', 'node_modules', 'dep', 'index.js'), 'utf8')).toContain('installed');
    expect(existsSync(join(bases, base!, 'tree', 'work.txt'))).toBe(false);

    await api.mergeTask({ params: { id: task.id }, body: {} });
    await waitFor(async () => (await api.getTask({ params: { id: task.id } })).status === 'done', 60_000, 'the merge');
    expect(readFileSync(join(fx.repoDir, 'work.txt'), 'utf8')).toBe('done\n');
    expect(mounted(worktree)).toBe(false);
    expect(existsSync(worktree)).toBe(false);
    expect(existsSync(join(worktreeRoot, '.tinyagi-layers', 'WEB-1'))).toBe(false);
    expect(sh(fx.repoDir, 'worktree', 'list', '--porcelain')).not.toContain(worktree);
    expect(sh(fx.repoDir, 'branch', '--list', 'tinyagi/*')).toBe('');
  });
});
