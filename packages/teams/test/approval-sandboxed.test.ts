/**
 * A sandboxed agent runs on its own (docs/approvals.md, "New agents"): a new agent as `agent add`
 * makes it (`permission_mode: "ask"`, the starter rules) whose sandbox is enforced — the real
 * bubblewrap self-test passed on this machine — runs the 24 everyday read-only commands of
 * issue 64 without a person (`cat README.md`, `rg foo`, `git log --oneline | head -5`, `npm test
 * 2>&1 | tail -20`, …), while the same agent unsandboxed asks for each. And a request is judged
 * where the run works: a task's worktree (the run's `workdir`), where its edits never ask and a
 * link out of it is outside.
 */
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { SettingsSchema, type ApprovalAnswer, type InvokeRequest } from '@tinyagi/core';
import { runSelfTest, sandboxHost, withNewAgentDefaults } from '@tinyagi/core/internal';
import { EVERYDAY_READ_COMMANDS, tempDir, waitFor } from '@tinyagi/test-kit';
import { ApprovalDesk } from '../src/approvals/desk.ts';
import { closeAll, harness, testStores, waitForCompletion, withWorkspace } from './helpers.ts';

afterEach(closeAll);

const machineDir = tempDir('tinyagi-approval-sandboxed-machine-');
/** The node's sandbox host, its self-test run on it and recorded, as a node's start does. */
const host = sandboxHost();
beforeAll(async () => {
  const check = await runSelfTest({ host, tinyHome: join(machineDir, 'home'), workspaceRoot: join(machineDir, 'ws'), env: process.env });
  expect(check.ok, JSON.stringify(check.problem)).toBe(true);
  host.recordCheck(check);
}, 60_000);
afterAll(() => host.close());

async function setUp(sandbox: 'on' | undefined) {
  const dir = tempDir('tinyagi-approval-sandboxed-');
  const { stores } = await testStores(join(dir, 'tinyagi.db'));
  const agent: Record<string, unknown> = withNewAgentDefaults({}, { provider: 'anthropic', ...(sandbox ? { sandbox } : {}) });
  expect(agent).toMatchObject({ permission_mode: 'ask' });
  // A request that did wait for a person is denied by expiry after 5 s (a failure that says so, not a hang).
  const permissions = { ...(agent['permissions'] as object), expires_s: 5 };
  const settings = withWorkspace(SettingsSchema.parse({ agents: { lead: { ...agent, permissions } } }), dir);
  const workspace = join(dir, 'ws', 'lead');
  mkdirSync(join(workspace, 'src'), { recursive: true });
  for (const file of ['README.md', 'package.json', 'src/index.ts', 'a.txt', 'b.txt', 'build.log']) writeFileSync(join(workspace, file), '');
  const desk = new ApprovalDesk({ stores, getSettings: () => settings, env: {}, sandboxHost: host });
  return { dir, stores, desk, workspace };
}

const run = { id: 'run_sbx1', agentId: 'lead', conversationId: 'conv_sbx1' };
const bash = (command: string) => ({ tool: 'Bash', input: { command, description: 'look' } });

it('sandboxed: the 24 everyday read-only commands ask nobody', async () => {
  const { stores, desk } = await setUp('on');
  const signal = new AbortController().signal;
  for (const command of EVERYDAY_READ_COMMANDS) expect(await desk.ask(run, 'session-1', bash(command), signal), command).toEqual({ allow: true, decidedBy: 'rule' });
  // What writes, runs a program or leaves the boundary's harmless reads still asks.
  const controller = new AbortController();
  const asks = ['find . -delete', 'find . -exec rm {} +', 'rg --pre ./x foo', 'tree -o out.txt', 'cat README.md > copy.md', 'npm test 2>&1 | tee out.log'].map((command) =>
    desk.ask(run, 'session-1', bash(command), controller.signal),
  );
  await waitFor(async () => ((await stores.approvals.list({ status: 'pending' })).length === asks.length ? true : undefined));
  controller.abort();
  for (const answer of await Promise.all(asks)) expect(answer.allow).toBe(false);
});

it('unsandboxed, the same agent asks a person for each of them', async () => {
  const { stores, desk } = await setUp(undefined);
  const controller = new AbortController();
  const asks = EVERYDAY_READ_COMMANDS.map((command) => desk.ask(run, 'session-1', bash(command), controller.signal));
  const pending = await waitFor(async () => {
    const rows = await stores.approvals.list({ status: 'pending' });
    return rows.length === EVERYDAY_READ_COMMANDS.length ? rows : undefined;
  });
  expect(pending.map((r) => (r.input as { command: string }).command).sort()).toEqual([...EVERYDAY_READ_COMMANDS].sort());
  controller.abort();
  for (const answer of await Promise.all(asks)) expect(answer).toMatchObject({ allow: false, decidedBy: 'cancelled' });
});

it("a task's run is judged in its worktree: its Write, Edit and Read there ask nobody; a link committed in it leads outside", async () => {
  const { dir, stores, desk } = await setUp('on');
  const worktree = join(dir, 'worktrees', 'lead-t1');
  const outside = join(dir, 'outside');
  mkdirSync(join(worktree, 'src'), { recursive: true });
  mkdirSync(outside);
  writeFileSync(join(outside, 'package.json'), '{"scripts":{"test":"echo outside"}}');
  symlinkSync(outside, join(worktree, 'outlink'));
  const taskRun = { ...run, workdir: worktree };
  const signal = new AbortController().signal;
  const file = join(worktree, 'src', 'app.ts');
  for (const ask of [
    { tool: 'Write', input: { file_path: file, content: 'x' } },
    { tool: 'Edit', input: { file_path: file, old_string: 'x', new_string: 'y' } },
    { tool: 'Read', input: { file_path: file } },
    { tool: 'Bash', input: { command: 'cd src && npm test' } },
  ]) {
    expect(await desk.ask(taskRun, 'session-1', ask, signal), ask.tool).toEqual({ allow: true, decidedBy: 'rule' });
  }
  const controller = new AbortController();
  const asks = [
    desk.ask(taskRun, 'session-1', bash('cd outlink && npm test'), controller.signal),
    // The same Write judged from the agent's workspace, as before: outside it.
    desk.ask(run, 'session-1', { tool: 'Write', input: { file_path: file, content: 'x' } }, controller.signal),
  ];
  await waitFor(async () => ((await stores.approvals.list({ status: 'pending' })).length === asks.length ? true : undefined));
  controller.abort();
  for (const answer of await Promise.all(asks)) expect(answer.allow).toBe(false);
});

it("through the orchestrator: a message with a workdir (a task's) has its run's requests judged there", async () => {
  const answers: Array<{ cwd: string; answer: ApprovalAnswer }> = [];
  const invoke = async (req: InvokeRequest) => {
    const answer = await req.askApproval!({ tool: 'Write', input: { file_path: join(req.cwd, 'src', 'app.ts'), content: 'x' } });
    answers.push({ cwd: req.cwd, answer });
    return { text: 'done', usage: { inputTokens: 1, outputTokens: 1 } };
  };
  // The starter rules of a new agent, on the mock provider (which runs the invoker below).
  const starter: Record<string, unknown> = withNewAgentDefaults({}, { provider: 'anthropic' });
  const agent = { provider: 'mock', permission_mode: starter['permission_mode'], permissions: { rules: (starter['permissions'] as { rules: unknown[] }).rules, expires_s: 5 } };
  const h = await harness(SettingsSchema.parse({ agents: { lead: agent } }), { invoke });
  const worktree = join(h.dir, 'worktrees', 'lead-t2');
  mkdirSync(join(worktree, 'src'), { recursive: true });
  const sent = await h.orchestrator.submit({ message: '@lead fix it', senderId: 'u1', workdir: worktree });
  await waitForCompletion(h, sent.conversationId);
  expect(answers).toEqual([{ cwd: worktree, answer: { allow: true, decidedBy: 'rule' } }]);
});
