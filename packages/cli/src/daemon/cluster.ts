/**
 * Joining the nodes of one PostgreSQL database (docs/postgresql.md#several-nodes): imported
 * only when PostgreSQL is selected. The daemon (role `api`) and `tinyagi worker` (role `worker`)
 * both:
 * - take their settings from the database's shared row (`SharedSettings`: live, one version for
 *   every node; the API node imports its settings.json into an empty row once and keeps the file
 *   a readable copy; a worker waits for the row),
 * - register as a node with a heartbeat (`NodeRegistry`), under the name `node.name` of the local
 *   settings (`--name` / TINYAGI_NODE_NAME override it; default the host name),
 * - claim the agents placed on them or on no node (a worker: `agentsForNode`, an allow-list read
 *   at every claim), or, the API node, every agent not placed on another node
 *   (`agentsOnOtherNodes` skipped): it also takes the messages of an agent no longer in settings,
 *   which end dead with the reason instead of waiting for a node that will never claim them
 *   (`claim`, `runsHere`),
 * - publish their sandbox boundary (`sandbox`, the self-test's result) in their row once it is
 *   known and again whenever it changes (looked at every heartbeat interval), so every surface
 *   shows an agent's status as its own node sees it (docs/sandbox.md),
 * - know whether they lead (`leads`: core's `leadingNode`, looked at every heartbeat interval):
 *   the leading node sends the heartbeats of agents on no node and runs memory's embedding sweep,
 * - end at once the queue leases of nodes that died (stale heartbeat or stopped), at start and at
 *   every heartbeat interval, so their messages run elsewhere within seconds.
 * - prune the rows of nodes stopped more than 10 minutes or stale more than an hour ago
 *   (`NODE_RETENTION`), at start and every minute,
 * - report through `problem()` when its own heartbeat cannot run (GET /api/health answers 503).
 */
import type { AgentWaitingForNode, NodeStatus } from '@tinyagi/client';
import { errorMessage } from '@tinyagi/core';
import { agentsForNode, agentsOnOtherNodes, agentsWaitingForNodes, type Env, leadingNode, type MachineCheck, nodeSandboxView, nodeStatuses, type SettingsSource } from '../core-internal.ts';
import { DEFAULT_HEARTBEAT_MS, type LocalNode, NODE_RETENTION, NodeRegistry, type NodeRole, type PgStores, SharedSettings } from '@tinyagi/core/pg';
import type { Logger } from './logger.ts';
import { givenNodeName } from './node-name.ts';
/** How often each node prunes the rows of gone nodes. */
const PRUNE_EVERY_MS = 60_000;

export interface ClusterOptions {
  /** After the work of a dead node went back to the queue (the orchestrator's `reconcile`). */
  onReleased?: () => Promise<unknown>;
  role: NodeRole;
  /** This node's settings.json (its local keys; the API node's import source and copy). */
  file: string;
  env: Env;
  version: string;
  logger: Logger;
  /** From `--name`; else TINYAGI_NODE_NAME, else the local settings' `node.name`, else the host name. */
  name?: string;
  /** Called once when this node's registration was taken over or pruned: stop working as it. */
  onLost: () => void;
  /** This node's sandbox check (undefined until its self-test ended): published when it changes. */
  sandbox?: () => MachineCheck | undefined;
}

/** The orchestrator's claim filter of this node (its OrchestratorOptions). */
export type ClaimFilter = { agents: () => ReadonlySet<string> } | { skipAgents: () => ReadonlySet<string> };

export interface ClusterMembership {
  readonly settings: SettingsSource;
  readonly node: LocalNode;
  readonly registry: NodeRegistry;
  /** The claim allow-list of a worker node, from the current settings. */
  agents(): ReadonlySet<string>;
  /** What the API node skips when it claims: the agents placed on other nodes. */
  agentsElsewhere(): ReadonlySet<string>;
  /** How this node claims: a worker its agents (`agents`), the API node all but those placed elsewhere. */
  readonly claim: ClaimFilter;
  /** Whether this node runs the agent's messages (by its claim). */
  runsHere(agentId: string): boolean;
  /** Whether this node leads (see the module comment), as of the last heartbeat interval. */
  leads(): boolean;
  /** Publishes this node's sandbox check now if it changed since it was last published (also done every interval). */
  publishSandbox(): Promise<void>;
  /** Every node of the database, live ones first, with `self` marking this one (GET /api/status). */
  nodes(): Promise<NodeStatus[]>;
  /** Agents placed on a node that is down, with their pending messages (GET /api/status). */
  waitingForNodes(): Promise<AgentWaitingForNode[]>;
  /** Why this node is unhealthy (its heartbeat cannot run, or it was taken over), or undefined: GET /api/health. */
  problem(): string | undefined;
  /** Ends the leases of dead nodes now; returns how many messages go back to the queue. */
  releaseDeadNodes(): Promise<number>;
  leave(): Promise<void>;
}

export async function joinCluster(stores: PgStores, options: ClusterOptions): Promise<ClusterMembership> {
  const { pool, schema } = stores;
  const log = options.logger.child('nodes');
  pool.on('error', (err) => log.warn(`database: idle connection lost (${err.message})`));
  const settings = await SharedSettings.open(pool, {
    schema,
    file: options.file,
    env: options.env,
    mirror: options.role === 'api',
    importFile: options.role === 'api',
    log: options.logger.child('settings'),
    // The API node records the changes it sees in the event log (the workers do not: once is enough).
    ...(options.role === 'api' ? { events: stores.events } : {}),
  });
  try {
    const name = givenNodeName(settings.get(), options.env, options.name);
    const registry = new NodeRegistry(pool, { schema });
    const node = await registry.register({ role: options.role, ...(name ? { name } : {}), version: options.version, log, onLost: options.onLost });
    // Both claim filters, recomputed when the agents of the settings change (read at every claim).
    let agentsKey: unknown;
    let placement = { mine: new Set<string>() as ReadonlySet<string>, elsewhere: new Set<string>() as ReadonlySet<string> };
    const currentPlacement = () => {
      const current = settings.get();
      if (current.agents !== agentsKey) {
        agentsKey = current.agents;
        placement = { mine: new Set(agentsForNode(current, node.name)), elsewhere: new Set(agentsOnOtherNodes(current, node.name)) };
      }
      return placement;
    };
    const releaseDeadNodes = async (): Promise<number> => stores.queue.expireLeases(await registry.deadOwnerPredicate());
    let leading = false;
    let published: string | undefined;
    const publishSandbox = async (): Promise<void> => {
      const check = options.sandbox?.();
      if (check === undefined) return;
      const view = nodeSandboxView(check);
      const key = JSON.stringify(view);
      if (key === published) return;
      await node.publishSandbox(view);
      published = key;
    };
    // Who leads, and this node's sandbox as published (a failed write is tried again): every interval, beside the dead-node sweep.
    const look = async (): Promise<void> => {
      leading = leadingNode(await registry.list())?.id === node.id;
      await publishSandbox();
    };
    await look().catch((err: unknown) => log.warn(`reading the nodes failed: ${errorMessage(err)}`));
    const sweep = setInterval(() => {
      look().catch((err: unknown) => log.warn(`reading the nodes failed: ${errorMessage(err)}`));
      releaseDeadNodes()
        .then((n) => {
          if (n > 0) {
            log.warn(`a node stopped beating: ${n} of its message(s) go back to the queue`);
            return options.onReleased?.();
          }
        })
        .catch((err: unknown) => log.warn(`dead-node sweep failed: ${errorMessage(err)}`));
    }, DEFAULT_HEARTBEAT_MS);
    sweep.unref();
    // Rows of nodes gone for longer than NODE_RETENTION go (every node prunes; deleting twice is harmless).
    const pruneNodes = (): void => {
      registry
        .prune()
        .then((n) => {
          if (n > 0) log.info(`pruned ${n} node row(s) stopped over ${NODE_RETENTION.stoppedMs / 60_000} min or stale over ${NODE_RETENTION.staleMs / 60_000} min ago`);
        })
        .catch((err: unknown) => log.warn(`pruning node rows failed: ${errorMessage(err)}`));
    };
    pruneNodes();
    const pruning = setInterval(pruneNodes, PRUNE_EVERY_MS);
    pruning.unref();
    log.info(`joined as node "${node.name}" (${options.role}, ${node.id}) on schema ${schema}`);
    const runsHere = (agentId: string): boolean => (options.role === 'worker' ? currentPlacement().mine.has(agentId) : !currentPlacement().elsewhere.has(agentId));
    return {
      settings,
      node,
      registry,
      agents: () => currentPlacement().mine,
      agentsElsewhere: () => currentPlacement().elsewhere,
      claim: options.role === 'worker' ? { agents: () => currentPlacement().mine } : { skipAgents: () => currentPlacement().elsewhere },
      runsHere,
      leads: () => leading,
      publishSandbox,
      releaseDeadNodes,
      nodes: async () => nodeStatuses(await registry.list(), node.id),
      async waitingForNodes() {
        const [all, counts] = await Promise.all([registry.list(), stores.queue.countsByAgent()]);
        return agentsWaitingForNodes(settings.get(), all, new Map(counts.map((c) => [c.agentId, c.pending])));
      },
      problem: () => node.problem(),
      async leave() {
        clearInterval(sweep);
        clearInterval(pruning);
        await node.stop().catch((err: unknown) => log.warn(`could not mark the node stopped: ${errorMessage(err)}`));
        await settings.close();
      },
    };
  } catch (err) {
    await settings.close();
    throw err;
  }
}
