import { afterEach, describe, expect, it } from 'vitest';
import type { Settings } from '@tinyagi/core';
import { closeAll, eventsOf, harness, waitForCompletion } from './helpers.ts';

afterEach(closeAll);

function team(replyMode: 'each' | 'aggregate'): Settings {
  return {
    agents: {
      lead: { provider: 'mock', mock: { replies: [{ match: 'plan the launch', reply: 'Splitting the work. [@writer: draft the post] [@coder: ship the page]' }] } },
      writer: { provider: 'mock', mock: { reply: 'Post drafted.' } },
      coder: { provider: 'mock', mock: { reply: 'Page shipped.' } },
    },
    teams: { launch: { name: 'Launch', agents: ['lead', 'writer', 'coder'], leader_agent: 'lead', reply_mode: replyMode } },
  };
}

describe('a 3-agent team: the leader fans out to two members', () => {
  it('each mode: every agent answers the human as it finishes, signed, and the conversation completes', async () => {
    const h = await harness(team('each'));
    const sent = await h.orchestrator.submit({ message: '@launch plan the launch', channel: 'api', sender: 'ana', senderId: 'u1' });
    expect(sent).toMatchObject({ agentId: 'lead', teamId: 'launch', created: true });
    const done = await waitForCompletion(h, sent.conversationId);
    expect(done.data.status).toBe('completed');

    const replies = await h.stores.outbox.list({ conversationId: sent.conversationId });
    expect(replies.map((r) => r.text).sort()).toEqual([
      'Page shipped.\n\n— @coder',
      'Post drafted.\n\n— @writer',
      'Splitting the work.\n→ @writer: draft the post\n→ @coder: ship the page\n\n— @lead',
    ]);
    expect(replies.every((r) => r.recipient.senderId === 'u1' && r.channel === 'api')).toBe(true);

    // The members were addressed with provenance: header in the text, structured meta.
    const tree = await h.facets.views.tree(sent.conversationId);
    expect(tree.roots).toHaveLength(1);
    const root = tree.roots[0]!;
    expect(root).toMatchObject({ agentId: 'lead', cause: 'user', status: 'completed', depth: 0 });
    expect(root.children.map((c) => [c.agentId, c.cause, c.status]).sort()).toEqual([
      ['coder', 'mention', 'completed'],
      ['writer', 'mention', 'completed'],
    ]);
    const mentions = await eventsOf(h.stores, { conversationId: sent.conversationId, types: ['agent.mention'] });
    expect(mentions.map((e) => e.data.toAgent).sort()).toEqual(['coder', 'writer']);
    expect(await h.stores.runs.getConversation(sent.conversationId)).toMatchObject({ status: 'completed', messageCount: 2, hops: 1 });
  });

  it('aggregate mode: one combined reply when the conversation completes', async () => {
    const h = await harness(team('aggregate'));
    const sent = await h.orchestrator.submit({ message: '@launch plan the launch', channel: 'api', senderId: 'u1' });
    await waitForCompletion(h, sent.conversationId);
    const replies = await h.stores.outbox.list({ conversationId: sent.conversationId });
    expect(replies).toHaveLength(1);
    const text = replies[0]!.text;
    expect(text).toContain('**@lead**\nSplitting the work.');
    expect(text).toContain('**@writer**\nPost drafted.');
    expect(text).toContain('**@coder**\nPage shipped.');
    expect(replies[0]!.meta.kind).toBe('aggregate');
  });
});

describe('prototype keys in mention tags', () => {
  it('[@constructor: …] and [@toString: …] from a cross-team agent reach nobody: no run is created for them', async () => {
    const h = await harness({
      agents: {
        roamer: { provider: 'mock', cross_team: true, mock: { reply: 'Passing it on. [@constructor: build it] [@tostring: print it] [@hasOwnProperty: check it]' } },
      },
    });
    const sent = await h.orchestrator.submit({ message: '@roamer go', channel: 'api', sender: 'ana', senderId: 'u1' });
    const done = await waitForCompletion(h, sent.conversationId);
    expect(done.data.status).toBe('completed');
    const tree = await h.facets.views.tree(sent.conversationId);
    expect(tree.roots.map((r) => [r.agentId, r.children.length])).toEqual([['roamer', 0]]);
    expect(await h.stores.queue.counts()).toMatchObject({ pending: 0, processing: 0, dead: 0 });
  });
});
