/**
 * TinyAGI's agent tools over MCP, used the way a CLI agent uses them: an agent on a runtime
 * (fixtures/mcp-tool-runtime, installed as a plugin) starts `$TINYAGI_CLI mcp` with its run's
 * environment and calls the tools through the official SDK client. The built daemon applies what
 * they declare as it applies tags: a handoff starts the teammate, a chat-room post reaches the
 * room, a file from the workspace goes out with the answer and one from outside is refused;
 * call_agent returns a sub-agent's reply; bad input is a tool error; a run's token cannot act for
 * another run.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createDaemon, waitFor, type TestDaemon } from '@tinyagi/test-kit';
import { afterAll, beforeAll, expect, it } from 'vitest';

const FIXTURE = fileURLToPath(new URL('./fixtures/mcp-tool-runtime/runtime.mjs', import.meta.url));

let daemon: TestDaemon;

beforeAll(async () => {
  daemon = await createDaemon({
    prefix: 'tinyagi-mcp-agent-',
    settings: ({ root }) => ({
      workspace: { path: `${root}/workspace` },
      models: { provider: 'mock' },
      agents: {
        lead: { provider: 'mcp-tools-test' },
        helper: { provider: 'mock', mock: { reply: 'helper did: {{message}}' } },
        // Its questions expire after 2 s: nobody answers them.
        impatient: { provider: 'mcp-tools-test', permissions: { expires_s: 2 } },
      },
      teams: { crew: { agents: ['lead', 'helper'], leader_agent: 'lead' } },
      channels: { enabled: [] },
    }),
  });
  mkdirSync(join(daemon.home, 'kinds'), { recursive: true });
  writeFileSync(join(daemon.home, 'kinds', 'mcp-tools-test.mjs'), `export * from ${JSON.stringify(pathToFileURL(FIXTURE).href)};\n`);
  await daemon.start();
});

afterAll(async () => {
  await daemon?.cleanup();
});

async function ask(calls: unknown[], over: 'stdio' | 'http' = 'stdio'): Promise<{ conversationId: string; text: string }> {
  const prompt = `${over === 'http' ? 'HTTP:' : ''}MCP:${JSON.stringify(calls)}`;
  const out = JSON.parse(await daemon.cliHereOk(['send', '--agent', 'lead', '--wait', '--json', prompt], { timeoutMs: 180_000 })) as {
    conversationId: string;
    replies: Array<{ agentId: string; text: string }>;
  };
  return {
    conversationId: out.conversationId,
    text: out.replies
      .filter((r) => r.agentId === 'lead')
      .map((r) => r.text)
      .join('\n'),
  };
}

it('send_to_agent hands off when the turn ends, call_agent returns the sub-agent’s reply, post_to_team_room reaches the room', async () => {
  const { conversationId, text } = await ask([
    { tool: 'call_agent', args: { agent: 'helper', task: 'count the files' } },
    { tool: 'send_to_agent', args: { to: 'helper', message: 'now write the summary' } },
    { tool: 'post_to_team_room', args: { team: 'crew', message: 'lead is on it' } },
  ]);
  expect(text).toMatch(/call_agent: helper did: \[Task from @lead · sub-agent call[^\]]*\]\s*count the files/);
  expect(text).toContain('send_to_agent: Handed off to @helper when your turn ends');
  expect(text).toContain("post_to_team_room: Posted to #crew's chat room");
  // The handoff ran the teammate in the same conversation with the declared message.
  const transcript = await waitFor(
    async () => {
      const t = await daemon.api.getTranscript({ params: { id: conversationId } });
      return t.entries.some((e) => e.text.includes('helper did:') && e.text.includes('now write the summary')) ? t : undefined;
    },
    60_000,
    'the handed-off run',
  );
  expect(transcript.entries.filter((e) => e.direction === 'in' && e.to === '@helper' && e.text.includes('now write the summary')).map((e) => e.cause)).toEqual(['mention']);
  const room = await daemon.api.getChatroom({ params: { id: 'crew' } });
  expect(room.messages.map((m) => [m.fromAgent, m.content])).toContainEqual(['lead', 'lead is on it']);
});

it('send_file sends a workspace file with the answer and refuses one from outside; bad input is a tool error, not a failed run', async () => {
  const workspace = join(daemon.root, 'workspace', 'lead');
  mkdirSync(workspace, { recursive: true });
  writeFileSync(join(workspace, 'report.txt'), 'the report');
  const { conversationId, text } = await ask([
    { tool: 'send_file', args: { path: join(workspace, 'report.txt') } },
    { tool: 'send_file', args: { path: '/etc/hostname' } },
    { tool: 'send_to_agent', args: { to: 'nobody', message: 'hello?' } },
    { tool: 'post_to_team_room', args: { team: 'crew', message: '' } },
  ]);
  expect(text).toMatch(/send_to_agent: ERROR AGENT_NOT_FOUND: No agent @nobody/);
  expect(text).toMatch(/post_to_team_room: ERROR .*message/);
  const outbox = await daemon.api.listOutbox({ query: { conversationId } });
  const answer = outbox.find((o) => o.agentId === 'lead');
  expect(answer?.files.map((f) => f.split('/').pop())).toEqual(['report.txt']);
  expect(answer?.text).toContain('was not sent: only files inside its workspace or TINYAGI_HOME/files can be sent');
});

it("over the daemon's /mcp with the process's tools token: call_agent and send_to_agent act for the current run; the token opens nothing else", async () => {
  const { conversationId, text } = await ask(
    [
      { tool: 'call_agent', args: { agent: 'helper', task: 'count the lines' } },
      { tool: 'send_to_agent', args: { to: 'helper', message: 'then file the report' } },
    ],
    'http',
  );
  expect(text).toMatch(/call_agent: helper did: \[Task from @lead · sub-agent call[^\]]*\]\s*count the lines/);
  expect(text).toContain('send_to_agent: Handed off to @helper when your turn ends');
  // The sub-agent ran under the calling run: the tools token acted for the run current at the call.
  const tree = await daemon.api.getConversation({ params: { id: conversationId } });
  expect(tree.roots[0]?.children.map((c) => [c.agentId, c.cause, c.status])).toContainEqual(['helper', expect.any(String), 'completed']);
  await waitFor(
    async () =>
      (await daemon.api.getTranscript({ params: { id: conversationId } })).entries.some((e) => e.text.includes('then file the report') && e.text.includes('helper did:')) ? true : undefined,
    60_000,
    'the handed-off run',
  );
  const out = JSON.parse(await daemon.cliHereOk(['send', '--agent', 'lead', '--wait', '--json', 'TOOLS-ELSEWHERE'])) as { replies: Array<{ text: string }> };
  const answer = out.replies.map((r) => r.text).join('\n');
  expect(answer).toContain('tools token elsewhere: refused SCOPE_FORBIDDEN');
  expect(answer).toContain('made-up tools token: status 401');
});

it("a run's token cannot declare actions for another run", async () => {
  const { text } = await ask([]).then(async () => {
    const out = JSON.parse(await daemon.cliHereOk(['send', '--agent', 'lead', '--wait', '--json', 'FORGE:run_someone_else'])) as { replies: Array<{ text: string }> };
    return { text: out.replies.map((r) => r.text).join('\n') };
  });
  expect(text).toContain('forged: refused SCOPE_FORBIDDEN');
  expect(text).toContain('forged ask: refused SCOPE_FORBIDDEN');
  expect(text).toContain('forged task: refused SCOPE_FORBIDDEN');
});

/** Sends `MCP:[calls]` to `agent` without waiting; the reply is read with `replyOf`. */
async function start(agent: string, calls: unknown[]): Promise<{ conversationId: string }> {
  return daemon.api.sendMessage({ body: { agent, message: `MCP:${JSON.stringify(calls)}` } });
}

async function replyOf(conversationId: string, agent: string): Promise<string> {
  return waitFor(
    async () => {
      const t = await daemon.api.getTranscript({ params: { id: conversationId } });
      const out = t.entries.filter((e) => e.direction === 'out' && e.from === `@${agent}`).map((e) => e.text);
      return out.length > 0 ? out.join('\n') : undefined;
    },
    120_000,
    `@${agent}'s reply`,
  );
}

async function pendingQuestion(conversationId: string): Promise<{ id: string; summary: string; input: unknown }> {
  return waitFor(async () => (await daemon.api.listApprovals({ query: { status: 'pending', kind: 'question', conversationId } }))[0], 60_000, 'the question in the inbox');
}

it('ask_human waits for the person: answered from the CLI (tinyagi answer) the tool returns the answer; declined it is a tool error with the reason', async () => {
  const answered = await start('lead', [{ tool: 'ask_human', args: { question: 'Which colour for the button?', choices: ['red', 'blue'] } }]);
  const question = await pendingQuestion(answered.conversationId);
  expect(question).toMatchObject({ summary: 'Which colour for the button?', input: { question: 'Which colour for the button?', choices: ['red', 'blue'] } });
  await daemon.cliHereOk(['answer', question.id, 'blue,', 'the brand colour']);
  expect(await replyOf(answered.conversationId, 'lead')).toBe('ask_human: blue, the brand colour');

  const declined = await start('lead', [{ tool: 'ask_human', args: { question: 'May I delete the old branch?' } }]);
  const second = await pendingQuestion(declined.conversationId);
  await daemon.api.decideApproval({ params: { id: second.id }, body: { decision: 'deny', reason: 'not today', by: 'test' } });
  expect(await replyOf(declined.conversationId, 'lead')).toBe('ask_human: ERROR The person did not answer: test declined to answer: not today.');
});

it('ask_human sends progress notifications while the person takes their time, so the CLI does not give up on the call', async () => {
  const log = join(daemon.root, 'workspace', 'lead', 'mcp-progress.log');
  const { conversationId } = await start('lead', [{ tool: 'ask_human', args: { question: 'Take your time: which plan?' } }]);
  const question = await pendingQuestion(conversationId);
  // The server reports every 15 s while it waits (the client asked for progress).
  await waitFor(async () => (existsSync(log) && readFileSync(log, 'utf8').includes('ask_human: waiting for the person to answer') ? true : undefined), 90_000, 'a progress notification');
  await daemon.api.decideApproval({ params: { id: question.id }, body: { decision: 'answer', answer: 'plan B', by: 'test' } });
  expect(await replyOf(conversationId, 'lead')).toBe('ask_human: plan B');
});

it('an ask_human call the CLI gives up on cancels its question: the inbox does not wait for nobody', async () => {
  const { conversationId } = await start('lead', [{ tool: 'ask_human', args: { question: 'Are you there?' }, timeout_ms: 3000 }]);
  const text = await replyOf(conversationId, 'lead');
  expect(text).toMatch(/^ask_human: ERROR .*timed out/i);
  const [question] = await waitFor(
    async () => {
      const list = await daemon.api.listApprovals({ query: { conversationId } });
      return list.length === 1 && list[0]!.status !== 'pending' ? list : undefined;
    },
    60_000,
    'the question cancelled',
  );
  expect(question).toMatchObject({ status: 'cancelled', kind: 'question', reason: 'denied: the agent stopped waiting for the answer' });
});

it('ask_human that nobody answers expires with the agent’s permissions.expires_s; bad input is a tool error naming the field', async () => {
  const { conversationId } = await start('impatient', [
    { tool: 'ask_human', args: { question: '' } },
    { tool: 'ask_human', args: { question: 'Anyone there?' } },
  ]);
  const text = await replyOf(conversationId, 'impatient');
  expect(text).toMatch(/^ask_human: ERROR .*question/);
  expect(text).toContain('ask_human: ERROR The person did not answer: nobody answered within 2 s.');
  expect((await daemon.api.listApprovals({ query: { conversationId } })).map((a) => a.status)).toEqual(['expired']);
});

it('get_task and update_task read and move the task the conversation works on, and comment as the agent; without a task they say so', async () => {
  const calls = [
    { tool: 'get_task', args: {} },
    { tool: 'update_task', args: { status: 'review', comment: 'Done; please check the copy.' } },
    { tool: 'update_task', args: {} },
  ];
  const task = await daemon.api.createTask({ body: { title: 'Polish the landing page', description: `MCP:${JSON.stringify(calls)}`, status: 'in_progress', assigneeAgent: 'lead' } });
  const conversationId = await waitFor(async () => (await daemon.api.getTask({ params: { id: task.id } })).conversationId ?? undefined, 60_000, 'the task dispatched');
  const text = await replyOf(conversationId, 'lead');
  expect(text).toContain('"title": "Polish the landing page"');
  expect(text).toContain('"status": "review"');
  expect(text).toMatch(/update_task: ERROR .*status, a comment, or both/);
  expect(await daemon.api.getTask({ params: { id: task.id } })).toMatchObject({ status: 'review', commentCount: 1 });
  expect(await daemon.api.listComments({ params: { id: task.id } })).toEqual([expect.objectContaining({ author: '@lead', content: 'Done; please check the copy.' })]);

  const none = await start('lead', [
    { tool: 'get_task', args: {} },
    { tool: 'update_task', args: { comment: 'x' } },
  ]);
  const noneText = await replyOf(none.conversationId, 'lead');
  expect(noneText).toContain('get_task: This conversation works on no task from the board.');
  expect(noneText).toContain('update_task: ERROR TASK_NOT_FOUND: This conversation works on no task');
});
