/**
 * Best of three with the real CLIs (docs/workflows.md, "Tasks and best of N"): one daemon with an
 * agent on each of Claude Code, Codex and OpenCode, each made by `tinyagi agent add` (warm,
 * sandboxed, asking with the starter rules), all against the stand-in model. A project bound to a
 * real repository in the person's home (the boundary shows it; /tmp is private inside) checks
 * `grep -qx hello hello.txt`, with one round. A workflow module calls `wf.bestOf` with the three
 * agents: each task runs in a worktree of its own, where the model writes hello.txt and commits
 * through the CLI's own shell tool (a person allows the commit at the desk) and says done with
 * TinyAGI's MCP tool `update_task`. Codex writes the smallest passing change, OpenCode a larger
 * passing one, Claude Code one the check refuses: it gets its round's feedback, says done again,
 * fails again and waits for a person. The run completes with Codex's task the winner in Review,
 * OpenCode's set aside in the Backlog, Claude Code's failed with its reason.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { BestOfResult, EventOf } from '@tinyagi/client';
import { cleanupTemp, commitFile, QUIET_GIT_ENV, sh, waitOnEvents, type ModelApi, type ModelRequest } from '@tinyagi/test-kit';
import { CLI_CASES, startRig, type CliName, type Rig } from './harness.ts';

const MARKER = 'BESTOF-4b7';
const CHECK = { name: 'greets', argv: ['grep', '-qx', 'hello', 'hello.txt'], timeoutMs: 30_000 };
/** What each CLI's model writes: the smallest passing change, a larger passing one, one the check refuses. */
const WRITES: Record<CliName, { content: string; commit: string }> = {
  codex: { content: 'hello\n', commit: 'Say hello' },
  opencode: { content: 'hello\nand more\nand more\nand more\n', commit: 'Say hello at length' },
  claude: { content: 'bye\n', commit: 'Say bye' },
};
/** The CLI a request came from, by the API it speaks (the agents are named after their CLIs). */
const CLI_OF: Partial<Record<ModelApi, CliName>> = { anthropic: 'claude', responses: 'codex', chat: 'opencode' };

let rig: Rig;
let root: string;
let repoDir: string;

beforeAll(async () => {
  Object.assign(process.env, QUIET_GIT_ENV);
  root = mkdtempSync(join(homedir(), '.tinyagi-best-of-'));
  repoDir = join(root, 'hello');
  mkdirSync(repoDir);
  sh(repoDir, 'init', '--quiet', '-b', 'main');
  commitFile(repoDir, 'README.md', 'Says hello.\n', 'a readme');
  // Codex's rig (its CODEX_HOME) with a provider for each of the other two; the three tasks run at once; no sandboxed agent reaches the network.
  rig = await startRig(CLI_CASES.codex, {
    otherClis: ['claude', 'opencode'],
    daemonEnv: { ENABLE_TOOL_SEARCH: 'false' },
    settings: { queue: { concurrency: 3 }, sandbox: { egress_defaults: [] } },
    prepareHome: (home) => writeFileSync(join(home, '.gitconfig'), '[user]\n\tname = Person Own\n\temail = person@example.invalid\n'),
  });
  const providers: Record<CliName, string> = { claude: 'custom:standin-claude', codex: 'custom:standin', opencode: 'custom:standin-opencode' };
  for (const [id, provider] of Object.entries(providers)) {
    await rig.daemon.cliHereOk(['agent', 'add', id, '--provider', provider, '--config', JSON.stringify({ env_passthrough: ['CLAUDE_CODE_MAX_RETRIES', 'ENABLE_TOOL_SEARCH'] })]);
  }
}, 180_000);

afterAll(async () => {
  await rig?.cleanup();
  if (root) rmSync(root, { recursive: true, force: true });
  cleanupTemp();
});

/** The step of the model's turn: the task's latest message to it, and how many tool results came after it. */
function turnOf(request: ModelRequest): { message: string; steps: number } {
  const at = request.entries.findLastIndex((e) => e.role === 'user' && e.text.includes(MARKER));
  return { message: request.entries[at]?.text ?? '', steps: request.entries.slice(at + 1).filter((e) => e.role === 'tool').length };
}

/** Each CLI's model: writes and commits its file, says done; after a failed check's feedback it says done again as it is. */
function scriptModel(): void {
  rig.rule(MARKER, (request) => {
    const cli = CLI_OF[request.api];
    if (cli === undefined) return { reply: `no CLI speaks ${request.api}` };
    const { message, steps } = turnOf(request);
    const { content, commit } = WRITES[cli];
    const script = message.includes('is not done yet') ? [] : [{ shell: `printf '${content.replaceAll('\n', '\\n')}' > hello.txt && git add hello.txt && git commit -qm '${commit}'` }];
    const step = script[steps];
    if (step) return step;
    if (steps === script.length) return { tool: 'update_task', input: { status: 'review' } };
    return { reply: 'Committed.' };
  });
}

/** A person at the desk: each agent's commit is allowed once; a connection is refused; anything else is denied and recorded (update_task, TinyAGI's own tool, asks nobody). */
function answerAtDesk(): { asked: string[]; denied: string[]; close: () => void } {
  const asked: string[] = [];
  const denied: string[] = [];
  const api = rig.daemon.api;
  const requests = api.subscribe({ types: ['approval.requested'], lastEventId: 0 });
  requests.onEvent((e) => {
    const request = e.data.approval;
    // The failed task's rounds request waits for a person: that is what the run reads as failed.
    if (request.kind === 'task_rounds') return;
    // OpenCode fetches its plugin package at each start: no network here (`egress_defaults: []`), and it goes on without.
    if (request.kind === 'egress') {
      void api.decideApproval({ params: { id: request.id }, body: { decision: 'deny', reason: 'no network in this test' } }).catch(() => undefined);
      return;
    }
    const line = `${request.agentId}: ${request.tool}: ${request.summary}`;
    asked.push(line);
    const allowed = /git commit/.test(request.summary);
    if (!allowed) denied.push(line);
    void api.decideApproval({ params: { id: request.id }, body: allowed ? { decision: 'allow_once' } : { decision: 'deny', reason: 'not asked for by this test' } }).catch(() => undefined);
  });
  return { asked, denied, close: () => requests.close() };
}

/** Starts the module and waits on workflow.changed until the run is no longer running. */
async function runToEnd(file: string): Promise<EventOf<'workflow.changed'>['data']> {
  const api = rig.daemon.api;
  const changes: Array<EventOf<'workflow.changed'>> = [];
  const seen = new Set<() => void>();
  const subscription = api.subscribe({ types: ['workflow.changed'], lastEventId: 0 });
  subscription.onEvent((e) => {
    changes.push(e);
    for (const listener of [...seen]) listener();
  });
  try {
    const { run } = await api.startWorkflow({ body: { file } });
    return await waitOnEvents(
      seen,
      () => changes.find((e) => e.data.runId === run.id && e.data.status !== 'running')?.data,
      200_000,
      () => `the run ${run.id} never ended: ${changes.map((e) => e.data.status).join(', ')}\n${rig.daemon.logs()}`,
    );
  } finally {
    subscription.close();
  }
}

it('best of three across Claude Code, Codex and OpenCode: each in its own worktree; the smallest passing change (Codex) wins and stays in Review, the larger (OpenCode) goes to the Backlog, the refused one (Claude Code) fails its round and waits for a person', async () => {
  const api = rig.daemon.api;
  for (const agent of await api.listAgents()) {
    if (agent.id in WRITES) expect(agent.sandboxStatus?.state, JSON.stringify(agent)).toBe('enforced');
  }
  const worktreeRoot = join(root, 'worktrees');
  await api.createProject({ body: { name: 'Hello', repo: { path: repoDir, worktreeRoot, checks: [CHECK], maxRounds: 1 } } });
  const file = join(root, 'best-of-three.mjs');
  writeFileSync(
    file,
    `export default (wf) => wf.bestOf({ project: 'Hello', title: '${MARKER} Say hello', description: 'Write hello.txt saying hello, and commit it.', agents: ['claude', 'codex', 'opencode'] });\n`,
  );
  scriptModel();
  const desk = answerAtDesk();
  try {
    const ended = await runToEnd(file);
    const detail = await api.getWorkflowRun({ params: { id: ended.runId } });
    const tasks = await api.listTasks({ query: {} });
    const state = `${JSON.stringify(detail.steps.map((s) => [s.stepId, s.status, s.error]))}\ntasks: ${JSON.stringify(tasks.map((t) => [t.identifier, t.assigneeAgent, t.status, t.git?.check?.state, t.git?.rounds]))}\nasked: ${desk.asked.join('\n')}`;
    expect(detail.run.status, `${detail.run.reason ?? ''}\n${state}`).toBe('completed');

    const result = detail.run.result as BestOfResult;
    expect(
      result.candidates.map((c) => [c.agent, c.outcome]),
      state,
    ).toEqual([
      ['claude', 'failed'],
      ['codex', 'passed'],
      ['opencode', 'passed'],
    ]);
    expect(result.candidates[0]!.reason).toBe('its checks still fail after 1 round; it waits for a person');
    expect(result.winner).toMatchObject({ agent: 'codex', additions: 1, deletions: 0 });
    expect(result.candidates[2]).toMatchObject({ additions: 4, deletions: 0 });

    const [claude, codex, opencode] = await Promise.all(result.candidates.map((c) => api.getTask({ params: { id: c.taskId } })));
    expect([codex!.status, codex!.git?.check?.state]).toEqual(['review', 'passed']);
    expect(opencode!.status).toBe('backlog');
    expect(claude!.git?.roundsApproval, 'the refused one waits for a person').toMatchObject({ id: expect.any(String) });
    expect(claude!.git?.roundsApproval?.decision).toBeUndefined();
    // Its round: Claude Code's model was told which check failed, and said done again.
    const told = rig.model.calls.filter((c) => c.request.api === 'anthropic').map((c) => turnOf(c.request).message);
    expect(told.find((m) => m.includes('is not done yet')) ?? told.join('\n---\n')).toContain('The check "greets" (`grep -qx hello hello.txt`) exited with code 1.');
    expect(codex!.title).toBe(`${MARKER} Say hello (codex)`);
    // Each its own worktree and branch, holding its own CLI's commit.
    const worktrees = [claude!, codex!, opencode!].map((t) => t.git!.worktreePath!);
    expect(new Set(worktrees).size).toBe(3);
    for (const [cli, task] of [
      ['claude', claude!],
      ['codex', codex!],
      ['opencode', opencode!],
    ] as const) {
      expect(task.git!.worktreePath!.startsWith(`${worktreeRoot}/`)).toBe(true);
      expect(sh(task.git!.worktreePath!, 'log', '--format=%s|%an', 'main..HEAD'), cli).toBe(`${WRITES[cli].commit}|Person Own`);
      expect(`${sh(repoDir, 'show', `${task.git!.branch!}:hello.txt`)}\n`, cli).toBe(WRITES[cli].content);
    }
    // A person was asked about each commit and nothing else was refused.
    expect(desk.denied, desk.asked.join('\n')).toEqual([]);
    for (const cli of ['claude', 'codex', 'opencode']) expect(desk.asked.filter((line) => line.startsWith(`${cli}: `) && line.includes('git commit')).length, desk.asked.join('\n')).toBe(1);
  } finally {
    desk.close();
  }
}, 300_000);
