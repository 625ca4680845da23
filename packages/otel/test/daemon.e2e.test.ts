/**
 * The real daemon (the built `tinyagi`, packages/cli/dist, from its start-up snapshot as users
 * run it) with only the standard OpenTelemetry variables set: a team conversation arrives at the
 * receiver as one trace, and the agent CLI the daemon launches (the fake `claude`, a real
 * subprocess) receives a TRACEPARENT whose trace id is the conversation's and whose span is the
 * run's exported span. A task's Checking: the agent (the fake claude running a script in the
 * task's worktree) commits and says done with its own update_task route; the daemon's Checking
 * is a child of that run's span, with a span per check.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createDaemon, FAKE_BIN_DIR, gitRepos, tempDir, waitFor, type TestDaemon } from '@tinyagi/test-kit';
import { traceIdOf } from '../src/index.ts';
import { httpReceiver, type Receiver } from './receiver.ts';

let receiver: Receiver;
let daemon: TestDaemon;
let fakeLog: string;

beforeAll(async () => {
  receiver = await httpReceiver();
  daemon = await createDaemon({
    prefix: 'tinyagi-otel-e2e-',
    // The fake claude, then git, sh and curl (the worktree step, the checks, the agent's script).
    path: [FAKE_BIN_DIR, '/usr/bin', '/bin'],
    env: {
      OTEL_TRACES_EXPORTER: 'otlp',
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
      OTEL_BSP_SCHEDULE_DELAY: '50',
      OTEL_SERVICE_NAME: 'tinyagi-e2e',
    },
    settings: ({ root }) => {
      fakeLog = join(root, 'fake-claude.log');
      return {
        workspace: { path: join(root, 'workspace') },
        channels: { enabled: [] },
        agents: {
          lead: { name: 'Lead', provider: 'mock', mock: { replies: [{ match: 'plan', progress: [{ tool: 'Read', input: { file_path: 'a.md' } }], reply: 'Planned. [@cc: FAKE:reply=done]' }] } },
          cc: { name: 'Claude', provider: 'claude-code', model: 'sonnet', env_passthrough: ['FAKE_LOG'] },
        },
        teams: { dev: { name: 'Dev', agents: ['lead', 'cc'], leader_agent: 'lead' } },
      };
    },
  });
  daemon.env['FAKE_LOG'] = fakeLog;
  await daemon.start();
});

afterAll(async () => {
  await daemon?.cleanup();
  await receiver?.close();
});

it('a team conversation through the daemon is one trace; the CLI it launches gets TRACEPARENT in that trace', async () => {
  const sent = JSON.parse(await daemon.cliOk(['send', '--json', '@dev plan the release'])) as { conversationId: string };
  const traceId = traceIdOf(sent.conversationId);
  const cc = await waitFor(() => receiver.spans.find((s) => s.name === 'invoke_agent Claude'), 30_000, "the claude run's span");
  const lead = await waitFor(() => receiver.spans.find((s) => s.name === 'invoke_agent Lead'), 30_000, "the lead run's span");
  expect(receiver.spans.find((s) => s.name === 'execute_tool Read')?.parentSpanId).toBe(lead.spanId);
  expect(cc.traceId).toBe(traceId);
  expect(lead.traceId).toBe(traceId);
  expect(cc.links.map((l) => l.spanId)).toEqual([lead.spanId]);
  expect(cc.attributes).toMatchObject({ 'gen_ai.provider.name': 'anthropic', 'gen_ai.request.model': 'sonnet', 'gen_ai.agent.id': 'cc', 'gen_ai.conversation.id': sent.conversationId });
  expect(cc.resource['service.name']).toBe('tinyagi-e2e');

  const runs = readFileSync(fakeLog, 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { env: Record<string, string> });
  expect(runs.map((r) => r.env['TRACEPARENT'])).toEqual([`00-${traceId}-${cc.spanId}-01`]);
  // The workflow span closes after the conversation has been quiet.
  const workflow = await waitFor(() => receiver.spans.find((s) => s.name === 'invoke_workflow dev'), 30_000, 'the workflow span');
  expect([lead.parentSpanId, cc.parentSpanId]).toEqual([workflow.spanId, workflow.spanId]);
});

it("a task's Checking is in the trace of the run that said done: check_task under its span, an execute_check per check", async () => {
  const fx = gitRepos();
  // The agent commits, then says done as the MCP tool does; a second run (the feedback's) finds nothing to commit and stops.
  const agent = join(tempDir('tinyagi-otel-e2e-agent-'), 'agent.sh');
  const sayDone = `curl -sS -X PATCH -H "authorization: Bearer $TINYAGI_RUN_TOKEN" -H 'content-type: application/json' -d '{"status":"review"}' "$TINYAGI_API_URL/api/runs/$TINYAGI_RUN_ID/task" > /dev/null`;
  writeFileSync(agent, `printf 'done\\n' > work.txt && git add work.txt && git -c user.name=Agent -c user.email=agent@example.com commit -q -m work && ${sayDone}\n`);
  const checks = [
    { name: 'lint', argv: ['sh', '-c', 'echo lint ok'], timeoutMs: 30_000 },
    { name: 'test', argv: ['sh', '-c', 'echo "1 failed" >&2; exit 1'], timeoutMs: 30_000 },
  ];
  const project = await daemon.api.createProject({ body: { name: 'Web', repo: { path: fx.repoDir, worktreeRoot: join(fx.root, 'worktrees'), checks } } });
  const task = await daemon.api.createTask({ body: { title: `Fix it FAKE:bash=sh ${agent} #`, projectId: project.id, assigneeAgent: 'cc', status: 'in_progress' } });

  const checking = await waitFor(() => receiver.spans.find((s) => s.name === 'check_task WEB-1'), 60_000, 'the Checking span');
  const checked = await daemon.api.getTask({ params: { id: task.id } });
  // The run that said done (its span may arrive after the Checking's).
  const saidDone = await waitFor(
    () => receiver.spans.find((s) => s.name === 'invoke_agent Claude' && s.attributes['tinyagi.run.id'] === checking.attributes['tinyagi.run.id']),
    30_000,
    'the span of the run that said done',
  );
  expect(saidDone.traceId).toBe(traceIdOf(saidDone.attributes['gen_ai.conversation.id'] as string));
  expect(checking.traceId).toBe(saidDone.traceId);
  expect(checking.parentSpanId).toBe(saidDone.spanId);
  expect(checking.attributes).toMatchObject({
    'tinyagi.task.id': task.id,
    'tinyagi.checking.outcome': 'failed',
    'tinyagi.task.round': 0,
    'vcs.ref.head.revision': checked.git?.check?.headSha,
    'gen_ai.conversation.id': saidDone.attributes['gen_ai.conversation.id'],
  });
  expect(checking.status.code).toBe(2);
  const children = await waitFor(
    () => {
      const found = receiver.spans.filter((s) => s.parentSpanId === checking.spanId);
      return found.length === 2 ? found : undefined;
    },
    10_000,
    'the check spans',
  );
  expect(children.map((s) => [s.name, s.attributes['process.exit.code'], s.status.code]).sort()).toEqual([
    ['execute_check lint', 0, 0],
    ['execute_check test', 1, 2],
  ]);
});
