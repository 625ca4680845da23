import { afterEach, describe, expect, it } from 'vitest';
import { invokeAgent, type Settings } from '@tinyagi/core';
import { runTreeFromEvents, SubAgentSession, subagentSessionKey, type RunNode } from '../src/index.ts';
import { waitFor } from '@tinyagi/test-kit';
import { closeAll, eventsOf, harness, recordingInvoker, waitForCompletion } from './helpers.ts';

afterEach(closeAll);

/** The comparable part of a tree (timestamps differ between the table and the events). */
function shape(nodes: RunNode[]): unknown[] {
  return nodes.map((n) => ({
    runId: n.runId,
    agentId: n.agentId,
    parentRunId: n.parentRunId,
    depth: n.depth,
    cause: n.cause,
    status: n.status,
    inputTokens: n.inputTokens,
    outputTokens: n.outputTokens,
    costUsd: n.costUsd,
    children: shape(n.children),
  }));
}

const recursive: Settings = {
  agents: {
    root: {
      provider: 'mock',
      mock: {
        replies: [
          {
            match: 'build',
            spawn: [
              { agent: 'mid', task: 'part A' },
              { agent: 'mid', task: 'part B' },
            ],
            reply: 'root done:\n{{spawn_results}}',
          },
        ],
      },
    },
    mid: { provider: 'mock', mock: { replies: [{ match: 'part', spawn: [{ agent: 'leaf', task: 'detail of {{message}}' }], reply: 'mid({{spawn_results}})' }] } },
    leaf: { provider: 'mock', mock: { replies: [{ match: 'detail', spawn: [{ agent: 'probe', task: 'go deeper' }], reply: 'leaf[{{spawn_results}}]' }] } },
    probe: { provider: 'mock', mock: { reply: 'probe ran' } },
  },
  limits: { max_depth: 2 },
};

describe('recursive sub-agents', () => {
  it('refuses the depth-(cap+1) spawn before the provider is called; the parent gets the limit result and completes', async () => {
    const log = recordingInvoker(invokeAgent);
    const h = await harness(recursive, { invoke: log.invoke });
    const sent = await h.orchestrator.submit({ message: '@root build it', senderId: 'u1' });
    await waitForCompletion(h, sent.conversationId);

    expect(log.calls.map((c) => c.agentId).sort()).toEqual(['leaf', 'leaf', 'mid', 'mid', 'root']);
    const rejected = await eventsOf(h.stores, { conversationId: sent.conversationId, types: ['subagent.rejected'] });
    expect(rejected).toHaveLength(2);
    expect(rejected.map((e) => e.data)).toEqual([
      expect.objectContaining({ name: 'probe', code: 'DEPTH_LIMIT', depth: 3, maxDepth: 2 }),
      expect.objectContaining({ name: 'probe', code: 'DEPTH_LIMIT', depth: 3, maxDepth: 2 }),
    ]);

    const tree = await h.facets.views.tree(sent.conversationId);
    const root = tree.roots[0]!;
    expect(root).toMatchObject({ agentId: 'root', depth: 0, status: 'completed' });
    expect(root.children.map((c) => [c.agentId, c.depth, c.status])).toEqual([
      ['mid', 1, 'completed'],
      ['mid', 1, 'completed'],
    ]);
    const leaf = root.children[0]!.children[0]!;
    expect(leaf).toMatchObject({ agentId: 'leaf', depth: 2, status: 'completed' });
    expect(leaf.children).toEqual([expect.objectContaining({ agentId: 'probe', depth: 3, status: 'rejected', cause: 'spawn' })]);

    const answer = (await h.stores.runs.getRun(root.runId))!.output!;
    expect(answer).toContain('root done:');
    expect(answer).toContain('[spawn_agent DEPTH_LIMIT] depth limit reached: a sub-agent here would run at depth 3, the limit is 2.');

    // Every started child has exactly one terminal sub-agent event.
    const started = (await eventsOf(h.stores, { conversationId: sent.conversationId, types: ['subagent.started'] })).map((e) => e.runId);
    const terminal = (await eventsOf(h.stores, { conversationId: sent.conversationId, types: ['subagent.completed', 'subagent.failed'] })).map((e) => e.runId);
    expect(started).toHaveLength(4);
    expect([...terminal].sort()).toEqual([...started].sort());

    // The tree rebuilt from events alone equals the stored tree.
    expect(shape(runTreeFromEvents(await eventsOf(h.stores, { conversationId: sent.conversationId })))).toEqual(shape(tree.roots));
  });

  it('an agent or team can only tighten the depth cap (min of inherited and own)', async () => {
    const log = recordingInvoker(invokeAgent);
    const h = await harness({ ...recursive, limits: { max_depth: 5 }, agents: { ...recursive.agents, mid: { ...recursive.agents!.mid, limits: { max_depth: 1 } } } }, { invoke: log.invoke });
    const sent = await h.orchestrator.submit({ message: '@root build it', senderId: 'u1' });
    await waitForCompletion(h, sent.conversationId);
    // mid runs under min(5, 1) = 1, so its leaf (depth 2) is refused.
    expect(log.calls.map((c) => c.agentId).sort()).toEqual(['mid', 'mid', 'root']);
    const rejected = await eventsOf(h.stores, { conversationId: sent.conversationId, types: ['subagent.rejected'] });
    expect(rejected.map((e) => [e.data.name, e.data.code, e.data.maxDepth])).toEqual([
      ['leaf', 'DEPTH_LIMIT', 1],
      ['leaf', 'DEPTH_LIMIT', 1],
    ]);
  });

  it('children per run and spawns per conversation are limited at admission', async () => {
    const h = await harness({
      agents: {
        root: {
          provider: 'mock',
          mock: {
            replies: [
              {
                match: 'go',
                spawn: [
                  { agent: 'w', task: '1' },
                  { agent: 'w', task: '2' },
                  { agent: 'w', task: '3' },
                ],
                reply: '{{spawn_results}}',
              },
            ],
          },
        },
        w: { provider: 'mock', mock: { reply: 'w ok' } },
      },
      limits: { max_children_per_run: 2 },
    });
    const sent = await h.orchestrator.submit({ message: '@root go', senderId: 'u1' });
    await waitForCompletion(h, sent.conversationId);
    expect((await h.stores.runs.getRun((await h.facets.views.tree(sent.conversationId)).roots[0]!.runId))!.output).toBe(
      'w ok\nw ok\n[spawn_agent CHILD_LIMIT] child limit reached: this run already started 2 sub-agents (limit 2).',
    );

    h.setSettings({ ...h.settings, limits: { max_spawns_per_conversation: 1 } });
    const second = await h.orchestrator.submit({ message: '@root go', senderId: 'u1' });
    await waitForCompletion(h, second.conversationId);
    const codes = (await eventsOf(h.stores, { conversationId: second.conversationId, types: ['subagent.rejected'] })).map((e) => e.data.code);
    expect(codes).toEqual(['SPAWN_LIMIT', 'SPAWN_LIMIT']);
  });

  it('a budget shared by the tree refuses a child once the tree has spent it', async () => {
    const log = recordingInvoker(invokeAgent);
    const h = await harness(
      {
        agents: {
          root: {
            provider: 'mock',
            mock: {
              usage: { cost_usd: 0 },
              replies: [
                {
                  match: 'go',
                  spawn: [
                    { agent: 'costly', task: 'one' },
                    { agent: 'costly', task: 'two' },
                    { agent: 'costly', task: 'three' },
                  ],
                  reply: '{{spawn_results}}',
                },
              ],
            },
          },
          costly: { provider: 'mock', mock: { reply: 'spent', usage: { input_tokens: 10, output_tokens: 10, cost_usd: 0.03 } } },
        },
        budgets: { conversation_usd: 0.05 },
      },
      { invoke: log.invoke },
    );
    const sent = await h.orchestrator.submit({ message: '@root go', senderId: 'u1' });
    await waitForCompletion(h, sent.conversationId);
    expect(log.calls.filter((c) => c.agentId === 'costly')).toHaveLength(2);
    const [rejected] = await eventsOf(h.stores, { conversationId: sent.conversationId, types: ['subagent.rejected'] });
    expect(rejected?.data).toMatchObject({ code: 'BUDGET_EXCEEDED', limitName: 'conversation_usd', limit: 0.05 });
    expect(rejected?.data.actual).toBeCloseTo(0.06);
    const root = (await h.facets.views.tree(sent.conversationId)).roots[0]!;
    expect((await h.stores.runs.getRun(root.runId))!.output).toContain('[spawn_agent BUDGET_EXCEEDED] budget exhausted');
    expect((await h.stores.runs.getConversation(sent.conversationId))!.costUsd).toBeCloseTo(0.06);
  });

  it('a budget shared by the tree stops a running child when a sibling pushes the tree past it', async () => {
    const h = await harness({
      agents: {
        root: { provider: 'mock', mock: { replies: [{ match: 'wait', fail: 'hang' }] } },
        slow: { provider: 'mock', mock: { replies: [{ match: 'forever', fail: 'hang' }] } },
        costly: { provider: 'mock', mock: { reply: 'spent', usage: { cost_usd: 0.06 } } },
      },
      budgets: { conversation_usd: 0.05 },
    });
    const sent = await h.orchestrator.submit({ message: '@root wait', senderId: 'u1' });
    const rootRun = await waitFor(() => h.orchestrator.status().running.find((r) => r.agentId === 'root'));
    const slow = h.orchestrator.spawn(rootRun.runId, { agent: 'slow', task: 'run forever' });
    await waitFor(() => h.orchestrator.status().running.find((r) => r.agentId === 'slow'));
    const costly = await h.orchestrator.spawn(rootRun.runId, { agent: 'costly', task: 'spend' });
    expect(costly).toMatchObject({ ok: true, text: 'spent' });
    await expect(slow).resolves.toMatchObject({ ok: false, code: 'BUDGET_EXCEEDED' });
    const exceeded = await eventsOf(h.stores, { conversationId: sent.conversationId, types: ['budget.exceeded'] });
    expect(exceeded[0]?.data).toMatchObject({ limitName: 'conversation_usd', action: 'stop-subagents' });
    expect(h.orchestrator.status().running.map((r) => r.agentId)).toEqual(['root']);
    await h.facets.conversations.cancelRun(rootRun.runId);
    await waitForCompletion(h, sent.conversationId);
  });

  it('a SubAgentSession keeps its transcript: the second call sees the first exchange', async () => {
    const h = await harness({
      agents: {
        boss: {
          provider: 'mock',
          mock: {
            replies: [
              {
                match: 'plan',
                spawn: [
                  { agent: 'helper', task: 'the code word is kiwi', session: 's1' },
                  { agent: 'helper', task: 'what was the code word?', session: 's1' },
                ],
                reply: '{{spawn_results}}',
              },
            ],
          },
        },
        helper: { provider: 'mock', mock: { reply: 'turn {{turn}}; previous: {{previous}}' } },
      },
    });
    const sent = await h.orchestrator.submit({ message: '@boss plan', senderId: 'u1' });
    await waitForCompletion(h, sent.conversationId);
    const [first, second] = (await h.stores.runs.getRun((await h.facets.views.tree(sent.conversationId)).roots[0]!.runId))!.output!.split('\n').filter((l) => l.startsWith('turn'));
    expect(first).toBe('turn 1; previous:');
    expect(second).toContain('turn 2; previous: ');
    expect((await h.stores.runs.getRun((await h.facets.views.tree(sent.conversationId)).roots[0]!.runId))!.output).toContain('the code word is kiwi');
    const reused = await eventsOf(h.stores, { conversationId: sent.conversationId, types: ['subagent.reused'] });
    expect(reused.map((e) => e.data)).toEqual([expect.objectContaining({ name: 'helper', session: 's1', turn: 2 })]);
    expect(await h.stores.agentSessions.get('helper', subagentSessionKey(sent.conversationId, 's1'))).toMatchObject({ turns: 2 });
  });

  it('the library API: SubAgentSession.invoke under a running parent', async () => {
    const h = await harness({
      agents: {
        host: { provider: 'mock', mock: { replies: [{ match: 'hold', fail: 'hang' }] } },
        memo: { provider: 'mock', mock: { reply: 'call {{turn}} after "{{previous}}"' } },
      },
    });
    const sent = await h.orchestrator.submit({ message: '@host hold', senderId: 'u1' });
    const parent = await waitFor(() => h.orchestrator.status().running.find((r) => r.agentId === 'host'));
    const session = new SubAgentSession(h.orchestrator, 'memo', 'notes');
    const one = await session.invoke('first note', { parent: parent.runId });
    const two = await session.invoke('second note', { parent: parent.runId });
    expect(one).toMatchObject({ ok: true });
    expect(two.ok && two.text).toMatch(/^call 2 after "\[Task from @host[^\n]*\nfirst note"$/);
    expect(session.calls).toBe(2);
    await h.facets.conversations.cancelRun(parent.runId);
    await waitForCompletion(h, sent.conversationId);
    expect(await h.orchestrator.spawn(parent.runId, { agent: 'memo', task: 'too late' })).toMatchObject({ ok: false, code: 'CANCELLED' });
  });
});
