/**
 * Agent placement: an agent's `node` (settings) names the node that runs it; an agent without
 * one runs on any node. A node claims only messages of the agents this returns (pass them to
 * the queue's claim as `agents`, or to QueueWorker's `agents`), so an assigned agent's messages
 * wait for its node (while it is down they stay pending; nothing is lost).
 */
import type { Settings } from '../config/schema.ts';

/** Ids of the agents `nodeName` runs: those assigned to it and those assigned to no node. */
export function agentsForNode(settings: Settings, nodeName: string): string[] {
  return Object.entries(settings.agents ?? {})
    .filter(([, agent]) => agent.node === undefined || agent.node === nodeName)
    .map(([id]) => id);
}

/** Agents assigned to a node that is not live (their messages wait for it): for `tinyagi status`. */
export function agentsWithoutNode(settings: Settings, liveNodeNames: ReadonlySet<string>): Array<{ agent: string; node: string }> {
  return Object.entries(settings.agents ?? {}).flatMap(([id, agent]) => (agent.node !== undefined && !liveNodeNames.has(agent.node) ? [{ agent: id, node: agent.node }] : []));
}
