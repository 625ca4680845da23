/**
 * What `GET /api/status` and `tinyagi status` say about the nodes (docs/postgresql.md,
 * "Registry and heartbeat"): which rows are listed (`nodeStatuses`: live ones first, each with its
 * published sandbox), and which agents wait for a node that is down.
 *
 * - A stopped node whose name is live again (the same daemon restarted, a worker replaced) is not
 *   listed: its successor stands for it. Other stopped nodes are listed until the registry prunes
 *   them (NODE_RETENTION: 10 minutes after they stopped); stale ones until an hour after their
 *   last heartbeat, so a crash stays visible.
 * - An agent placed on a node (its settings' `node`) that has no live node of that name waits:
 *   its messages stay pending until that node runs. Listed with the node's state (`stale`,
 *   `stopped`, or `absent`: never registered, or pruned) and its pending messages.
 */
import type { NodeStatus } from '@tinyagi/client/contract';
import type { Settings } from '../config/schema.ts';
import { agentsWithoutNode } from './placement.ts';
import type { NodeInfo } from './registry.ts';

export type DownNodeState = 'stale' | 'stopped' | 'absent';

export interface AgentWaitingForNode {
  agentId: string;
  node: string;
  nodeState: DownNodeState;
  /** Its messages waiting in the queue (pending). */
  pending: number;
}

interface NodeRow {
  name: string;
  state: 'live' | 'stale' | 'stopped';
}

/** The node rows worth listing: stopped predecessors of a live node of the same name are left out. */
export function nodesForStatus<T extends NodeRow>(nodes: readonly T[]): T[] {
  const live = new Set(nodes.filter((n) => n.state === 'live').map((n) => n.name));
  return nodes.filter((n) => n.state !== 'stopped' || !live.has(n.name));
}

/** The rows GET /api/status lists (`nodesForStatus`), live ones first and the freshest heartbeat first; `selfId` is the node answering. */
export function nodeStatuses(nodes: readonly NodeInfo[], selfId: string): NodeStatus[] {
  const order = { live: 0, stale: 1, stopped: 2 } as const;
  return nodesForStatus(nodes)
    .sort((a, b) => order[a.state] - order[b.state] || b.heartbeatAt - a.heartbeatAt)
    .map((n) => ({
      id: n.id,
      name: n.name,
      role: n.role,
      hostname: n.hostname,
      pid: n.pid,
      version: n.version,
      state: n.state,
      startedAt: n.startedAt,
      heartbeatAt: n.heartbeatAt,
      heartbeatAgeMs: n.heartbeatAgeMs,
      self: n.id === selfId,
      sandbox: n.sandbox,
    }));
}

/**
 * The node that does what one node does for all (docs/postgresql.md, "What every node runs": the
 * heartbeats of agents on no node, memory's embedding sweep): the oldest live API node, else the
 * oldest live node. `nodes` in registry order (oldest first).
 */
export function leadingNode<T extends Pick<NodeInfo, 'role' | 'state'>>(nodes: readonly T[]): T | undefined {
  const live = nodes.filter((n) => n.state === 'live');
  return live.find((n) => n.role === 'api') ?? live[0];
}

/** Agents placed on a node that is not live, with the state of that node and how many of their messages wait. */
export function agentsWaitingForNodes(settings: Settings, nodes: readonly NodeRow[], pendingByAgent: ReadonlyMap<string, number>): AgentWaitingForNode[] {
  const live = new Set(nodes.filter((n) => n.state === 'live').map((n) => n.name));
  return agentsWithoutNode(settings, live).map(({ agent, node }) => {
    const rows = nodes.filter((n) => n.name === node);
    const nodeState: DownNodeState = rows.some((n) => n.state === 'stale') ? 'stale' : rows.length > 0 ? 'stopped' : 'absent';
    return { agentId: agent, node, nodeState, pending: pendingByAgent.get(agent) ?? 0 };
  });
}
