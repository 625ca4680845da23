import { afterEach, describe, expect, it } from 'vitest';
import { invokeAgent, type InvokeRequest, type InvokeResult } from '@tinyagi/core';
import { fakeCli, openAi, sendSse, startScriptedServer, waitFor } from '@tinyagi/test-kit';
import type { StoreSet } from '@tinyagi/core/internal';
import { closeAll, eventsOf, gates, harness, recordingInvoker, steeredCommands, waitForCompletion } from './helpers.ts';

/** The `run.progress` status lines of a run (what steering did, said as it happened). */
async function statusLines(stores: StoreSet, runId: string): Promise<string[]> {
  return (await eventsOf(stores, { types: ['run.progress'] })).filter((e) => e.runId === runId && e.data.type === 'status').map((e) => (e.data.type === 'status' ? e.data.message : ''));
}

afterEach(closeAll);

describe('steering a run', () => {
  it('pause holds a run at its checkpoint; inject adds to its input; resume lets it go', async () => {
    const log = recordingInvoker(invokeAgent);
    const h = await harness({ agents: { busy: { provider: 'mock', mock: { replies: [{ match: 'block', fail: 'hang' }], reply: 'got: {{message}}' } } } }, { invoke: log.invoke });
    const blocker = await h.orchestrator.submit({ message: '@busy block', senderId: 'u1' });
    const second = await h.orchestrator.submit({ message: '@busy the real task', senderId: 'u2' });
    const blockerRun = await waitFor(() => h.orchestrator.status().running.find((r) => r.conversationId === blocker.conversationId));
    const queuedRun = (await h.facets.views.tree(second.conversationId)).roots[0]!;
    expect(queuedRun.status).toBe('queued');

    expect(await h.facets.steering.steer(queuedRun.runId, 'pause')).toMatchObject({ accepted: true });
    expect(await h.facets.steering.steer(queuedRun.runId, 'pause')).toEqual({ accepted: false, reason: 'the run is already paused' });
    await h.facets.conversations.cancelRun(blockerRun.runId);
    await waitFor(() => h.orchestrator.status().running.find((r) => r.runId === queuedRun.runId));
    expect(h.orchestrator.status().paused).toEqual([queuedRun.runId]);
    expect(log.calls.filter((c) => c.prompt.includes('real task'))).toHaveLength(0);

    expect(await h.facets.steering.steer(queuedRun.runId, 'inject', { text: 'use the staging server' })).toMatchObject({ accepted: true });
    expect(await h.facets.steering.steer(queuedRun.runId, 'resume')).toMatchObject({ accepted: true });
    await waitForCompletion(h, second.conversationId);
    expect((await h.stores.runs.getRun(queuedRun.runId))!.output).toBe('got: the real task\n\n[Message added by the operator]\nuse the staging server');
    expect(await steeredCommands(h.stores, queuedRun.runId)).toEqual([
      ['pause', true],
      ['pause', false],
      ['inject', true],
      ['resume', true],
    ]);
  });

  it('a redirect while a mock agent works (held at a gate) replaces the task at its next step, in the same turn, and says so', async () => {
    const log = recordingInvoker(invokeAgent);
    const gate = gates();
    const h = await harness(
      { agents: { mull: { provider: 'mock', mock: { gate_dir: gate.dir, replies: [{ match: 'do X', gate: 'mull', reply: 'answer to: {{message}} (turn {{turn}})' }] } } } },
      { invoke: log.invoke },
    );
    const sent = await h.orchestrator.submit({ message: '@mull do X', senderId: 'u1' });
    const run = await waitFor(() => h.orchestrator.status().running.find((r) => r.conversationId === sent.conversationId));
    await waitFor(() => log.calls.length === 1 || undefined, 10_000, 'the invocation to begin');
    const answer = await h.facets.steering.steer(run.runId, 'redirect', { text: 'do Y instead', by: 'TinyOffice' });
    expect(answer).toEqual({ accepted: true, effect: 'Replaces the task at its next step; if the turn ends first, the turn restarts with the new instruction (the first answer is dropped).' });
    gate.open('mull');
    await waitForCompletion(h, sent.conversationId);
    expect((await h.stores.runs.getRun(run.runId))!.output).toBe('answer to: do X\n\n[New instruction from the operator; it replaces your previous task]\ndo Y instead (turn 1)');
    expect((await h.stores.agentSessions.get('mull', 'shared'))?.turns).toBe(1);
    expect(await statusLines(h.stores, run.runId)).toEqual(['operator input (redirect) applied inside turn 1']);
    expect(await h.facets.steering.steer(run.runId, 'inject', { text: 'too late' })).toMatchObject({ accepted: false });
    // The human gets one reply: the run's final answer.
    expect(await h.stores.outbox.list({ conversationId: sent.conversationId })).toHaveLength(1);
  });

  it('a paused run does not post its answer: the mock run waits at its next step, and a turn that ended while paused is held until resume', async () => {
    const log = recordingInvoker(invokeAgent);
    const gate = gates();
    const h = await harness(
      { agents: { slow: { provider: 'mock', mock: { gate_dir: gate.dir, replies: [{ match: 'the task', gate: 'slow', reply: 'done: {{message}}' }] } } } },
      { invoke: log.invoke },
    );
    const sent = await h.orchestrator.submit({ message: '@slow the task', senderId: 'u1' });
    const run = await waitFor(() => h.orchestrator.status().running.find((r) => r.conversationId === sent.conversationId));
    // Paused while the turn is under way (held at its gate), not before it began.
    await waitFor(() => log.calls.length === 1 || undefined, 10_000, 'the invocation to begin');
    expect(await h.facets.steering.steer(run.runId, 'pause', { by: 'the TUI' })).toMatchObject({ accepted: true, effect: expect.stringContaining('Holds the run at its next step') });
    gate.open('slow');
    await waitFor(async () => (await statusLines(h.stores, run.runId)).includes('paused inside turn 1, until the run is resumed') || undefined, 10_000, 'the run to hold');
    expect((await h.stores.runs.getRun(run.runId))!.status).toBe('running');
    expect(await h.stores.outbox.list({ conversationId: sent.conversationId })).toHaveLength(0);
    expect(await h.facets.steering.steer(run.runId, 'inject', { text: 'mind the tests', by: 'the TUI' })).toMatchObject({ accepted: true });
    expect(await h.facets.steering.steer(run.runId, 'resume', { by: 'the TUI' })).toMatchObject({ accepted: true });
    await waitForCompletion(h, sent.conversationId);
    expect((await h.stores.runs.getRun(run.runId))!.output).toBe('done: the task\n\n[Message added by the operator while you were working]\nmind the tests');
  });

  it('honours the per-agent allowlist and refuses to steer finished runs', async () => {
    const h = await harness({ agents: { strict: { provider: 'mock', steering: ['cancel'], mock: { replies: [{ match: 'wait', fail: 'hang' }] } } } });
    const sent = await h.orchestrator.submit({ message: '@strict wait', senderId: 'u1' });
    const run = await waitFor(() => h.orchestrator.status().running.find((r) => r.conversationId === sent.conversationId));
    const refused = await h.facets.steering.steer(run.runId, 'inject', { text: 'hi' });
    expect(refused.accepted).toBe(false);
    expect(refused.reason).toContain('agents.strict.steering does not allow "inject"');
    expect(await h.facets.steering.steer(run.runId, 'cancel')).toMatchObject({ accepted: true });
    await waitForCompletion(h, sent.conversationId);
    expect((await h.stores.runs.getRun(run.runId))!.status).toBe('cancelled');
    expect(await h.facets.steering.steer(run.runId, 'cancel')).toEqual({ accepted: false, reason: 'the run has already ended (cancelled)' });
    const events = (await eventsOf(h.stores, { types: ['run.steered'] })).map((e) => [e.data.command, e.data.accepted]);
    expect(events).toEqual([
      ['inject', false],
      ['cancel', true],
      ['cancel', false],
    ]);
    await expect(h.facets.steering.steer('run_missing', 'pause')).rejects.toThrow(/No run with id run_missing/);
  });
});

describe('steering an HTTP agent inside one invocation', () => {
  it('an inject sent while the model waits for a sub-agent reaches the next model call, not a new turn', async () => {
    // The sub-agent works until the test has sent the inject (its gate).
    const gate = gates();
    let steerNow!: () => void;
    const childStarted = new Promise<void>((resolve) => (steerNow = resolve));
    const model = await startScriptedServer([
      (_req, res) => sendSse(res, [openAi.toolCall(0, { id: 'c1', name: 'spawn_agent', arguments: '{"agent":"helper","task":"look it up"}' }), openAi.finish('tool_calls'), openAi.done]),
      (_req, res) => sendSse(res, [openAi.text('final answer'), openAi.finish('stop'), openAi.done]),
    ]);
    try {
      const h = await harness({
        custom_providers: { local: { runtime: 'openai', base_url: `${model.url}/v1`, api_key: 'sk-test', model: 'm' } },
        agents: { thinker: { provider: 'custom:local' }, helper: { provider: 'mock', mock: { gate_dir: gate.dir, replies: [{ match: 'look it up', gate: 'helper', reply: 'found it' }] } } },
      });
      h.stores.events.subscribe((e) => {
        if (e.type === 'run.started' && e.agentId === 'helper') steerNow();
      });
      const sent = await h.orchestrator.submit({ message: '@thinker answer the question', senderId: 'u1' });
      await childStarted;
      const parent = (await h.facets.views.tree(sent.conversationId)).roots[0]!;
      expect(await h.facets.steering.steer(parent.runId, 'inject', { text: 'cite your source' })).toMatchObject({
        accepted: true,
        effect: expect.stringContaining('at its next model call (between tool rounds)'),
      });
      expect((await h.facets.steering.ofRun(parent.runId)).commands.filter((c) => c.midTurn).map((c) => c.command)).toEqual(['pause', 'inject', 'redirect', 'cancel']);
      gate.open('helper');
      await waitForCompletion(h, sent.conversationId);

      expect(model.requests).toHaveLength(2);
      const followUp = model.requests[1]!.body.messages as Array<Record<string, unknown>>;
      expect(followUp.slice(-2)).toEqual([
        { role: 'tool', tool_call_id: 'c1', content: 'found it' },
        { role: 'user', content: '[Message added by the operator while you were working]\ncite your source' },
      ]);
      expect((await h.stores.runs.getRun(parent.runId))!.output).toBe('final answer');
      // One turn: the input was used inside the invocation; the transcript keeps it.
      const session = (await h.stores.agentSessions.get('thinker', 'shared'))!;
      expect(session.turns).toBe(1);
      expect(session.transcript.at(-2)).toEqual({ role: 'user', content: 'answer the question\n\n[Message added by the operator while you were working]\ncite your source' });
    } finally {
      await model.close();
    }
  });
});

describe('steering a CLI agent (the fake Claude Code CLI)', () => {
  const FAKE_CLAUDE = fakeCli('claude');
  /** The claude-code runtime on the fake CLI, whose `FAKE:gate=<name>` waits before its answer until the test opens the gate. */
  const gatedClaude = (gateDir: string) => (req: InvokeRequest) => invokeAgent({ ...req, target: { ...req.target, command: FAKE_CLAUDE }, env: { ...req.env, FAKE_GATE_DIR: gateDir } });
  const cliAgents = { cc: { provider: 'anthropic' as const } };
  /** Records each invocation's prompt and answer. */
  const answersOf = (inner: (req: InvokeRequest) => Promise<InvokeResult>) => {
    const log = recordingInvoker(inner);
    const answers: string[] = [];
    const invoke = async (req: InvokeRequest): Promise<InvokeResult> => {
      const result = await log.invoke(req);
      answers.push(result.text);
      return result;
    };
    return { calls: log.calls, answers, invoke };
  };

  it('pause cannot stop a CLI mid-turn and says so; the answer of the turn is held, not posted, until resume; input sent meanwhile takes one more turn; every command shows in the tree and the transcript with who sent it', async () => {
    const gate = gates();
    const log = answersOf(gatedClaude(gate.dir));
    const h = await harness({ agents: cliAgents }, { invoke: log.invoke });
    const sent = await h.orchestrator.submit({ agent: 'cc', message: 'FAKE:gate=turn1 FAKE:reply=first answer', senderId: 'u1' });
    const run = await waitFor(() => h.orchestrator.status().running.find((r) => r.conversationId === sent.conversationId), 10_000, 'the run');
    const capabilities = await h.facets.steering.ofRun(run.runId);
    expect(capabilities).toMatchObject({ runtime: 'claude-code', status: 'running', paused: false });
    expect(capabilities.commands.find((c) => c.command === 'pause')).toMatchObject({ allowed: true, midTurn: false, note: expect.stringContaining('cannot pause mid-turn') });

    // Paused once the CLI's turn is under way (before it, the run would simply not start its turn); the CLI answers when the gate opens.
    await waitFor(() => log.calls.length === 1 || undefined, 10_000, 'the turn to begin');
    const paused = await h.facets.steering.steer(run.runId, 'pause', { by: 'TinyOffice' });
    expect(paused).toMatchObject({ accepted: true, effect: expect.stringContaining('the answer is held, not posted, until you resume') });
    gate.open('turn1');
    await waitFor(async () => (await statusLines(h.stores, run.runId)).includes('paused: turn 1 finished; its answer is held until the run is resumed') || undefined, 15_000, 'the answer to be held');
    // Held: the run is still running, nothing was posted, and the conversation is open.
    expect((await h.stores.runs.getRun(run.runId))!.status).toBe('running');
    expect(await h.stores.outbox.list({ conversationId: sent.conversationId })).toHaveLength(0);
    expect((await h.stores.runs.mustGetConversation(sent.conversationId)).status).toBe('active');
    expect((await h.facets.steering.ofRun(run.runId)).paused).toBe(true);

    expect(await h.facets.steering.steer(run.runId, 'inject', { text: 'also add tests', by: 'the CLI' })).toMatchObject({ accepted: true, effect: expect.stringContaining('one more turn') });
    expect(await h.facets.steering.steer(run.runId, 'resume', { by: 'TinyOffice' })).toMatchObject({ accepted: true });
    await waitForCompletion(h, sent.conversationId);
    // Two invocations: the second was sent the injected text, and its answer is the one posted, once.
    expect(log.calls.map((c) => c.prompt)).toEqual(['FAKE:gate=turn1 FAKE:reply=first answer', '[Message added by the operator while you were working]\nalso add tests']);
    const output = (await h.stores.runs.getRun(run.runId))!.output!;
    expect(output).toBe(log.answers[1]);
    const replies = await h.stores.outbox.list({ conversationId: sent.conversationId });
    expect(replies.map((r) => r.text)).toEqual([expect.stringContaining(output)]);
    expect(await statusLines(h.stores, run.runId)).toContain('operator input (injected message): one more turn (turn 2)');

    const tree = await h.facets.views.tree(sent.conversationId);
    expect(tree.roots[0]!.steering?.map((e) => [e.command, e.by, e.text ?? null])).toEqual([
      ['pause', 'TinyOffice', null],
      ['inject', 'the CLI', 'also add tests'],
      ['resume', 'TinyOffice', null],
    ]);
    const transcript = await h.facets.views.transcript(sent.conversationId);
    expect(transcript.filter((e) => e.steering).map((e) => [e.from, e.to, e.text.split('\n')[0]])).toEqual([
      ['TinyOffice', '@cc', '[Paused]'],
      ['the CLI', '@cc', '[Injected] also add tests'],
      ['TinyOffice', '@cc', '[Resumed]'],
    ]);
    expect(await h.facets.views.transcriptMarkdown(sent.conversationId)).toContain('**the CLI → @cc**');
  });

  for (const [cli, provider] of [
    ['codex', 'openai'],
    ['opencode', 'opencode'],
  ] as const) {
    it(`${cli}: the answer of a turn that ends while paused is held until resume, and input sent meanwhile takes one more turn`, async () => {
      // The fake CLI answers at once; its answer reaches the orchestrator only when the gate opens,
      // so the turn ends while the run is paused.
      let open!: () => void;
      const gate = new Promise<void>((resolve) => (open = resolve));
      const log = answersOf(async (req) => {
        const result = await invokeAgent({ ...req, target: { ...req.target, command: fakeCli(cli) } });
        if (req.session?.turn === 1) await gate;
        return result;
      });
      const h = await harness({ agents: { c: { provider } } }, { invoke: log.invoke });
      const sent = await h.orchestrator.submit({ agent: 'c', message: 'FAKE:reply=first answer', senderId: 'u1' });
      const run = await waitFor(() => (log.calls.length === 1 ? h.orchestrator.status().running.find((r) => r.conversationId === sent.conversationId) : undefined), 10_000, 'the turn');
      expect((await h.facets.steering.ofRun(run.runId)).commands.find((c) => c.command === 'pause')).toMatchObject({ midTurn: false, note: expect.stringContaining('cannot pause mid-turn') });
      expect(await h.facets.steering.steer(run.runId, 'pause', { by: 'the CLI' })).toMatchObject({ accepted: true });
      open();
      await waitFor(
        async () => (await statusLines(h.stores, run.runId)).includes('paused: turn 1 finished; its answer is held until the run is resumed') || undefined,
        15_000,
        'the answer to be held',
      );
      expect(await h.stores.outbox.list({ conversationId: sent.conversationId })).toHaveLength(0);
      expect(await h.facets.steering.steer(run.runId, 'inject', { text: 'FAKE:reply=second answer', by: 'the CLI' })).toMatchObject({ accepted: true });
      expect(await h.facets.steering.steer(run.runId, 'resume', { by: 'the CLI' })).toMatchObject({ accepted: true });
      await waitForCompletion(h, sent.conversationId);
      expect(log.calls).toHaveLength(2);
      expect((await h.stores.runs.getRun(run.runId))!.output).toBe('second answer');
      expect((await h.stores.outbox.list({ conversationId: sent.conversationId })).map((r) => r.text)).toEqual([expect.stringContaining('second answer')]);
    });
  }

  it('a redirect of a CLI turn restarts the turn with the new instruction after the current one ends, and says so', async () => {
    const gate = gates();
    const log = recordingInvoker(gatedClaude(gate.dir));
    const h = await harness({ agents: cliAgents }, { invoke: log.invoke });
    const sent = await h.orchestrator.submit({ agent: 'cc', message: 'FAKE:gate=turn1 FAKE:reply=the old task done', senderId: 'u1' });
    const run = await waitFor(() => h.orchestrator.status().running.find((r) => r.conversationId === sent.conversationId), 10_000, 'the run');
    await waitFor(() => log.calls.length === 1 || undefined, 10_000, 'the turn to begin');
    expect(await h.facets.steering.steer(run.runId, 'redirect', { text: 'FAKE:reply=the new task done', by: 'TinyOffice' })).toMatchObject({
      accepted: true,
      effect: expect.stringContaining('the turn restarts with the new instruction'),
    });
    gate.open('turn1');
    await waitForCompletion(h, sent.conversationId);
    expect(log.calls.map((c) => c.prompt)).toEqual([
      'FAKE:gate=turn1 FAKE:reply=the old task done',
      '[New instruction from the operator; it replaces your previous task]\nFAKE:reply=the new task done',
    ]);
    expect((await h.stores.runs.getRun(run.runId))!.output).toBe('the new task done');
    expect(await statusLines(h.stores, run.runId)).toContain('redirected: the turn restarts with the new instruction (turn 2); the previous answer is dropped');
    expect((await h.stores.outbox.list({ conversationId: sent.conversationId })).map((r) => r.text)).toEqual([expect.stringContaining('the new task done')]);
  });
});
