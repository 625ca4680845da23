import { afterEach, describe, expect, it } from 'vitest';
import type { Settings } from '@tinyagi/core';
import { waitFor } from '@tinyagi/test-kit';
import { closeAll, eventsOf, harness, waitForCompletion } from './helpers.ts';

afterEach(closeAll);

function pingPong(limits: Settings['limits']): Settings {
  return {
    agents: {
      a: { provider: 'mock', mock: { reply: 'Over to you. [@b: your turn]' } },
      b: { provider: 'mock', mock: { reply: 'Back at you. [@a: your turn]' } },
    },
    teams: { duo: { agents: ['a', 'b'], leader_agent: 'a' } },
    limits,
  };
}

describe('guards on handoffs', () => {
  it('A<->B ping-pong stops at max_hops with guard.rejected and a note to the human', async () => {
    const h = await harness(pingPong({ max_hops: 3, ping_pong_max: 100 }));
    const sent = await h.orchestrator.submit({ message: '@duo start', senderId: 'u1' });
    await waitForCompletion(h, sent.conversationId);

    const runs = await h.stores.runs.listRuns(sent.conversationId);
    expect(runs.map((r) => r.agentId)).toEqual(['a', 'b', 'a', 'b']);
    const rejected = await eventsOf(h.stores, { conversationId: sent.conversationId, types: ['guard.rejected'] });
    expect(rejected).toHaveLength(1);
    expect(rejected[0]!.data).toMatchObject({ limitName: 'max_hops', limit: 3, actual: 4, from: 'b', to: 'a' });
    const note = (await h.stores.outbox.list({ conversationId: sent.conversationId })).find((r) => r.meta.kind === 'note');
    expect(note?.text).toContain('held back a message from @b');
    expect(note?.text).toContain('handoff chain reached 3 hops');
    expect(note?.text).toContain('`continue`');
    expect(await h.stores.runs.getConversation(sent.conversationId)).toMatchObject({ status: 'completed', hops: 3 });
  });

  it('`continue` raises the limit and delivers the held handoff; `stop` ends the conversation', async () => {
    const h = await harness(pingPong({ max_hops: 2, ping_pong_max: 100 }));
    const sent = await h.orchestrator.submit({ message: '@duo start', channel: 'discord', senderId: 'u7' });
    await waitFor(async () => (await eventsOf(h.stores, { conversationId: sent.conversationId, types: ['guard.rejected'] })).length === 1 || undefined);
    await waitForCompletion(h, sent.conversationId);

    // Answered also when addressed to the team the prompt came from, as a user would type it.
    const cont = await h.orchestrator.submit({ message: 'continue', team: 'duo', channel: 'discord', senderId: 'u7' });
    expect(cont).toMatchObject({ conversationId: sent.conversationId, created: false });
    expect(cont.reply).toContain('Limits raised to 2×');
    // Scale 2: the held hop 3 and then hop 4 run, hop 5 is held again.
    await waitFor(async () => (await eventsOf(h.stores, { conversationId: sent.conversationId, types: ['guard.rejected'] })).length === 2 || undefined);
    await waitFor(async () => (await eventsOf(h.stores, { conversationId: sent.conversationId, types: ['conversation.completed'] })).length === 2 || undefined);
    expect((await h.stores.runs.listRuns(sent.conversationId)).map((r) => r.agentId)).toEqual(['a', 'b', 'a', 'b', 'a']);
    expect((await eventsOf(h.stores, { conversationId: sent.conversationId, types: ['guard.rejected'] }))[1]!.data).toMatchObject({ limitName: 'max_hops', limit: 4, actual: 5 });

    const stop = await h.orchestrator.submit({ message: 'stop', channel: 'discord', senderId: 'u7' });
    expect(stop.reply).toContain('Stopped');
    expect(await h.stores.runs.getConversation(sent.conversationId)).toMatchObject({ status: 'stopped' });
    // Nothing is waiting any more: a further `continue` is an ordinary message to the default agent.
    const plain = await h.orchestrator.submit({ message: 'continue', channel: 'discord', senderId: 'u7' });
    expect(plain.created).toBe(true);
    expect(plain.conversationId).not.toBe(sent.conversationId);
  });

  it('a conversation waiting for the decision keeps its runs through retention, so `continue` still delivers; a run gone anyway is said, not counted', async () => {
    const h = await harness(pingPong({ max_hops: 2, ping_pong_max: 100 }));
    const sent = await h.orchestrator.submit({ message: '@duo start', senderId: 'u8' });
    await waitFor(async () => (await eventsOf(h.stores, { conversationId: sent.conversationId, types: ['guard.rejected'] })).length === 1 || undefined);
    await waitForCompletion(h, sent.conversationId);
    // Retention runs with a cut after every run ended: the waiting conversation keeps them all.
    const before = await h.stores.runs.listRuns(sent.conversationId);
    expect(await h.stores.runs.prune(Date.now() + 1000)).toBe(0);
    expect(await h.stores.runs.listRuns(sent.conversationId)).toEqual(before);
    const cont = await h.orchestrator.submit({ message: 'continue', senderId: 'u8' });
    expect(cont.reply).toBe('Limits raised to 2× for this conversation; 1 held message delivered.');
    await waitFor(async () => (await eventsOf(h.stores, { conversationId: sent.conversationId, types: ['guard.rejected'] })).length === 2 || undefined);
    await waitForCompletion(h, sent.conversationId);

    // Held again; its runs removed all the same (here: pruned while it briefly looked active and not waiting).
    await h.stores.runs.updateConversation(sent.conversationId, { status: 'active', awaitingDecision: false });
    await h.stores.runs.prune(Date.now() + 1000);
    expect(await h.stores.runs.listRuns(sent.conversationId)).toEqual([]);
    await h.stores.runs.updateConversation(sent.conversationId, { status: 'completed', awaitingDecision: true });
    const again = await h.orchestrator.submit({ message: 'continue', senderId: 'u8' });
    expect(again.reply).toBe('Limits raised to 4× for this conversation; 1 could not be: the run it came from no longer exists.');
    const notices = await eventsOf(h.stores, { conversationId: sent.conversationId, types: ['system.notice'] });
    expect(notices.at(-1)?.data).toMatchObject({ action: 'continue', delivered: 0 });
  });

  it('ping-pong without new human input stops at ping_pong_max', async () => {
    const h = await harness(pingPong({ max_hops: 50, ping_pong_max: 3 }));
    const sent = await h.orchestrator.submit({ message: '@a start', senderId: 'u1' });
    await waitForCompletion(h, sent.conversationId);
    expect((await h.stores.runs.listRuns(sent.conversationId)).map((r) => r.agentId)).toEqual(['a', 'b', 'a', 'b']);
    const [rejected] = await eventsOf(h.stores, { conversationId: sent.conversationId, types: ['guard.rejected'] });
    expect(rejected?.data).toMatchObject({ limitName: 'ping_pong', limit: 3, actual: 4 });
  });

  it('max_fanout caps the targets of one reply and max_messages the whole conversation', async () => {
    const h = await harness({
      agents: {
        lead: { provider: 'mock', mock: { reply: '[@w1: one] [@w2: two] [@w3: three]' } },
        w1: { provider: 'mock', mock: { reply: 'ok' } },
        w2: { provider: 'mock', mock: { reply: 'ok' } },
        w3: { provider: 'mock', mock: { reply: 'ok' } },
      },
      teams: { crew: { agents: ['lead', 'w1', 'w2', 'w3'], leader_agent: 'lead' } },
      limits: { max_fanout: 2 },
    });
    const sent = await h.orchestrator.submit({ message: '@crew go', senderId: 'u1' });
    await waitForCompletion(h, sent.conversationId);
    const rejected = await eventsOf(h.stores, { conversationId: sent.conversationId, types: ['guard.rejected'] });
    expect(rejected.map((e) => [e.data.limitName, e.data.to])).toEqual([['max_fanout', 'w3']]);
    expect((await h.stores.runs.listRuns(sent.conversationId)).map((r) => r.agentId)).toEqual(['lead', 'w1', 'w2']);

    h.setSettings({ ...h.settings, limits: { max_messages: 1 } });
    const second = await h.orchestrator.submit({ message: '@crew again', senderId: 'u2' });
    await waitForCompletion(h, second.conversationId);
    expect((await eventsOf(h.stores, { conversationId: second.conversationId, types: ['guard.rejected'] })).map((e) => e.data.limitName)).toEqual(['max_messages', 'max_messages']);
  });

  it('a teammate outside the team context is not messaged; the sender is told on its next turn', async () => {
    const h = await harness({
      agents: {
        lead: { provider: 'mock', mock: { replies: [{ match: 'Note from TinyAGI', reply: 'noted: {{message}}' }], reply: '[@outsider: help] [@ghost: boo]' } },
        mate: { provider: 'mock', mock: { reply: 'ok' } },
        outsider: { provider: 'mock', mock: { reply: 'should not run' } },
      },
      teams: { t: { agents: ['lead', 'mate'], leader_agent: 'lead' }, other: { agents: ['outsider'], leader_agent: 'outsider' } },
    });
    const first = await h.orchestrator.submit({ message: '@t go', senderId: 'u1' });
    await waitForCompletion(h, first.conversationId);
    expect((await h.stores.runs.listRuns(first.conversationId)).map((r) => r.agentId)).toEqual(['lead']);
    const second = await h.orchestrator.submit({ message: '@t again', senderId: 'u1' });
    await waitForCompletion(h, second.conversationId);
    const answer = (await h.stores.runs.listRuns(second.conversationId))[0]!.output!;
    expect(answer).toContain('@outsider is not a member of #t');
    expect(answer).toContain('there is no agent with that id');
  });

  it("a note goes to the next turn of the session that wrote the tag, never into another sender's session", async () => {
    const h = await harness({
      agents: {
        lead: {
          provider: 'mock',
          session_mode: 'per-sender',
          mock: {
            replies: [
              { match: 'Note from TinyAGI', reply: 'noted: {{message}}' },
              { match: 'handoff', reply: '[@ghost: boo]' },
            ],
            reply: 'plain answer',
          },
        },
        mate: { provider: 'mock', mock: { reply: 'ok' } },
      },
      teams: { t: { agents: ['lead', 'mate'], leader_agent: 'lead' } },
    });
    const answerOf = async (message: string, senderId: string): Promise<string> => {
      const sent = await h.orchestrator.submit({ message, senderId });
      await waitForCompletion(h, sent.conversationId);
      return (await h.stores.runs.listRuns(sent.conversationId))[0]!.output!;
    };
    await answerOf('@t handoff', 'alice');
    expect(await answerOf('@t hello', 'bob')).toBe('plain answer');
    expect(await answerOf('@t hello again', 'alice')).toContain('Your message to @ghost was not delivered');
    expect(await answerOf('@t and again', 'alice')).toBe('plain answer');
  });
});

describe('conversation wall clock', () => {
  it('stops a conversation whose work is still running or queued when its time limit passes', async () => {
    const h = await harness(
      {
        agents: {
          lead: { provider: 'mock', mock: { reply: 'Splitting. [@stuck: part one] [@slow: part two]' } },
          stuck: { provider: 'mock', mock: { replies: [{ match: '', fail: 'hang' }] } },
          slow: { provider: 'mock', mock: { latency_ms: 60_000, reply: 'never' } },
        },
        teams: { t: { agents: ['lead', 'stuck', 'slow'], leader_agent: 'lead' } },
        limits: { conversation_timeout_s: 1 },
      },
      { deadlineCheckMs: 50 },
    );
    const sent = await h.orchestrator.submit({ message: '@t go', senderId: 'u1' });
    const stopped = await waitFor(
      async () => (await eventsOf(h.stores, { conversationId: sent.conversationId, types: ['guard.rejected'] })).find((e) => e.data.limitName === 'conversation_timeout'),
      10_000,
      'the time limit',
    );
    expect(stopped.data).toMatchObject({ limitName: 'conversation_timeout', limit: 1, action: 'stop' });
    await waitFor(async () => (await h.stores.runs.listRuns(sent.conversationId)).every((r) => r.status !== 'running' && r.status !== 'queued') || undefined, 10_000, 'every run to end');
    const runs = await h.stores.runs.listRuns(sent.conversationId);
    expect(runs.map((r) => [r.agentId, r.status])).toEqual([
      ['lead', 'completed'],
      ['stuck', 'cancelled'],
      ['slow', 'cancelled'],
    ]);
    expect((await h.stores.runs.getConversation(sent.conversationId))!.status).toBe('stopped');
    const note = (await h.stores.outbox.list({ conversationId: sent.conversationId })).find((r) => r.text.includes('time limit reached'));
    expect(note?.text).toContain('Reply `continue` to raise the limit');
  });
});
