/**
 * One TinyAGI node, whatever its kind (docs/postgresql.md#what-every-node-runs): the daemon (run.ts,
 * the API node) and `tinyagi worker` (worker.ts) both start here, from the same configuration and
 * with the same services. They differ only in what their `NodeKind` adds: the API node its API
 * server, its channels and what belongs to them (reply delivery, outbox expiry), its first-run
 * defaults.
 *
 * Contract:
 * - Configuration (`loadNodeConfig`): this home's settings.json (none: empty, as a worker's home
 *   may be; broken: refused with every problem, the file untouched), the environment overrides on
 *   top (TINYAGI_DATABASE_URL, TINYAGI_API_PORT/HOST, channel tokens: core's applyEnvOverrides),
 *   and the stores they select. On PostgreSQL the node then takes its settings from the database
 *   (cluster.ts), the local keys and the environment still applying.
 * - Services, started in this order on the node's stack and stopped in reverse: stores, the node's
 *   sandbox host (every confined start of the node on it), settings (with the cluster membership on
 *   PostgreSQL), the sandbox self-test on that host (beside the rest; its check recorded on the
 *   host, awaited before any work when an agent is set to a sandbox, and published in the node's
 *   registry row),
 *   the activity log, plugins, what runs agents (agent-node.ts), forge kinds and the task flow, the
 *   kind's own (`serve`: the API server, the channels), the orchestrator, the task flow's loop, the
 *   agent CLIs' versions in the log, heartbeats, schedules, retention, memory embeddings, and the
 *   reactions to a change of settings.
 * - What runs once across the nodes of one database:
 *   - heartbeats: each node wakes the agents placed on it; those on no node are woken by the
 *     leading node (cluster.ts `leads`: the oldest live API node);
 *   - schedules run on every node (a node down leaves them to the others): a firing is enqueued
 *     under an idempotency key per (schedule, due time) and recorded by a conditional update on its
 *     due time (core's schedule stores), so a run due on two nodes fires once;
 *   - memory's embedding sweep works on the leading node only (embedding an entry twice costs the
 *     endpoint twice); recall runs on every node;
 *   - retention: each node sweeps its own files/; pruning the database twice deletes nothing twice.
 */
import { hostname } from 'node:os';
import { errorMessage, loadSettings, newId, type Settings } from '@tinyagi/core';
import type { PgStores } from '@tinyagi/core/pg';
import { mintRunToken, registerBuiltinForgeKinds } from '@tinyagi/server/internal';
import { ConversationControl, type Orchestrator, TaskFlow, Workflows } from '@tinyagi/teams';
import {
  applyEnvOverrides,
  effectiveQueue,
  fileSettingsSource,
  nextScheduleRun,
  reapOrphanedGroups,
  type SandboxHost,
  sandboxHost,
  scheduleMessage,
  setProcessJournal,
  type SettingsSource,
  type StoreSet,
} from '../core-internal.ts';
import type { CliContext } from '../context.ts';
import { VERSION } from '../version.ts';
import { logActivity } from './activity-log.ts';
import { type AgentNode, type AgentNodeOptions, startAgentNode } from './agent-node.ts';
import type { ClusterMembership, ClusterOptions } from './cluster.ts';
import { logCliVersions } from './cli-versions.ts';
import { HeartbeatScheduler } from './heartbeat.ts';
import type { Logger } from './logger.ts';
import { startEmbeddingSweep } from './memory-embeddings.ts';
import { binScript } from './launch.ts';
import { agentGroupsJournal } from './process-check.ts';
import { importModule, loadPlugins, type LoadedPlugin } from './plugins.ts';
import { startRetention } from './retention.ts';
import { startSandboxSelfTest } from './sandbox.ts';
import { ScheduleRunner } from './scheduler.ts';
import { resource, type Service, type ServiceStack } from './services.ts';
import { describeStorage, openSelectedStores, selectStorage, storageChanged, type StorageSelection } from './storage.ts';

/**
 * How long a stop lets in-flight runs finish before it aborts them and hands their messages back
 * to the queue (run again after the next start). A turn about to end still ends (re-running it
 * costs the model calls again), while an agent's minutes-long turn is not waited for: the whole
 * stop fits inside the 10 s a container runtime gives before SIGKILL (docker stop's default).
 */
export const SHUTDOWN_GRACE_MS = 5_000;
/** Queue lease owners of a SQLite daemon's workers start with this (on PostgreSQL: the node's `node:<id>:`). */
const DAEMON_OWNER_PREFIX = 'daemon:';

/** A node's configuration as it starts (`loadNodeConfig`). */
export interface NodeConfig {
  /** This home's settings.json as read (empty when there is none). */
  stored: Settings;
  /** With the environment's overrides applied. */
  settings: Settings;
  storage: StorageSelection;
}

/** settings.json (refused when broken, with every problem; the file is not touched), the environment on top, and the stores they select. */
export function loadNodeConfig(ctx: CliContext): NodeConfig {
  const stored = loadSettings(ctx.paths.settings).settings;
  const settings = applyEnvOverrides(stored, ctx.env).settings;
  return { stored, settings, storage: selectStorage(settings, ctx.env, ctx.paths.db) };
}

/** What one kind of node brings to the composition. */
export interface NodeKind {
  role: ClusterOptions['role'];
  /** `tinyagi worker --name` (else TINYAGI_NODE_NAME, `node.name`, the host name). */
  name?: string;
  /** The API this node's agents call (`tinyagi call`) and the token their run tokens are minted from; without one they cannot call. */
  apiUrl: string;
  token: string | undefined;
  /** Loopback ports of this process the egress proxy refuses (the API's). */
  ownPorts: readonly number[];
  /** Gauges of this node's metrics beyond the settings (the API node's queue and approvals). */
  metrics?: (stores: StoreSet) => AgentNodeOptions['metrics'];
  /** This node's registration was taken over by a node of its name: start again (the daemon) or stop (a worker). */
  onLost(): void;
  /** The kind's own services, started once the node can run work and before its orchestrator takes any (stopped after the orchestrator). */
  serve?(node: RunningNode): Promise<void>;
}

/** The parts of a started node its kind's services use. */
export interface RunningNode {
  stores: StoreSet;
  source: SettingsSource;
  cluster: ClusterMembership | undefined;
  /** The node's sandbox host: its self-test's check, its agents' bridges, networks and cgroups. */
  sandbox: SandboxHost;
  agents: AgentNode;
  orchestrator: Orchestrator;
  taskFlow: TaskFlow;
  /** The workflow engine (docs/workflows.md): drives the runs whose lease this node holds. */
  workflows: Workflows;
  plugins: LoadedPlugin[];
  /** The heartbeat's state (GET /api/status); null until its scheduler runs. */
  heartbeatStatus(): unknown;
  /** Set once the heartbeat runs (after `serve`). */
  heartbeat?: HeartbeatScheduler;
}

interface NodeLife {
  ctx: CliContext;
  logger: Logger;
  config: NodeConfig;
}

/** Starts the node's services on `services` (see the module comment); the caller's `stopAll()` stops them. */
export async function startNode(services: ServiceStack, ctx: CliContext, logger: Logger, config: NodeConfig, kind: NodeKind): Promise<RunningNode> {
  const life: NodeLife = { ctx, logger, config };
  reapAgentGroups(ctx, logger);
  const stores = await services.start(storesService(life));
  let orchestrator: Orchestrator | undefined;
  // The node's sandbox (docs/sandbox-design.md#the-sandbox-host), stopped once no agent process runs: a sandboxed agent's `tinyagi` runs this CLI entry, bound in where it lies in a private folder.
  const sandbox = await services.start(
    resource(
      'sandbox host',
      () => sandboxHost({ cliEntry: binScript() }),
      (host) => host.close(),
    ),
  );
  const { source, cluster } = await services.start(settingsService(life, stores, kind, sandbox, () => orchestrator));
  // The boundary's self-test (docs/sandbox.md) on the node's host, beside the start; recorded there, and published to the other nodes once known.
  const sandboxCheck = startSandboxSelfTest({ host: sandbox, home: ctx.home, settings: source.get(), env: ctx.env, token: kind.token, logger: logger.child('sandbox') });
  void sandboxCheck.then(() => cluster?.publishSandbox().catch((err: unknown) => logger.warn(`could not publish the sandbox check: ${errorMessage(err)}`)));
  await services.start(timerService('activity log', () => ({ stop: logActivity(stores.events, logger.child('queue')) })));
  // Loaded on every start, so `tinyagi restart` picks up added, removed or edited plugins.
  const plugins = await services.start({ name: 'plugins', start: () => loadPlugins(ctx.paths.plugins, logger.child('plugins')) });
  if (plugins.length > 0) logger.info(`plugins loaded (in this order): ${plugins.map((p) => (p.plugin.name === p.id ? p.id : `${p.plugin.name} (${p.id})`)).join(', ')}`);
  const agents = await startAgentNode({
    services,
    sandbox,
    home: ctx.home,
    env: ctx.env,
    stores,
    source,
    logger,
    ...(kind.metrics ? { metrics: kind.metrics(stores) } : {}),
    orchestrator: {
      owner: cluster ? cluster.node.leaseOwner() : `${DAEMON_OWNER_PREFIX}${hostname()}:${process.pid}:${newId('w')}`,
      ...(cluster ? { ...cluster.claim, node: cluster.node.name } : {}),
      apiUrl: kind.apiUrl,
      issueRunToken: (runId: string, conversationId: string) => (kind.token ? mintRunToken(kind.token, runId, conversationId) : ''),
      plugins: plugins.map((p) => p.plugin),
    },
    ownPorts: kind.ownPorts,
    ...(cluster ? { runsHere: cluster.runsHere } : {}),
  });
  orchestrator = agents.orchestrator;
  // With an agent set to a sandbox, no surface and none of its messages runs on a guess: the self-test ends first.
  if (Object.values(source.get().agents ?? {}).some((a) => a.sandbox === 'on' || a.sandbox === 'required')) await sandboxCheck;
  // The forges a binding may name (docs/kinds.md, "Forges"), before the flow reads a binding.
  registerBuiltinForgeKinds();
  // The task flow (docs/git-tasks.md): this node drives the steps of the repository-bound tasks it can reach.
  // With several nodes each step runs on the node that holds the task's disk, asked through the event log (docs/git-tasks.md, "Several nodes").
  const taskNode = cluster ? { name: cluster.node.name, isLive: async (name: string) => (await cluster.nodes()).some((n) => n.name === name && n.state === 'live') } : undefined;
  const taskFlow = new TaskFlow({
    stores,
    orchestrator,
    home: ctx.home,
    env: ctx.env,
    settings: () => source.get(),
    log: logger.child('tasks'),
    sandboxHost: sandbox,
    ...(taskNode ? { node: taskNode } : {}),
  });
  // Workflows (docs/workflows.md): each run driven by the node that holds its lease; a node started again takes its own back at once.
  const control = new ConversationControl(orchestrator);
  const workflows = new Workflows({
    stores,
    orchestrator,
    cancelConversation: (id, reason) => control.cancelConversation(id, reason),
    settings: () => source.get(),
    taskFlow,
    log: logger.child('workflows'),
    importModule,
    ...(cluster ? { node: cluster.node.name } : {}),
  });
  const node: RunningNode = { stores, source, cluster, sandbox, agents, orchestrator, taskFlow, workflows, plugins, heartbeatStatus: () => node.heartbeat?.status() ?? null };
  await kind.serve?.(node);
  await services.start(orchestratorService(life, stores, orchestrator, cluster));
  // Tasks whose step a stop (or another node) left half done are finished first; stopped before the orchestrator.
  await services.start({ name: 'task flow', start: () => taskFlow.start(), stop: () => taskFlow.stop() });
  await services.start({ name: 'workflows', start: () => workflows.start(), stop: () => workflows.stop() });
  await startTimedWork(services, life, node);
  return node;
}

/** The agent CLIs' versions, heartbeats, schedules, retention, embeddings and settings reactions: what runs on its own after the start. */
async function startTimedWork(services: ServiceStack, life: NodeLife, node: RunningNode): Promise<void> {
  const { ctx, logger } = life;
  const { stores, source, cluster, orchestrator } = node;
  const runsHere = (id: string): boolean => cluster?.runsHere(id) ?? true;
  // Once per start, off the start's path: this node's agents' CLIs against the verified ranges (docs/agent-clis.md#cli-versions).
  void logCliVersions(source.get(), ctx.env, logger.child('cli'), new Set(Object.keys(source.get().agents ?? {}).filter(runsHere)));
  node.heartbeat = await services.start(heartbeatService(life, node));
  await services.start(scheduleService(life, stores, orchestrator));
  await services.start(timerService('retention', () => startRetention(stores, () => source.get(), logger.child('retention'), { filesDir: ctx.paths.files })));
  // Memory's vectors (docs/memory.md#embeddings), off every decision's path; idle while memory.embeddings is unset.
  await services.start(timerService('memory embeddings', () => startEmbeddingSweep(stores, source, ctx.env, logger.child('memory'), () => cluster?.leads() ?? true)));
  await services.start(settingsReactions(life, source, node.heartbeat));
}

/** Agent CLIs a killed process of this home left running would race the retries of their own messages: ended first, then recorded from here on. */
function reapAgentGroups(ctx: CliContext, logger: Logger): void {
  const journal = agentGroupsJournal(ctx.home);
  const reaped = reapOrphanedGroups(journal);
  if (reaped.killed.length > 0) logger.warn(`killed ${reaped.killed.length} agent process group(s) left running by a previous process of this home: ${reaped.killed.join(', ')}`);
  if (reaped.skipped.length > 0) logger.info(`left ${reaped.skipped.length} recorded process group(s) alone: their processes are not the ones recorded`);
  setProcessJournal(journal);
}

/** The stores of the selected backend (storage.ts); closed last. */
function storesService(life: NodeLife): Service<StoreSet> {
  let stores: StoreSet | undefined;
  return {
    name: 'stores',
    async start() {
      const { storage, settings } = life.config;
      const queue = effectiveQueue(settings);
      stores = await openSelectedStores(storage, { durability: queue.durability, maxAttempts: queue.max_attempts });
      life.logger.info(`stores: ${describeStorage(storage)}`);
      if (storage.backend === 'postgres') await warnSqliteLeftBehind(life, stores);
      return stores;
    },
    stop: () => stores?.close(),
  };
}

/** On PostgreSQL, a SQLite database with history beside the home (sqlite-beside.ts) is said at start, with the command that copies it. */
async function warnSqliteLeftBehind(life: NodeLife, stores: StoreSet): Promise<void> {
  const { sqliteLeftBehind } = await import('./sqlite-beside.ts');
  const pgStores = stores as PgStores;
  const behind = await sqliteLeftBehind(life.ctx.paths.db, pgStores.pool, pgStores.schema).catch(() => undefined);
  if (behind !== undefined) life.logger.warn(behind.message);
}

/**
 * Where settings come from while the node runs (core's SettingsSource, recording every change
 * as `settings.changed`): settings.json watched on disk; on PostgreSQL the database's shared row
 * (the API node's settings.json becomes its readable copy), this node joining the database's nodes.
 */
function settingsService(
  life: NodeLife,
  stores: StoreSet,
  kind: NodeKind,
  sandbox: SandboxHost,
  orchestrator: () => { reconcile(): Promise<number> } | undefined,
): Service<{ source: SettingsSource; cluster: ClusterMembership | undefined }> {
  let close: () => unknown = () => {};
  return {
    name: 'settings',
    async start() {
      const { ctx, logger } = life;
      if (stores.backend !== 'postgres') {
        const source = fileSettingsSource({ file: ctx.paths.settings, initial: life.config.stored, env: ctx.env, events: stores.events, watch: true, log: logger.child('settings') });
        close = () => source.close();
        return { source, cluster: undefined };
      }
      const { joinCluster } = await import('./cluster.ts');
      const cluster = await joinCluster(stores as PgStores, {
        role: kind.role,
        ...(kind.name ? { name: kind.name } : {}),
        file: ctx.paths.settings,
        env: ctx.env,
        version: VERSION,
        logger,
        // The orchestrator is made after joining; the dead-node sweep reaches it through this.
        onReleased: () => orchestrator()?.reconcile() ?? Promise.resolve(),
        onLost: () => {
          logger.error('this node was taken over by another node of the same name');
          kind.onLost();
        },
        sandbox: () => sandbox.check,
      });
      close = () => cluster.leave();
      return { source: cluster.settings, cluster };
    },
    stop: () => close(),
  };
}

/** A part that runs from its start until its `stop()`: the heartbeat, schedules, retention, the activity log. */
export function timerService<T extends { stop(): unknown }>(name: string, start: () => T): Service<T> {
  let started: T | undefined;
  return {
    name,
    start() {
      started = start();
      return started;
    },
    stop: () => started?.stop(),
  };
}

/** The orchestrator's queue loop; before it starts, the leases dead processes (or dead nodes) held end. */
function orchestratorService(life: NodeLife, stores: StoreSet, worker: Orchestrator, cluster: ClusterMembership | undefined): Service {
  return {
    name: 'orchestrator',
    async start() {
      // This node holds the home's instance lock: leases of earlier daemons of this home belong to
      // dead processes. Ending them now resumes their work at once instead of after the lease
      // length. On PostgreSQL other nodes' leases are theirs: only those of dead nodes end now.
      const released = cluster ? await cluster.releaseDeadNodes() : await stores.queue.expireLeases((owner) => owner.startsWith(DAEMON_OWNER_PREFIX));
      if (released > 0) life.logger.warn(`resuming ${released} message(s) a stopped daemon or node was processing`);
      await worker.start();
    },
    stop: () => worker.stop(SHUTDOWN_GRACE_MS),
  };
}

async function busyAgents(stores: StoreSet): Promise<ReadonlySet<string>> {
  const rows = await stores.queue.countsByAgent();
  return new Set(rows.filter((r) => r.pending + r.processing > 0).map((r) => r.agentId));
}

/** The agents' heartbeats: a message to each agent this node wakes whose heartbeat is due and that is not busy. */
function heartbeatService(life: NodeLife, node: RunningNode): Service<HeartbeatScheduler> {
  const { stores, orchestrator, cluster, source } = node;
  // Placed here, or on no node and this node leads: each agent is woken by one node.
  const sendsTo = cluster
    ? (id: string): boolean => {
        const placed = source.get().agents?.[id]?.node;
        return placed === undefined ? cluster.leads() : placed === cluster.node.name;
      }
    : undefined;
  return timerService('heartbeat', () => {
    const scheduler = new HeartbeatScheduler({
      getSettings: () => source.get(),
      ...(sendsTo ? { sendsTo } : {}),
      env: life.ctx.env,
      busyAgents: () => busyAgents(stores),
      send: async (agentId, content) => (await orchestrator.submit({ message: content, agent: agentId, kind: 'heartbeat', channel: 'heartbeat', sender: 'System', senderId: 'heartbeat' })).messageId,
      onSent: async (agentId, messageId) => void (await stores.events.append({ type: 'heartbeat.sent', agentId, data: { messageId } })),
      logger: life.logger.child('heartbeat'),
    });
    scheduler.start();
    return scheduler;
  });
}

/** The schedules: each one's message submitted when it comes due (on every node: see the module comment). */
function scheduleService(life: NodeLife, stores: StoreSet, worker: Orchestrator): Service<ScheduleRunner> {
  return timerService('scheduler', () => {
    const scheduler = new ScheduleRunner({
      store: stores.schedules,
      fire: async ({ schedule, idempotencyKey }) => (await worker.submit({ ...scheduleMessage(schedule), idempotencyKey })).messageId,
      nextRun: (schedule, after) => nextScheduleRun(schedule, after),
      logger: life.logger.child('scheduler'),
    });
    scheduler.start();
    return scheduler;
  });
}

/** A change of settings while the node runs: the heartbeats re-planned; a change of storage said (it applies at the next start). */
function settingsReactions(life: NodeLife, source: SettingsSource, heartbeat: HeartbeatScheduler): Service {
  let unsubscribe: () => unknown = () => {};
  return {
    name: 'settings reactions',
    start() {
      unsubscribe = source.onChange((next, previous) => {
        heartbeat.replan();
        if (storageChanged(previous, next)) life.logger.warn(`storage changed; run \`tinyagi restart\` to apply it (the stores stay ${describeStorage(life.config.storage)} until then)`);
      });
    },
    stop: () => unsubscribe(),
  };
}
