/**
 * Each node's sandbox (docs/sandbox.md, "Several nodes"): what a node publishes of its boundary's
 * self-test in the node registry (`nodeSandboxView`: cluster.ts publishes it once known and when
 * it changes), and an agent's sandbox status as the node that runs it sees it
 * (`agentSandboxOnNodes`), for every surface the API node answers (GET /api/agents, and through
 * it `tinyagi status`, TinyOffice, the terminal dashboard).
 */
import type { NodeSandbox, NodeStatus } from '@tinyagi/client/contract';
import type { MachineCheck } from '@tinyagi/sandbox';
import { ownEntry } from '../config/object-path.ts';
import type { Env } from '../config/paths.ts';
import type { Settings } from '../config/schema.ts';
import { type AgentSandboxStatus, agentSandboxView, type MachineKnowledge, sandboxMachineView, sandboxStatusOf } from '../sandbox/status.ts';

/** The check as a node publishes it in the node registry (GET /api/status `nodes[].sandbox`): without the list of checks. */
export function nodeSandboxView(check: MachineCheck): NodeSandbox {
  const { checks: _checks, ...published } = sandboxMachineView(check)!;
  return published;
}

/** A node row as `agentSandboxOnNodes` reads it (GET /api/status `nodes`). */
export type NodeSandboxRow = Pick<NodeStatus, 'name' | 'state' | 'self' | 'heartbeatAgeMs'> & { sandbox?: NodeSandbox | null | undefined };

/**
 * The agent's status as the node that runs it sees it (docs/sandbox.md, "Several nodes"), asked on
 * the node `nodes` marks `self`, whose own check is `own`:
 * - placed on this node: this node's view (`agentSandboxView`, its hold included);
 * - on no node: it runs on any live node, shown with this node's view; `elsewhere` lists the live
 *   nodes whose published check gives it another state, by name;
 * - placed on another node: that node's published check while it is live, else `unknown` with why
 *   (down, absent, or not published yet). A hold on that node's disk is not seen from here.
 * Without nodes (SQLite, one process) it is `agentSandboxView`, with no `node`.
 */
export function agentSandboxOnNodes(settings: Settings, agentId: string, env: Env, nodes: readonly NodeSandboxRow[], own: MachineCheck | undefined): AgentSandboxStatus {
  const self = nodes.find((n) => n.self);
  if (self === undefined) return agentSandboxView(settings, agentId, env, own);
  const placed = ownEntry(settings.agents, agentId)?.node;
  if (placed === undefined || placed === self.name) {
    const here = { ...agentSandboxView(settings, agentId, env, own), node: self.name };
    if (placed !== undefined) return here;
    const elsewhere = nodes
      .filter((n) => !n.self && n.state === 'live')
      .map((n) => ({ node: n.name, ...sandboxStatusOf(settings, agentId, publishedKnowledge(n)) }))
      .filter((other) => other.state !== here.state)
      .sort((a, b) => a.node.localeCompare(b.node))
      .map(({ node, state, reason }) => ({ node, state, ...(reason !== undefined ? { reason } : {}) }));
    return elsewhere.length > 0 ? { ...here, elsewhere } : here;
  }
  const rows = nodes.filter((n) => n.name === placed);
  const live = rows.find((n) => n.state === 'live');
  return { ...sandboxStatusOf(settings, agentId, live ? publishedKnowledge(live) : downKnowledge(placed, rows)), node: placed };
}

/** A live node's published check as a MachineCheck, or `unknown` until it published one. */
function publishedKnowledge(node: NodeSandboxRow): MachineKnowledge {
  const s = node.sandbox;
  if (!s) {
    return {
      unknown: {
        reason: `node ${node.name} has not published its sandbox check yet (it runs its self-test as it starts; an older TinyAGI does not publish one)`,
        fix: `wait for node ${node.name} to finish starting, then ask again; upgrade it if it is older than this node`,
      },
    };
  }
  return {
    ok: s.ok,
    ...(s.reason !== undefined ? { problem: { reason: s.reason, fix: s.fix ?? 'run `tinyagi doctor` on that node' } } : {}),
    ...(s.bwrap !== undefined ? { bwrap: s.bwrap } : {}),
    memory: s.memory.ok ? { ok: true } : { ok: false, reason: s.memory.reason ?? 'unknown' },
    checks: [],
    source: s.source,
    checkedAt: s.checkedAt,
  };
}

/** `unknown` for an agent whose node is not live: its rows (stale, stopped) or none. */
function downKnowledge(name: string, rows: readonly NodeSandboxRow[]): MachineKnowledge {
  const stale = rows.find((n) => n.state === 'stale');
  const state = stale ? `is stale (no heartbeat for ${Math.round(stale.heartbeatAgeMs / 1000)} s)` : rows.length > 0 ? 'is stopped' : 'is not running (no such node)';
  return {
    unknown: {
      reason: `node ${name} ${state}: the boundary it runs the agent behind is not known while it is down`,
      fix: `start node ${name} again (\`tinyagi worker --name ${name}\` on its machine, docs/postgresql.md#running-a-worker); its messages wait for it`,
    },
  };
}
