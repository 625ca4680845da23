/**
 * Several nodes (issue 17 follow-up): the API node claims every agent not placed on another node
 * (`skipAgents`), so the messages of an agent that no longer exists in the settings end dead with
 * the reason instead of waiting forever for a node to claim them; agents placed elsewhere wait.
 * Several nodes exist only on PostgreSQL: this file runs on both backends (`test:pg`).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { agentsOnOtherNodes } from '@tinyagi/core/internal';
import { waitFor } from '@tinyagi/test-kit';
import { closeAll, harness, waitForCompletion } from './helpers.ts';

afterEach(closeAll);

describe('the API node of several', () => {
  it('skips the agents placed on other nodes and dead-letters the messages of an agent that is gone', async () => {
    const settings = { agents: { here: { provider: 'mock' as const }, there: { provider: 'mock' as const, node: 'w1' } } };
    const h = await harness(settings, { node: 'api', skipAgents: () => new Set(agentsOnOtherNodes(h.settings, 'api')) });

    const local = await h.orchestrator.submit({ message: 'hello', agent: 'here', senderId: 'u1' });
    await waitForCompletion(h, local.conversationId);

    // A message of an agent deleted from the settings after it was queued.
    const ghost = await h.stores.queue.enqueue({ kind: 'user', agentId: 'ghost', conversationId: 'c-ghost', channel: 'api', sender: 'u1', senderId: 'u1', content: 'anyone?' });
    const dead = await waitFor(
      async () => {
        const m = await h.stores.queue.get(ghost.id);
        return m?.status === 'dead' ? m : undefined;
      },
      15_000,
      'the message of the deleted agent to end dead',
    );
    expect(dead.lastError).toContain('Unknown agent "ghost"');

    // Placed on node w1: the API node leaves it pending for w1.
    const remote = await h.orchestrator.submit({ message: 'for w1', agent: 'there', senderId: 'u1' });
    const local2 = await h.orchestrator.submit({ message: 'again', agent: 'here', senderId: 'u1' });
    await waitForCompletion(h, local2.conversationId);
    const waiting = await h.stores.queue.get(remote.messageId);
    expect(waiting?.status).toBe('pending');
  });
});
