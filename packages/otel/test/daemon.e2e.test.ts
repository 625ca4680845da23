/**
 * The real daemon (the built `tinyagi`, packages/cli/dist, from its start-up snapshot as users
 * run it) with only the standard OpenTelemetry variables set: a team conversation arrives at the
 * receiver as one trace, and the agent CLI the daemon launches (the fake `claude`, a real
 * subprocess) receives a TRACEPARENT whose trace id is the conversation's and whose span is the
 * run's exported span.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createDaemon, FAKE_BIN_DIR, waitFor, type TestDaemon } from '@tinyagi/test-kit';
import { traceIdOf } from '../src/index.ts';
import { httpReceiver, type Receiver } from './receiver.ts';

let receiver: Receiver;
let daemon: TestDaemon;
let fakeLog: string;

beforeAll(async () => {
  receiver = await httpReceiver();
  daemon = await createDaemon({
    prefix: 'tinyagi-otel-e2e-',
    path: [FAKE_BIN_DIR],
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
          lead: { name: 'Lead', provider: 'mock', mock: { rules: [{ match: 'plan', progress: [{ tool: 'Read', input: { file_path: 'a.md' } }], reply: 'Planned. [@cc: FAKE:reply=done]' }] } },
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
