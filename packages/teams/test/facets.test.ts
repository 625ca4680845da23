/**
 * The facets built on an orchestrator (facets/: steering, approvals, chat room, conversation
 * control; the views read the stores) share its in-process state, so they are made from one of
 * this package's Orchestrators and nothing else: anything else is refused at construction, not at
 * the first call.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { Approvals, ChatRoom, ConversationControl, type Orchestrator, type OrchestratorServices, orchestratorFacets, orchestratorServices, Steering } from '../src/index.ts';
import { closeAll, harness } from './helpers.ts';

afterAll(closeAll);

describe('orchestrator facets', () => {
  it('are built on an Orchestrator only: a look-alike is a TypeError at construction', () => {
    const lookAlike = { submit: async () => ({}), status: () => ({ running: [], paused: [] }) } as unknown as Orchestrator;
    for (const build of [() => new Steering(lookAlike), () => new Approvals(lookAlike), () => new ChatRoom(lookAlike), () => new ConversationControl(lookAlike), () => orchestratorFacets(lookAlike)]) {
      expect(build).toThrow(TypeError);
      expect(build).toThrow(/Not an Orchestrator of @tinyagi\/teams/);
    }
    expect(() => new Steering(null as unknown as Orchestrator)).toThrow(TypeError);
  });

  it('are still built by their old, deprecated name orchestratorServices, for library users', async () => {
    const h = await harness({ agents: { slow: { provider: 'mock', mock: { latency_ms: 60_000, reply: 'never' } } } });
    const old: OrchestratorServices = orchestratorServices(h.orchestrator);
    expect(Object.keys(old).sort()).toEqual(Object.keys(h.facets).sort());
    const sent = await h.orchestrator.submit({ message: 'take your time', agent: 'slow', senderId: 'u1' });
    const run = (await old.views.tree(sent.conversationId)).roots[0]!;
    expect(await old.steering.steer(run.runId, 'pause')).toMatchObject({ accepted: true });
    expect((await h.facets.steering.ofRun(run.runId)).paused).toBe(true);
    await old.conversations.cancelConversation(sent.conversationId);
  });

  it('act on the runs of the orchestrator they were built on: a pause shows in its status, a cancel ends its run', async () => {
    const h = await harness({ agents: { slow: { provider: 'mock', mock: { latency_ms: 60_000, reply: 'never' } } } });
    const sent = await h.orchestrator.submit({ message: 'take your time', agent: 'slow', senderId: 'u1' });
    const run = (await h.facets.views.tree(sent.conversationId)).roots[0]!;
    // Built again on the same orchestrator: the same state, not a copy.
    const steering = new Steering(h.orchestrator);
    expect(await steering.steer(run.runId, 'pause')).toMatchObject({ accepted: true });
    expect(h.orchestrator.status().paused).toEqual([run.runId]);
    expect((await h.facets.steering.ofRun(run.runId)).paused).toBe(true);
    expect(await new ConversationControl(h.orchestrator).cancelConversation(sent.conversationId)).toMatchObject({ status: 'cancelled', alreadyEnded: false });
    expect(h.orchestrator.status()).toEqual({ running: [], paused: [] });
  });
});
