/**
 * What the crash harnesses (one daemon; several nodes) share: the team they load, and the end of
 * the load — wait until the queue has drained and every accepted conversation has ended, with
 * what is left in the failure message (an undrained queue is a bug to find, not a margin to widen).
 */
import type { ApiClient, RunNode } from '@tinyagi/client';
import { waitFor } from '@tinyagi/test-kit';

export type ConversationTree = Awaited<ReturnType<ApiClient['getConversation']>>;

/** Resolves when nothing is pending or processing; on timeout, reports the queue by agent and what is processing. */
export async function waitForDrain(client: ApiClient, timeoutMs: number, tag: string, logs: () => string): Promise<void> {
  await waitFor(
    async () => {
      const q = await client.queueStatus();
      return q.pending === 0 && q.processing === 0 ? q : undefined;
    },
    timeoutMs,
    `the queue to drain (${tag})`,
  ).catch(async (err: Error) => {
    const [agents, processing] = await Promise.all([client.queueAgents().catch(String), client.queueProcessing().catch(String)]);
    throw new Error(`${err.message}\nby agent: ${JSON.stringify(agents)}\nprocessing: ${JSON.stringify(processing)}\n${logs().slice(-4000)}`);
  });
}

/** Every conversation's tree once it ended: `completed`, or `failed` when its message was dead-lettered. */
export async function endedConversations(client: ApiClient, conversationIds: readonly string[], timeoutMs: number, tag: string): Promise<Map<string, ConversationTree>> {
  const trees = new Map<string, ConversationTree>();
  const ended = (status: string | undefined) => status === 'completed' || status === 'failed';
  await waitFor(
    async () => {
      for (const id of conversationIds) {
        if (ended(trees.get(id)?.conversation.status)) continue;
        const tree = await client.getConversation({ params: { id } });
        trees.set(id, tree);
        if (!ended(tree.conversation.status)) return undefined;
      }
      return true;
    },
    timeoutMs,
    `every conversation to end (${tag})`,
  );
  return trees;
}

/** Mock agents answering in tens of ms; a team whose leader hands every build to the reviewer. */
export const CRASH_TEAM = {
  models: { provider: 'mock' },
  agents: {
    coder: {
      provider: 'mock',
      mock: { latency_ms: 40, reply: 'Coded it.', replies: [{ match: 'please build', latency_ms: 60, reply: 'Built it. [@reviewer: please review the build]' }] },
    },
    reviewer: { provider: 'mock', mock: { latency_ms: 30, reply: 'Reviewed: looks good.' } },
  },
  teams: { dev: { agents: ['coder', 'reviewer'], leader_agent: 'coder' } },
  channels: { enabled: [] },
  // Short leases, so the work a killed process held is recovered within the test's time.
  queue: { lease_ms: 1500, sweep_ms: 200 },
};

export function flattenRuns(nodes: readonly RunNode[]): RunNode[] {
  return nodes.flatMap((n) => [n, ...flattenRuns(n.children)]);
}
