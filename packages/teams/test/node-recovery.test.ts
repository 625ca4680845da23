/**
 * Runs no process can finish any more are closed when an orchestrator starts (recovery.ts
 * `reconcileOpenRuns`), and what counts as such differs by backend: with one process (SQLite)
 * every sub-agent run left running belongs to a process that is gone; with several nodes
 * (PostgreSQL) a sub-agent run whose parent's message another node is still processing belongs
 * to that live node, and is closed only once that message left processing. Runs on both
 * backends (`test:pg`).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { closeAll, harness } from './helpers.ts';

afterEach(closeAll);

const mock = { provider: 'mock' as const };

describe('closing the runs of a process that is gone', () => {
  it("a starting node closes a sub-agent run left running unless, with several nodes, its parent's message is still being processed elsewhere", async () => {
    // Node b runs no agent here: it only starts (and reconciles) next to node a's work.
    const h = await harness({ agents: { lead: mock, helper: mock } }, { node: 'b', agents: () => new Set(), start: false });
    const { stores } = h;
    // Node a's work: lead's message claimed by node a (a lease of an hour), its run, and a sub-agent run it spawned.
    const conversation = await stores.runs.createConversation({ rootAgentId: 'lead', channel: 'api' });
    const message = await stores.queue.enqueue({ kind: 'user', agentId: 'lead', conversationId: conversation.id, channel: 'api', content: 'plan it' });
    expect(await stores.queue.claim({ owner: 'node-a', leaseMs: 3_600_000, maxAgents: 1 })).toHaveLength(1);
    const parent = await stores.runs.createRun({ conversationId: conversation.id, agentId: 'lead', cause: 'user', channel: 'api' });
    await stores.runs.startRun(parent.id, { messageIds: [message.id] });
    const child = await stores.runs.createRun({ conversationId: conversation.id, agentId: 'helper', cause: 'spawn', parentRunId: parent.id, depth: 1, status: 'running' });

    await h.orchestrator.start();
    const restartedNote = 'TinyAGI restarted while this sub-agent was running; its parent is retried.';
    if (stores.backend === 'postgres') {
      expect(await stores.runs.mustGetRun(child.id)).toMatchObject({ status: 'running' });
      // Node a's message goes back to the queue (its node died, or the attempt failed): now nobody runs the sub-agent.
      await stores.queue.fail('node-a', [message.id], { kind: 'retryable', error: 'node a is gone' });
      expect(await h.orchestrator.reconcile()).toBe(1);
    }
    expect(await stores.runs.mustGetRun(child.id)).toMatchObject({ status: 'failed', error: restartedNote });
    // The parent's message is pending (to be retried), so its run stays open.
    expect(await stores.runs.mustGetRun(parent.id)).toMatchObject({ status: 'running' });
  });
});
