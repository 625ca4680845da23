/**
 * Approvals in the trace and the metrics, against a real OTLP receiver (HTTP/protobuf) and a
 * real orchestrator (SQLite file, its approval desk): a run's permission requests — one denied
 * with a reason, one allowed, one that expires — become `tinyagi.approval.*` events on the run's
 * `invoke_agent` span (no tool input unless content capture is on, secrets masked always), and
 * the metrics count the decisions by outcome, their wait, and the requests pending (read from
 * the approvals store at export, while one waits). The exports hear the desk and the budget
 * warnings through the observer seam only (`approvalRequested`, `approvalSettled`,
 * `budgetWarning`): no event log is fed to them.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '@tinyagi/test-kit';
import { invokeAgent, type InvokeRequest, type Settings } from '@tinyagi/core';
import { agentsFromSettings, createMetricsObserver, createTraceObserver } from '../src/index.ts';
import { exportOptions, harness, SECRET, settings as teamSettings } from './harness.ts';
import { httpReceiver, type ReceivedPoint, type ReceivedSpan } from './receiver.ts';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

const settings: Settings = {
  agents: {
    guarded: { provider: 'mock', permission_mode: 'ask', mock: { reply: 'done', usage: { input_tokens: 5, output_tokens: 2 } } },
    hasty: { provider: 'mock', permission_mode: 'ask', permissions: { expires_s: 0.3, on_expiry: 'deny' }, mock: { reply: 'gave up' } },
    curious: { provider: 'mock', mock: { reply: 'blue it is' } },
  },
};

let current: Awaited<ReturnType<typeof harness>> | undefined;

/**
 * The runtime asks before its tool calls, as a CLI does through the permission bridge (`curious`
 * asks the person a question, as the `ask_human` tool does); then the mock answers.
 */
async function asking(req: InvokeRequest) {
  if (req.agentId === 'curious') await current!.facets.approvals.askHuman(req.env!['TINYAGI_RUN_ID']!, { question: `Which color? (key ${SECRET})`, choices: ['blue', 'red'] });
  else if (req.agentId === 'guarded') {
    await req.askApproval!({ tool: 'Bash', input: { command: 'rm -rf build', api_key: SECRET } });
    await req.askApproval!({ tool: 'Edit', input: { file_path: 'src/a.ts' } });
  } else await req.askApproval!({ tool: 'WebFetch', input: { url: 'https://example.com' } });
  return invokeAgent(req);
}

async function setUp(captureContent: boolean) {
  const receiver = await httpReceiver();
  cleanups.push(() => receiver.close());
  const traces = await createTraceObserver({ ...exportOptions(receiver, 'http/protobuf', settings), captureContent });
  cleanups.push(() => traces.shutdown());
  let h!: Awaited<ReturnType<typeof harness>>;
  const metrics = await createMetricsObserver({
    url: `${receiver.endpoint}/v1/metrics`,
    protocol: 'http/protobuf',
    describeAgent: agentsFromSettings(() => settings),
    exportIntervalMillis: 60_000,
    approvalsPending: async () => {
      const byKind: Record<string, number> = {};
      for (const a of await h.stores.approvals.list({ status: 'pending', limit: 1000 })) byKind[a.kind] = (byKind[a.kind] ?? 0) + 1;
      return byKind;
    },
  });
  cleanups.push(() => metrics.shutdown());
  h = await harness(settings, { observers: [traces.observer, metrics.observer], invoke: asking });
  current = h;
  cleanups.push(() => h.close());
  return { receiver, traces, metrics, h };
}

async function pendingOne(h: Awaited<ReturnType<typeof harness>>, tool: string) {
  return waitFor(async () => (await h.stores.approvals.list({ status: 'pending', limit: 10 })).find((a) => a.tool === tool), 15_000, `the ${tool} request`);
}

const total = (points: ReceivedPoint[], metric: string, match: Record<string, unknown>, field: 'value' | 'count' = 'value') =>
  points.filter((p) => p.metric === metric && Object.entries(match).every(([k, v]) => p.attributes[k] === v)).reduce((n, p) => n + (p[field] ?? 0), 0);

async function runBoth(captureContent: boolean) {
  const { receiver, traces, metrics, h } = await setUp(captureContent);
  const guarded = await h.orchestrator.submit({ message: '@guarded clean the build', channel: 'api', sender: 'ana', senderId: 'u1' });
  const bash = await pendingOne(h, 'Bash');
  // While it waits: the gauge reads one permission request pending.
  await metrics.flush();
  const whileWaiting = await waitFor(() => receiver.points.some((p) => p.metric === 'tinyagi.approvals.pending') && [...receiver.points], 10_000, 'the pending gauge');
  expect(total(whileWaiting, 'tinyagi.approvals.pending', { 'tinyagi.approval.kind': 'permission' })).toBe(1);
  expect(total(whileWaiting, 'tinyagi.approvals.pending', { 'tinyagi.approval.kind': 'question' })).toBe(0);
  receiver.points.length = 0;

  await h.facets.approvals.decide(bash.id, 'deny', 'telegram:ana', `not the build dir, and never with ${SECRET}`);
  const edit = await pendingOne(h, 'Edit');
  await h.facets.approvals.decide(edit.id, 'allow_once', 'tinyoffice');
  await h.waitForConversation(guarded.conversationId);

  const hasty = await h.orchestrator.submit({ message: '@hasty fetch it', channel: 'api', sender: 'ana', senderId: 'u1' });
  await h.waitForConversation(hasty.conversationId);

  await traces.flush();
  const spans = await waitFor(() => receiver.spans.filter((s) => s.name.startsWith('invoke_agent')).length >= 2 && receiver.spans, 10_000, 'the run spans');
  await metrics.flush();
  const points = await waitFor(() => receiver.points.some((p) => p.metric === 'tinyagi.approval.decisions') && receiver.points, 10_000, 'the decision metrics');
  return { spans, points, bash, edit };
}

const runSpan = (spans: ReceivedSpan[], agent: string) => spans.find((s) => s.name === `invoke_agent ${agent}`)!;

describe('approvals', () => {
  it('span events with the decision, who took it and the reason; no tool input without the opt-in; decisions, wait and pending as metrics', async () => {
    const { spans, points, bash, edit } = await runBoth(false);
    const guarded = runSpan(spans, 'guarded');
    const approvals = guarded.events.filter((e) => e.name.startsWith('tinyagi.approval.'));
    expect(approvals.map((e) => `${e.name} ${e.attributes['gen_ai.tool.name']}`)).toEqual([
      'tinyagi.approval.requested Bash',
      'tinyagi.approval.decided Bash',
      'tinyagi.approval.requested Edit',
      'tinyagi.approval.decided Edit',
    ]);
    expect(approvals[0]!.attributes).toEqual({ 'tinyagi.approval.id': bash.id, 'tinyagi.approval.kind': 'permission', 'gen_ai.tool.name': 'Bash', 'tinyagi.approval.status': 'pending' });
    const denied = approvals[1]!.attributes;
    expect(denied).toMatchObject({
      'tinyagi.approval.id': bash.id,
      'tinyagi.approval.status': 'denied',
      'tinyagi.approval.decision': 'deny',
      'tinyagi.approval.decided_by': 'telegram:ana',
      'tinyagi.approval.wait_ms': expect.any(Number),
    });
    expect(denied['tinyagi.approval.reason']).toContain('not the build dir, and never with');
    expect(approvals[3]!.attributes).toMatchObject({
      'tinyagi.approval.id': edit.id,
      'tinyagi.approval.status': 'allowed',
      'tinyagi.approval.decision': 'allow_once',
      'tinyagi.approval.decided_by': 'tinyoffice',
    });
    const hasty = runSpan(spans, 'hasty').events.filter((e) => e.name.startsWith('tinyagi.approval.'));
    expect(hasty.map((e) => e.name)).toEqual(['tinyagi.approval.requested', 'tinyagi.approval.expired']);
    expect(hasty[1]!.attributes).toMatchObject({ 'tinyagi.approval.status': 'expired', 'tinyagi.approval.decided_by': 'expiry', 'gen_ai.tool.name': 'WebFetch' });
    expect(hasty[1]!.attributes['tinyagi.approval.reason']).toMatch(/nobody answered/);
    // No input, summary or command without capture_content; the secret nowhere.
    for (const e of [...approvals, ...hasty]) for (const key of Object.keys(e.attributes)) expect(key).not.toMatch(/arguments|summary|answer/);
    expect(JSON.stringify(spans)).not.toContain('rm -rf');
    expect(JSON.stringify(spans)).not.toContain(SECRET);

    // Metrics: decisions by outcome (who decided reduced to the surface), their wait, nothing pending at the end.
    expect(
      total(points, 'tinyagi.approval.decisions', {
        'gen_ai.agent.id': 'guarded',
        'tinyagi.approval.status': 'denied',
        'tinyagi.approval.decision': 'deny',
        'tinyagi.approval.decided_by': 'telegram',
      }),
    ).toBe(1);
    expect(total(points, 'tinyagi.approval.decisions', { 'tinyagi.approval.status': 'allowed', 'tinyagi.approval.decided_by': 'tinyoffice' })).toBe(1);
    expect(total(points, 'tinyagi.approval.decisions', { 'gen_ai.agent.id': 'hasty', 'tinyagi.approval.status': 'expired', 'tinyagi.approval.kind': 'permission' })).toBe(1);
    expect(total(points, 'tinyagi.approval.wait', {}, 'count')).toBe(3);
    expect(total(points, 'tinyagi.approvals.pending', {})).toBe(0);
    expect(points.find((p) => p.metric === 'tinyagi.approval.wait')!.unit).toBe('s');
  });

  it('a question (ask_human): requested and answered on the run span; the question and the answer only with capture_content', async () => {
    for (const captureContent of [false, true]) {
      const { receiver, traces, h } = await setUp(captureContent);
      const sent = await h.orchestrator.submit({ message: '@curious pick a color', channel: 'api', sender: 'ana', senderId: 'u1' });
      const question = await pendingOne(h, 'ask_human');
      expect(question.kind).toBe('question');
      await h.facets.approvals.decide(question.id, 'answer', 'tinyoffice', undefined, 'blue');
      await h.waitForConversation(sent.conversationId);
      await traces.flush();
      const span = await waitFor(() => receiver.spans.find((s) => s.name === 'invoke_agent curious'), 10_000, 'the run span');
      const events = span.events.filter((e) => e.name.startsWith('tinyagi.approval.'));
      expect(events.map((e) => e.name)).toEqual(['tinyagi.approval.requested', 'tinyagi.approval.decided']);
      expect(events[1]!.attributes).toMatchObject({
        'tinyagi.approval.kind': 'question',
        'gen_ai.tool.name': 'ask_human',
        'tinyagi.approval.status': 'answered',
        'tinyagi.approval.decision': 'answer',
        'tinyagi.approval.decided_by': 'tinyoffice',
      });
      if (captureContent) {
        // Masked where the desk stores the question (every text a runtime supplies is), in the product's one format.
        expect(events[0]!.attributes['tinyagi.approval.summary']).toMatch(/^Which color\? \(key \S*…\S*\)$/);
        expect(events[1]!.attributes['tinyagi.approval.answer']).toBe('blue');
      } else {
        for (const e of events) for (const key of Object.keys(e.attributes)) expect(key).not.toMatch(/summary|answer$|arguments/);
        expect(JSON.stringify(span)).not.toContain('Which color');
      }
      expect(JSON.stringify(span)).not.toContain(SECRET);
      for (const fn of cleanups.splice(0).reverse()) await fn();
    }
  });

  it('a request still waiting when its run is cancelled: the span ends at the cancel with the request on it, the cancellation is counted once', async () => {
    const { receiver, traces, metrics, h } = await setUp(false);
    const sent = await h.orchestrator.submit({ message: '@guarded clean the build', channel: 'api', sender: 'ana', senderId: 'u1' });
    const bash = await pendingOne(h, 'Bash');
    await h.facets.conversations.cancelConversation(sent.conversationId, 'changed my mind');
    // The cancel ends the run (its span with it), then the desk cancels the request it waited on.
    await waitFor(async () => (await h.stores.approvals.get(bash.id))?.status === 'cancelled', 15_000, 'the request cancelled');
    await metrics.flush();
    const points = await waitFor(() => receiver.points.some((p) => p.metric === 'tinyagi.approval.decisions') && receiver.points, 10_000, 'the decision metrics');
    expect(total(points, 'tinyagi.approval.decisions', {})).toBe(1);
    expect(total(points, 'tinyagi.approval.decisions', { 'gen_ai.agent.id': 'guarded', 'tinyagi.approval.status': 'cancelled', 'tinyagi.approval.decided_by': 'cancelled' })).toBe(1);
    await traces.flush();
    const span = await waitFor(() => receiver.spans.find((s) => s.name === 'invoke_agent guarded'), 10_000, 'the run span');
    expect(span.attributes['tinyagi.run.status']).toBe('cancelled');
    expect(span.events.filter((e) => e.name.startsWith('tinyagi.approval.')).map((e) => e.name)).toEqual(['tinyagi.approval.requested']);
  });

  it('capture_content: the summary and the tool input on the request event, secrets masked', async () => {
    const { spans } = await runBoth(true);
    const requested = runSpan(spans, 'guarded').events.find((e) => e.name === 'tinyagi.approval.requested')!;
    expect(requested.attributes['tinyagi.approval.summary']).toBe('Bash: rm -rf build');
    const args = JSON.parse(requested.attributes['gen_ai.tool.call.arguments'] as string) as Record<string, unknown>;
    expect(args['command']).toBe('rm -rf build');
    expect(args['api_key']).not.toBe(SECRET);
    expect(JSON.stringify(spans)).not.toContain(SECRET);
  });
});

describe('budget warnings', () => {
  it('a conversation crossing its soft budget limit: a tinyagi.budget.warning event naming the limit, on the run that crossed it', async () => {
    const receiver = await httpReceiver();
    cleanups.push(() => receiver.close());
    const team: Settings = { ...teamSettings, budgets: { conversation_tokens: 400, soft_limit_fraction: 0.5 } };
    const traces = await createTraceObserver({ ...exportOptions(receiver, 'http/protobuf', team), workflowIdleMs: 200 });
    cleanups.push(() => traces.shutdown());
    const h = await harness(team, { observers: [traces.observer] });
    cleanups.push(() => h.close());
    const sent = await h.orchestrator.submit({ message: '@launch plan the launch', channel: 'api', sender: 'ana', senderId: 'u1' });
    await h.waitForConversation(sent.conversationId);
    const logged = (await h.stores.events.readSince(0, { conversationId: sent.conversationId, types: ['budget.warning'] }, 10))[0];
    expect(logged, 'the orchestrator warned').toBeDefined();
    const spans = await waitFor(() => receiver.spans.some((s) => s.name.startsWith('invoke_workflow')) && receiver.spans, 10_000, 'the workflow span');
    const warnings = spans.flatMap((s) => s.events.filter((e) => e.name === 'tinyagi.budget.warning').map((e) => ({ span: s, e })));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.e.attributes).toEqual({
      'tinyagi.budget.limit_name': 'conversation_tokens',
      'tinyagi.budget.used': expect.any(Number),
      'tinyagi.budget.limit': 400,
      'tinyagi.run.id': logged!.runId,
    });
    expect(warnings[0]!.e.attributes['tinyagi.budget.used']).toBeGreaterThanOrEqual(200);
    // Told just before the run's end: on the run that crossed the limit.
    expect(warnings[0]!.span.attributes['tinyagi.run.id']).toBe(logged!.runId);
  });
});
