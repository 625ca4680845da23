/**
 * An agent starts a registered workflow through TinyAGI's MCP tool (docs/workflows.md,
 * "Registered workflows"), with the built daemon and the agent a user gets from `tinyagi agent add`
 * (warm, sandbox on, ask: the fake claude in real bubblewrap). Its shell calls `start_workflow` at
 * /mcp with its process's tools token, as Claude Code does; the command asks, and is approved as a
 * person would. The run records the agent, checks the input against the workflow's schema, and is
 * confined as the agent is: its steps to the agent it may call complete, the one to an agent it
 * may not call fails CALL_NOT_ALLOWED. `workflow_status` then reads the run's result; a workflow
 * that does not list the agent is refused, saying which one it may start.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cleanupTemp, FAKE_BIN_DIR, startDaemon, type TestDaemon, waitFor } from '@tinyagi/test-kit';

let daemon: TestDaemon;

const REVIEW = `export default async (wf, input) => {
  const reviews = await wf.map(input.files, (file) => wf.agent('helper', 'review ' + file));
  const secret = await wf.agent('vault', 'the secret').catch((err) => err.message);
  return { reviews, secret };
};
`;

beforeAll(async () => {
  daemon = await startDaemon({ prefix: 'tinyagi-workflow-agent-', path: [FAKE_BIN_DIR, '/usr/bin', '/bin'], settings: { agents: {} } });
  await daemon.cliHereOk(['agent', 'add', 'runner', '--provider', 'anthropic']);
  // What a user's new agent is: warm, sandboxed, asking before its tools act.
  expect(await daemon.api.getAgent({ params: { id: 'runner' } })).toMatchObject({ process: 'warm', sandbox: 'on', permission_mode: 'ask' });
  mkdirSync(join(daemon.home, 'workflows'), { recursive: true });
  writeFileSync(join(daemon.home, 'workflows', 'review.mjs'), REVIEW);
  await daemon.api.patchSettings({
    body: {
      agents: {
        runner: { may_call: ['helper'] },
        helper: { provider: 'mock', mock: { reply: 'helper: {{message}}' } },
        vault: { provider: 'mock', mock: { reply: 'SECRET-42' } },
      },
      workflows: {
        review: {
          file: 'review.mjs',
          description: 'Review each file',
          input: { type: 'object', properties: { files: { type: 'array', items: { type: 'string' } } }, required: ['files'] },
          agents: ['runner'],
        },
        nightly: { file: 'review.mjs' },
      },
    },
  });
}, 120_000);

afterAll(async () => {
  await daemon?.cleanup();
  cleanupTemp();
});

/** A shell line that calls one of TinyAGI's MCP tools with the agent process's tools token, as Claude Code does. */
function toolCall(name: string, args: Record<string, unknown>): string {
  const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name, arguments: args } });
  return `curl -q -sS --noproxy "*" -X POST -H "authorization: Bearer $TINYAGI_TOOLS_TOKEN" -H 'content-type: application/json' -H 'accept: application/json, text/event-stream' -d '${body}' "$TINYAGI_API_URL/mcp"`;
}

interface ToolResult {
  isError?: boolean;
  content: Array<{ text: string }>;
  structuredContent?: Record<string, unknown>;
}

/** The results of the tool calls a shell line printed (each an SSE `data:` line of a JSON-RPC answer), in order. */
function toolResults(printed: string): ToolResult[] {
  return printed
    .split('\n')
    .filter((l) => l.startsWith('data: '))
    .map((l) => (JSON.parse(l.slice('data: '.length)) as { result: ToolResult }).result);
}

/** Sends the runner a shell line to run (FAKE:bash), approves it as a person would, and gives back what it printed. */
async function runnerRuns(line: string): Promise<string> {
  const sent = await daemon.api.sendMessage({ body: { message: `FAKE:bash=${line} #`, agent: 'runner', channel: 'api', sender: 'test', senderId: 'test' } });
  return waitFor(
    async () => {
      for (const request of await daemon.api.listApprovals({ query: { status: 'pending' } })) {
        await daemon.api.decideApproval({ params: { id: request.id }, body: { decision: 'allow_once', by: 'test' } });
      }
      return (await daemon.api.getTranscript({ params: { id: sent.conversationId } })).entries.find((e) => e.direction === 'out')?.text;
    },
    120_000,
    "the runner's turn",
  );
}

it('an agent starts a registered workflow with start_workflow; its steps reach only the agents it may call; workflow_status reads its result', { timeout: 300_000 }, async () => {
  const printed = await runnerRuns(toolCall('start_workflow', { name: 'review', input: { files: ['a.ts', 'b.ts'] } }));
  const [started] = toolResults(printed);
  expect(started?.isError, printed).toBeUndefined();
  expect(started?.structuredContent).toMatchObject({ workflow: 'review', status: 'running', next: expect.stringContaining('Call workflow_status') });
  // What it is forecast to cost comes with it: two helper steps and the vault's, planned.
  expect(started?.structuredContent?.['forecast']).toMatchObject({ steps: 3, unpriced_steps: expect.any(Number) });
  const runId = started!.structuredContent!['run_id'] as string;

  const detail = await waitFor(
    async () => {
      const d = await daemon.api.getWorkflowRun({ params: { id: runId! } });
      return d.run.status === 'running' ? undefined : d;
    },
    60_000,
    'the workflow run to end',
  );
  expect(detail.run).toMatchObject({ name: 'review', registered: 'review', startedBy: 'runner', status: 'completed', input: { files: ['a.ts', 'b.ts'] } });
  const result = detail.run.result as { reviews: string[]; secret: string };
  expect(result.reviews).toEqual(['helper: review a.ts', 'helper: review b.ts']);
  expect(result.secret).toContain('CALL_NOT_ALLOWED: @runner may not call @vault: agents.runner.may_call is [helper].');
  expect(detail.steps.map((s) => [s.agentId, s.status])).toEqual([
    ['helper', 'completed'],
    ['helper', 'completed'],
    ['vault', 'failed'],
  ]);
  expect(await daemon.cliOk(['workflow', 'show', runId!])).toMatch(/started by:\s+@runner/);

  // The run's status through the agent's own tool; then an input the schema refuses, and a workflow that does not list the runner.
  const answers = toolResults(
    await runnerRuns(
      [toolCall('workflow_status', { run_id: runId }), toolCall('start_workflow', { name: 'review', input: { files: 'a.ts' } }), toolCall('start_workflow', { name: 'nightly' })].join('; echo; '),
    ),
  );
  expect(answers).toHaveLength(3);
  const [status, badInput, unlisted] = answers as [ToolResult, ToolResult, ToolResult];
  expect(status.structuredContent).toEqual({
    run_id: runId,
    workflow: 'review',
    status: 'completed',
    steps: { done: 2, total: 3, running: 0, failed: 1 },
    result,
    cost_usd: expect.any(Number),
  });
  expect(badInput.isError).toBe(true);
  expect(badInput.content[0]!.text).toMatch(/^VALIDATION_FAILED: Invalid body: input does not match workflow "review"'s input schema: body\.input\.files: Invalid input: expected array/);
  expect(unlisted.isError).toBe(true);
  expect(unlisted.content[0]!.text).toMatch(/^SCOPE_FORBIDDEN: @runner may not start workflow "nightly".*@runner may start "review"\.$/);
  expect((await daemon.api.listWorkflowRuns()).runs.map((r) => r.id)).toEqual([runId]);
  // Each of the runner's two shell lines asked, and a person allowed it.
  expect((await daemon.api.listApprovals({ query: { status: 'allowed' } })).filter((a) => a.agentId === 'runner')).toHaveLength(2);
});

it('the CLI lists the registered workflows and runs one by its name, saying which it started; an input its schema refuses names the path', { timeout: 120_000 }, async () => {
  const listed = await daemon.cliOk(['workflow', 'registered']);
  const row = listed.split('\n').find((l) => l.startsWith('review'));
  expect(row).toMatch(/^review\s+@runner\s+files\*\s+\S+\/workflows\/review\.mjs\s+Review each file$/);
  expect(listed.split('\n').find((l) => l.startsWith('nightly'))).toMatch(/^nightly\s+-\s+any\s+/);

  // No file named "review" here: the registered workflow runs.
  const ran = await daemon.cli(['workflow', 'run', 'review', '--input', '{"files":["c.ts"]}', '--wait']);
  expect(ran.code, ran.stderr).toBe(0);
  expect(ran.stderr).toMatch(/Started workflow run wf_\w+ of the registered workflow review \(\S+\/workflows\/review\.mjs\)\./);
  expect(JSON.parse(ran.stdout)).toMatchObject({ reviews: ['helper: review c.ts'], secret: 'SECRET-42' });
  const run = (await daemon.api.listWorkflowRuns()).runs[0]!;
  expect(run).toMatchObject({ registered: 'review', startedBy: 'person' });
  expect(await daemon.cliOk(['workflow', 'list'])).toMatch(new RegExp(`^${run.id}\\s+review\\s+completed\\s+2/2\\s+.*\\s+person$`, 'm'));

  const refused = await daemon.cli(['workflow', 'run', 'review', '--input', '{"files":"c.ts"}']);
  // A usage mistake, as the CLI's other refused inputs.
  expect(refused.code).toBe(2);
  expect(refused.stderr).toContain('body.input.files: Invalid input: expected array');
  const unknown = await daemon.cli(['workflow', 'run', 'weekly']);
  expect(unknown.code).toBe(1);
  expect(unknown.stderr).toContain('No registered workflow "weekly". Registered: "nightly", "review".');
});
