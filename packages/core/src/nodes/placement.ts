/**
 * Agent placement: an agent's `node` (settings) names the node that runs it; an agent without
 * one runs on any node. A worker node claims only messages of the agents `agentsForNode`
 * returns (the queue's claim `agents`, QueueWorker's `agents`), so an assigned agent's messages
 * wait for its node (while it is down they stay pending; nothing is lost). The API node instead
 * skips the agents placed on other nodes (`agentsOnOtherNodes` as the claim's `skipAgents`): it
 * also takes the messages of an agent no longer in settings, which end dead with the reason
 * ("Unknown agent") instead of waiting for a node that will never claim them.
 */
import type { Settings } from '../config/schema.ts';

/** Ids of the agents `nodeName` runs: those assigned to it and those assigned to no node. */
export function agentsForNode(settings: Settings, nodeName: string): string[] {
  return Object.entries(settings.agents ?? {})
    .filter(([, agent]) => agent.node === undefined || agent.node === nodeName)
    .map(([id]) => id);
}

/** Ids of the agents assigned to a node other than `nodeName`. */
export function agentsOnOtherNodes(settings: Settings, nodeName: string): string[] {
  return Object.entries(settings.agents ?? {})
    .filter(([, agent]) => agent.node !== undefined && agent.node !== nodeName)
    .map(([id]) => id);
}

/** Agents assigned to a node that is not live (their messages wait for it): for `tinyagi status`. */
export function agentsWithoutNode(settings: Settings, liveNodeNames: ReadonlySet<string>): Array<{ agent: string; node: string }> {
  return Object.entries(settings.agents ?? {}).flatMap(([id, agent]) => (agent.node !== undefined && !liveNodeNames.has(agent.node) ? [{ agent: id, node: agent.node }] : []));
}
