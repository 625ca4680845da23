/**
 * Approvals for per-message Claude Code, end to end on the built daemon with the fake `claude`
 * (packages/test-kit/bin): an agent with `permission_mode: "ask"` runs `claude -p
 * --permission-prompt-tool mcp__tinyagi__approval_prompt`, and the fake does what the real CLI
 * does with it (fake-permission-prompt.cjs): reaches the server the `--mcp-config` names (the
 * daemon's own `/mcp` over HTTP, with the CLI's tools token), checks the tool is listed, calls it
 * with {tool_name, input, tool_use_id} and runs the shell command only if the JSON answer allows
 * it. The MCP tool asks the run's desk
 * through `POST /api/runs/:id/approval` with the run's token: a rule answers at once, else a
 * person through the API (deny with a reason the model reads, allow for the session so the
 * same command is not asked again in that session, while another session is asked). A daemon
 * killed while the CLI waits cancels the request at its next start and the command never runs.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Approval } from '@tinyagi/client';
import { createDaemon, exitOf, FAKE_BIN_DIR, spawnCli, waitFor, type TestDaemon } from '@tinyagi/test-kit';
import { afterAll, beforeAll, expect, it } from 'vitest';

let daemon: TestDaemon;

beforeAll(async () => {
  daemon = await createDaemon({
    prefix: 'tinyagi-approvals-pm-',
    // The fake claude first; /usr/bin and /bin for the shell commands it runs when allowed.
    path: [FAKE_BIN_DIR, '/usr/bin', '/bin'],
    settings: ({ root }) => ({
      workspace: { path: `${root}/workspace` },
      models: { provider: 'mock' },
      agents: {
        careful: {
          provider: 'claude-code',
          session_mode: 'per-thread',
          permission_mode: 'ask',
          permissions: {
            rules: [
              { action: 'allow', command: 'echo ruled*' },
              { action: 'deny', command: 'rm -rf /*' },
            ],
          },
        },
      },
      channels: { enabled: [] },
    }),
  });
  await daemon.start();
});

afterAll(async () => {
  await daemon?.cleanup();
});

const workspace = (): string => join(daemon.root, 'workspace', 'careful');

/** Sends `command` for the model to run in thread `thread`; resolves with the reply. */
async function run(command: string, thread: string, whileWaiting?: () => Promise<void>): Promise<string> {
  const send = spawnCli(['send', '--agent', 'careful', '--thread', thread, '--wait', '--json', '-q', '--timeout', '300', `FAKE:bash=${command}`], daemon.env, { build: 'built' });
  await whileWaiting?.();
  const exit = await exitOf(send.child);
  const out = send.output();
  expect(exit.code, out).toBe(0);
  return (JSON.parse(out.slice(out.indexOf('{'))) as { replies: Array<{ text: string }> }).replies.map((r) => r.text).join('\n');
}

async function nextPending(seen: Set<string>): Promise<Approval> {
  const found = await waitFor(async () => (await daemon.api.listApprovals({ query: { status: 'pending', agent: 'careful' } })).find((a) => !seen.has(a.id)), 120_000, 'a pending request');
  seen.add(found.id);
  return found;
}

it('rules answer at once; a person denies (the model reads why, nothing runs) or allows for the session (not asked again there)', async () => {
  const seen = new Set<string>();

  // An allow rule: runs without a person; a deny rule: refused without one.
  expect(await run('echo ruled ok', 'rules')).toContain('bash ran: ruled ok');
  expect(await run('rm -rf /tmp/tinyagi-never-there', 'rules')).toMatch(/bash refused: denied by a permission rule of @careful \(command rm -rf \/\*\)/);
  expect(await daemon.api.listApprovals({ query: { agent: 'careful' } })).toEqual([]);

  // A person denies with a reason: the command does not run, the model reads the reason.
  const denied = await run('touch denied.txt', 'people', async () => {
    const request = await nextPending(seen);
    expect(request).toMatchObject({ kind: 'permission', tool: 'Bash', input: { command: 'touch denied.txt' }, summary: 'Bash: touch denied.txt' });
    await daemon.api.decideApproval({ params: { id: request.id }, body: { decision: 'deny', reason: 'not in this repo', by: 'test' } });
  });
  expect(denied).toContain('bash refused: denied by test: not in this repo');
  expect(existsSync(join(workspace(), 'denied.txt'))).toBe(false);

  // Allowed for the session: it runs, and the same command in the same session is not asked again.
  const allowed = await run('touch allowed.txt', 'people', async () => {
    const request = await nextPending(seen);
    await daemon.api.decideApproval({ params: { id: request.id }, body: { decision: 'allow_session', by: 'test' } });
  });
  expect(allowed).toContain('bash ran');
  expect(existsSync(join(workspace(), 'allowed.txt'))).toBe(true);
  expect(await run('touch allowed.txt', 'people')).toContain('bash ran');
  expect((await daemon.api.listApprovals({ query: { agent: 'careful' } })).map((a) => a.status).sort()).toEqual(['allowed', 'denied']);

  // Another session is asked again (allow_session is the session's only).
  const elsewhere = await run('touch allowed.txt', 'other', async () => {
    const request = await nextPending(seen);
    await daemon.api.decideApproval({ params: { id: request.id }, body: { decision: 'allow_once', by: 'test' } });
  });
  expect(elsewhere).toContain('bash ran');
}, 400_000);

it('a restart while the CLI waits: its request is cancelled ("the session ended"), the command never runs, the retried message asks again', async () => {
  const seen = new Set((await daemon.api.listApprovals({ query: { agent: 'careful' } })).map((a) => a.id));
  const sent = await daemon.api.sendMessage({ body: { agent: 'careful', message: 'FAKE:bash=touch restart.txt', threadKey: 'restart', channel: 'api', sender: 'test', senderId: 'test' } });
  const waiting = await nextPending(seen);
  await daemon.kill();
  await daemon.start();
  const after = await waitFor(
    async () => {
      const a = await daemon.api.getApproval({ params: { id: waiting.id } });
      return a.status === 'pending' ? undefined : a;
    },
    60_000,
    'the request to be cancelled',
  );
  expect(after).toMatchObject({ status: 'cancelled', decidedBy: 'restart', reason: 'denied: the session ended' });
  // The message is retried after the restart: its CLI asks again; a denial ends it without the command.
  const again = await nextPending(seen);
  expect(again).toMatchObject({ conversationId: sent.conversationId, input: { command: 'touch restart.txt' } });
  await daemon.api.decideApproval({ params: { id: again.id }, body: { decision: 'deny', reason: 'not after a restart', by: 'test' } });
  await waitFor(
    async () => ((await daemon.api.getConversation({ params: { id: sent.conversationId } })).conversation.status === 'completed' ? true : undefined),
    120_000,
    'the retried message to complete',
  );
  expect(existsSync(join(workspace(), 'restart.txt'))).toBe(false);
}, 400_000);
