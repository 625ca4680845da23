/**
 * `tinyagi run`: the daemon in the foreground. One process hosts the API server, the
 * orchestrator, the heartbeat and schedule runners, retention pruning, outbox expiry and the
 * channel supervisor, each a service that starts and stops itself (./services.ts), started in
 * order by `runOnce` and stopped in reverse.
 *
 * Lifecycle contract:
 * - Refuses to start when another daemon holds this home's lock, or when settings.json is
 *   invalid (every problem is logged and printed; the file is not touched).
 * - SIGINT/SIGTERM: stop taking timed work, let the orchestrator finish or release in-flight
 *   runs within SHUTDOWN_GRACE_MS (released messages go back to pending for the next start),
 *   close the API, stop channel children, close the database, release the lock, exit 0.
 *   A second signal during shutdown exits at once (the queue's leases recover the work).
 * - POST /api/daemon/restart: the same shutdown, then everything starts again in this process
 *   (same pid and lock; settings, database, plugins and server are reopened). Works with and without Docker.
 */
import { join } from 'node:path';
import { createServer } from 'node:net';
import { hostname } from 'node:os';
import { errorMessage, isTinyError, loadSettings, newId, type Settings } from '@tinyagi/core';
import {
  applyEnvOverrides,
  assertListenAllowed,
  effectiveQueue,
  effectiveServer,
  isLoopbackHost,
  nextScheduleRun,
  reapOrphanedGroups,
  remoteAllowed,
  ReplyDelivery,
  scheduleMessage,
  fileSettingsSource,
  setProcessJournal,
  type SettingsSource,
  type StoreSet,
} from '../core-internal.ts';
import type { PgStores } from '@tinyagi/core/pg';
import { tinyOfficeExportDir } from '../office/locate.ts';
import { loadOrCreateApiToken, startServer, type McpHttpHandler, type RunningServer } from '@tinyagi/server';
import { registerBuiltinForgeKinds } from '@tinyagi/server/internal';
import { mintChannelToken, mintRunToken } from '@tinyagi/server/internal';
import { type Orchestrator, orchestratorFacets, TaskFlow } from '@tinyagi/teams';
import type { CliContext } from '../context.ts';
import { pendingApprovalsByKind } from '../telemetry.ts';
import { VERSION } from '../version.ts';
import { logActivity } from './activity-log.ts';
import { startAgentNode } from './agent-node.ts';
import { ChannelSupervisor, type ChannelStatus } from './channel-supervisor.ts';
import type { ClusterMembership } from './cluster.ts';
import { logCliVersions } from './cli-versions.ts';
import { ensureFirstRunDefaults, ensureHomeDirectories } from './first-run.ts';
import { HeartbeatScheduler } from './heartbeat.ts';
import { acquireInstanceLock, type InstanceLock } from './instance-lock.ts';
import { daemonNodeArgs, runArgs } from './launch.ts';
import { daemonEnv } from './node-flags.ts';
import { createLogger, type Logger } from './logger.ts';
import { startOutboxExpiry } from './outbox-expiry.ts';
import { startEmbeddingSweep } from './memory-embeddings.ts';
import { removePidFile, writePidFile } from './pid-file.ts';
import { agentGroupsJournal } from './process-check.ts';
import { loadPlugins } from './plugins.ts';
import { startRetention } from './retention.ts';
import { RotatingLog } from './rotating-log.ts';
import { startSandboxSelfTest } from './sandbox.ts';
import { ScheduleRunner } from './scheduler.ts';
import { ServiceStack, type Service } from './services.ts';
import { DAEMON_LOG, DETACHED_ENV } from './start.ts';
import { describeStorage, openSelectedStores, selectStorage, storageChanged, type StorageSelection } from './storage.ts';

/**
 * How long a stop lets in-flight runs finish before it aborts them and hands their messages back
 * to the queue (run again after the next start). A turn about to end still ends (re-running it
 * costs the model calls again), while an agent's minutes-long turn is not waited for: the whole
 * stop fits inside the 10 s a container runtime gives before SIGKILL (docker stop's default).
 */
export const SHUTDOWN_GRACE_MS = 5_000;
/** Queue lease owners of daemon workers start with this; other processes' workers do not. */
const DAEMON_OWNER_PREFIX = 'daemon:';

type Outcome = 'stopped' | 'restart';

/** Where the API listens: server.host/port (TINYAGI_API_HOST/PORT override them); port 0 picks a free port now. */
async function listenAddress(settings: Settings): Promise<{ host: string; port: number }> {
  const server = effectiveServer(settings);
  const { host } = server;
  if (server.port !== 0) return { host, port: server.port };
  const port = await new Promise<number>((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen({ host, port: 0 }, () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
  return { host, port };
}

function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::' || host === '') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

/** The server's view of the supervisor (GET /api/status, /api/channels). */
/** A channel's own block of settings.channels (not the shared keys `enabled` and `defaults`). */
function channelBlock(settings: Settings, channel: string): unknown {
  if (channel === 'enabled' || channel === 'defaults') return {};
  const block = (settings.channels as Record<string, unknown> | undefined)?.[channel];
  return block !== null && typeof block === 'object' && !Array.isArray(block) ? block : {};
}

function channelControl(supervisor: ChannelSupervisor) {
  const view = (s: ChannelStatus) => ({
    name: s.name,
    running: s.pid !== null,
    pid: s.pid,
    restarts: s.restarts,
    lastError: s.state === 'connected' ? null : (s.detail ?? (s.lastExit ? `exited (code ${s.lastExit.code ?? '-'}, signal ${s.lastExit.signal ?? '-'})` : null)),
    state: s.state,
    attempt: s.attempt,
    enabled: s.enabled,
    nextRestartAt: s.nextRestartAt,
    logFile: s.logFile,
  });
  return {
    status: () => supervisor.status().map(view),
    start: (name: string) => view(supervisor.start(name)),
    stop: async (name: string) => view(await supervisor.stop(name)),
    restart: async (name: string) => view(await supervisor.restart(name)),
  };
}

async function busyAgents(stores: StoreSet): Promise<ReadonlySet<string>> {
  const rows = await stores.queue.countsByAgent();
  return new Set(rows.filter((r) => r.pending + r.processing > 0).map((r) => r.agentId));
}

/** What every service of one life of the daemon may use. */
interface Life {
  ctx: CliContext;
  logger: Logger;
  /** settings.json as read at start (refused when broken), and with environment overrides applied. */
  stored: Settings;
  settings: Settings;
  /** The opt-in to a host beyond loopback, from the environment the daemon started with. */
  allowRemote: boolean;
  host: string;
  port: number;
  apiUrl: string;
  token: string;
  requestRestart: () => void;
}

/** The stores of the selected backend (storage.ts); closed last. */
function storesService(life: Life, storage: StorageSelection): Service<StoreSet> {
  let stores: StoreSet | undefined;
  return {
    name: 'stores',
    async start() {
      const queue = effectiveQueue(life.settings);
      stores = await openSelectedStores(storage, { durability: queue.durability, maxAttempts: queue.max_attempts });
      life.logger.info(`stores: ${describeStorage(storage)}`);
      if (storage.backend === 'postgres') await warnSqliteLeftBehind(life, stores);
      return stores;
    },
    stop: () => stores?.close(),
  };
}

/** On PostgreSQL, a SQLite database with history beside the home (sqlite-beside.ts) is said at start, with the command that copies it. */
async function warnSqliteLeftBehind(life: Life, stores: StoreSet): Promise<void> {
  const { sqliteLeftBehind } = await import('./sqlite-beside.ts');
  const pgStores = stores as PgStores;
  const behind = await sqliteLeftBehind(life.ctx.paths.db, pgStores.pool, pgStores.schema).catch(() => undefined);
  if (behind !== undefined) life.logger.warn(behind.message);
}

/**
 * Where settings come from while the daemon runs (core's SettingsSource, recording every change
 * as `settings.changed`): settings.json watched on disk; on PostgreSQL the database's shared row
 * (settings.json becomes its readable copy), this daemon then being the API node of the
 * database's nodes, whose claims follow agent placement.
 */
function settingsService(life: Life, stores: StoreSet, orchestrator: () => { reconcile(): Promise<number> } | undefined): Service<{ source: SettingsSource; cluster: ClusterMembership | undefined }> {
  let close: () => unknown = () => {};
  return {
    name: 'settings',
    async start() {
      const { ctx, logger } = life;
      if (stores.backend !== 'postgres') {
        const source = fileSettingsSource({ file: ctx.paths.settings, initial: life.stored, env: ctx.env, events: stores.events, watch: true, log: logger.child('settings') });
        close = () => source.close();
        return { source, cluster: undefined };
      }
      const { joinCluster } = await import('./cluster.ts');
      const cluster = await joinCluster(stores as PgStores, {
        role: 'api',
        file: ctx.paths.settings,
        env: ctx.env,
        version: VERSION,
        logger,
        // The orchestrator is made after joining; the dead-node sweep reaches it through this.
        onReleased: () => orchestrator()?.reconcile() ?? Promise.resolve(),
        onLost: () => {
          logger.error('this node was taken over by another node of the same name: restarting');
          life.requestRestart();
        },
      });
      close = () => cluster.leave();
      return { source: cluster.settings, cluster };
    },
    stop: () => close(),
  };
}

/** The channel processes: made before the server (it shows and controls them), stopped after it closes. */
function channelSupervisorService(life: Life, stores: StoreSet, delivery: ReplyDelivery, getSettings: () => Settings): Service<ChannelSupervisor> {
  let supervisor: ChannelSupervisor | undefined;
  return {
    name: 'channel supervisor',
    start() {
      const { ctx, apiUrl, token } = life;
      supervisor = new ChannelSupervisor({
        logsDir: ctx.paths.logs,
        env: ctx.env,
        // The admin token never reaches a channel process: it gets a token scoped to its channel.
        childEnv: (channel) => ({
          TINYAGI_API_URL: apiUrl,
          TINYAGI_API_TOKEN: mintChannelToken(token, channel),
          TINYAGI_HOME: ctx.home,
          // Its own settings block (bot_token, api_root, …), read when it starts: a restart picks up edits.
          TINYAGI_CHANNEL_CONFIG: JSON.stringify(channelBlock(getSettings(), channel)),
        }),
        logger: life.logger.child('channels'),
        events: stores.events,
        // A dead channel process's claimed replies go out again now, not when their lease runs out.
        handBack: (channel, gone) => delivery.handBackFrom(channel, gone),
      });
      return supervisor;
    },
    stop: () => supervisor?.stopAll(),
  };
}

/** The API, listening; closed after the orchestrator stopped (agents blocked in `tinyagi call` can finish). */
function serverService(start: () => Promise<RunningServer>): Service<RunningServer> {
  let server: RunningServer | undefined;
  return {
    name: 'API server',
    async start() {
      server = await start();
      return server;
    },
    stop: () => server?.close(),
  };
}

/** A part that runs from its start until its `stop()`: the heartbeat, schedules, retention, outbox expiry, the activity log. */
function timerService<T extends { stop(): unknown }>(name: string, start: () => T): Service<T> {
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

/** The orchestrator's queue loop; before it starts, the leases dead daemons (or dead nodes) held end. */
function orchestratorService(life: Life, stores: StoreSet, worker: Orchestrator, cluster: ClusterMembership | undefined): Service {
  return {
    name: 'orchestrator',
    async start() {
      // This daemon holds the home's instance lock: leases of earlier daemons belong to dead
      // processes. Ending them now resumes their work at once instead of after the lease length.
      // On PostgreSQL other nodes' leases are theirs: only those of dead nodes end now.
      const released = cluster ? await cluster.releaseDeadNodes() : await stores.queue.expireLeases((owner) => owner.startsWith(DAEMON_OWNER_PREFIX));
      if (released > 0) life.logger.warn(`resuming ${released} message(s) a previous daemon was processing when it stopped`);
      await worker.start();
    },
    stop: () => worker.stop(SHUTDOWN_GRACE_MS),
  };
}

/** The agents' heartbeats: a message to each agent whose heartbeat is due and that is not busy. */
function heartbeatService(life: Life, stores: StoreSet, worker: Orchestrator, getSettings: () => Settings): Service<HeartbeatScheduler> {
  return timerService('heartbeat', () => {
    const scheduler = new HeartbeatScheduler({
      getSettings,
      env: life.ctx.env,
      busyAgents: () => busyAgents(stores),
      send: async (agentId, content) => (await worker.submit({ message: content, agent: agentId, kind: 'heartbeat', channel: 'heartbeat', sender: 'System', senderId: 'heartbeat' })).messageId,
      onSent: async (agentId, messageId) => void (await stores.events.append({ type: 'heartbeat.sent', agentId, data: { messageId } })),
      logger: life.logger.child('heartbeat'),
    });
    scheduler.start();
    return scheduler;
  });
}

/** The schedules: each one's message submitted when it comes due. */
function scheduleService(life: Life, stores: StoreSet, worker: Orchestrator): Service<ScheduleRunner> {
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

/**
 * One life of the daemon: its services started in order (each stops itself; a failure to start
 * stops those already started), then, on a signal or a restart, stopped in reverse order.
 */
async function runOnce(ctx: CliContext, logger: Logger, lock: InstanceLock, stopSignal: Promise<Outcome>, requestRestart: () => void): Promise<Outcome> {
  const firstRun = await ensureFirstRunDefaults(ctx.paths, ctx.env);
  for (const notice of firstRun.notices) logger.info(notice);
  // Agent CLIs a killed daemon left running would race the retries of their own messages.
  const groupsJournal = agentGroupsJournal(ctx.home);
  const reaped = reapOrphanedGroups(groupsJournal);
  if (reaped.killed.length > 0) logger.warn(`killed ${reaped.killed.length} agent process group(s) left running by a previous daemon: ${reaped.killed.join(', ')}`);
  if (reaped.skipped.length > 0) logger.info(`left ${reaped.skipped.length} recorded process group(s) alone: their processes are not the ones recorded`);
  setProcessJournal(groupsJournal);
  // Refuses a broken settings.json (every problem with its path); the file is not touched.
  const stored = loadSettings(ctx.paths.settings).settings;
  const settings = applyEnvOverrides(stored, ctx.env).settings;
  const allowRemote = remoteAllowed(ctx.env);
  assertListenAllowed(effectiveServer(settings).host, allowRemote);
  const { host, port } = await listenAddress(settings);
  const apiUrl = `http://${urlHost(host)}:${port}`;
  const { token } = loadOrCreateApiToken(ctx.home, ctx.env);
  const life: Life = { ctx, logger, stored, settings, allowRemote, host, port, apiUrl, token, requestRestart };
  const storage = selectStorage(settings, ctx.env, ctx.paths.db);

  const services = new ServiceStack(logger);
  // The boundary's self-test (docs/sandbox.md), beside the start.
  const sandboxCheck = startSandboxSelfTest({ home: ctx.home, settings, env: ctx.env, token, logger: logger.child('sandbox') });
  try {
    const stores = await services.start(storesService(life, storage));
    let orchestrator: Orchestrator | undefined;
    const { source, cluster } = await services.start(settingsService(life, stores, () => orchestrator));
    const getSettings = (): Settings => source.get();
    await services.start(timerService('activity log', () => ({ stop: logActivity(stores.events, logger.child('queue')) })));
    // Loaded on every start, so `tinyagi restart` picks up added, removed or edited plugins.
    const plugins = await services.start({ name: 'plugins', start: () => loadPlugins(ctx.paths.plugins, logger.child('plugins')) });
    if (plugins.length > 0) logger.info(`plugins loaded (in this order): ${plugins.map((p) => (p.plugin.name === p.id ? p.id : `${p.plugin.name} (${p.id})`)).join(', ')}`);
    // Trace export, warm sessions, the model proxy, the orchestrator and the egress proxy: what every node runs agents with.
    const node = await startAgentNode({
      services,
      home: ctx.home,
      env: ctx.env,
      stores,
      source,
      logger,
      metrics: { queueCounts: () => stores.queue.counts(), approvalsPending: pendingApprovalsByKind(stores.approvals) },
      orchestrator: {
        owner: cluster ? cluster.node.leaseOwner() : `${DAEMON_OWNER_PREFIX}${hostname()}:${process.pid}:${newId('w')}`,
        // The API node takes every agent not placed on another node, deleted ones included (cluster.ts).
        ...(cluster ? { skipAgents: cluster.agentsElsewhere, node: cluster.node.name } : {}),
        apiUrl,
        issueRunToken: (runId: string, conversationId: string) => mintRunToken(token, runId, conversationId),
        plugins: plugins.map((p) => p.plugin),
      },
      // Its API: never reached through the egress proxy.
      ownPorts: [port],
      ...(cluster ? { runsHere: (id: string) => !cluster.agentsElsewhere().has(id) } : {}),
    });
    orchestrator = node.orchestrator;
    const worker = orchestrator;
    // The reply delivery protocol (core's outbox/delivery.ts): the supervisor, the server and the expiry timer go through it.
    const delivery = new ReplyDelivery(stores);
    const supervisor = await services.start(channelSupervisorService(life, stores, delivery, getSettings));
    // Created after the server (it submits through the orchestrator); GET /api/status reads it lazily.
    let heartbeatStatus: () => unknown = () => null;
    // With an agent set to a sandbox, every surface shows the self-test's result from the first
    // request on and none of its messages runs before it; without one nothing waits for it (until
    // it ends, GET /api/status says `sandbox: null`, and `agent add` waits for it).
    if (Object.values(settings.agents ?? {}).some((a) => a.sandbox === 'on' || a.sandbox === 'required')) await sandboxCheck;
    // The task flow (docs/git-tasks.md): every transition of a repository-bound task, asked by the API and run here; started after the orchestrator.
    // The forges a binding may name (docs/kinds.md, "Forges"), before the flow reads a binding.
    registerBuiltinForgeKinds();
    const taskFlow = new TaskFlow({ stores, orchestrator: worker, home: ctx.home, env: ctx.env, settings: getSettings, log: logger.child('tasks') });
    await services.start(
      serverService(() =>
        startServer({
          host,
          port,
          stores,
          delivery,
          orchestrator: worker,
          // Steering, approvals, chat rooms, cancel and continue/stop, the conversation views: built on the pipeline.
          orchestratorFacets: orchestratorFacets(worker),
          taskFlow,
          home: ctx.home,
          settingsFile: ctx.paths.settings,
          settings: source,
          token,
          version: VERSION,
          startedAt: Date.now(),
          daemon: {
            restart: async () => requestRestart(),
            channels: channelControl(supervisor),
            heartbeat: () => heartbeatStatus(),
            ...(cluster ? { nodes: cluster.nodes, waitingForNodes: cluster.waitingForNodes, problem: cluster.problem } : {}),
          },
          logFile: join(ctx.paths.logs, DAEMON_LOG),
          officeDir: tinyOfficeExportDir(),
          log: logger.child('api'),
          env: ctx.env,
          allowRemote,
          mcp: lazyMcpHandler(apiUrl, token),
        }),
      ),
    );
    // Stopped before the server closes, so that agents blocked in `tinyagi call` can finish.
    await services.start(orchestratorService(life, stores, worker, cluster));
    // Tasks whose step a stop (or another node) left half done are finished first; stopped before the orchestrator.
    await services.start({ name: 'task flow', start: () => taskFlow.start(), stop: () => taskFlow.stop() });
    // Once per start, off the start's path: the agent CLIs' versions against the verified ranges (docs/agent-clis.md#cli-versions).
    void logCliVersions(settings, ctx.env, logger.child('cli'));
    const heartbeat = await services.start(heartbeatService(life, stores, worker, getSettings));
    heartbeatStatus = () => heartbeat.status();
    await services.start(scheduleService(life, stores, worker));
    await services.start(timerService('retention', () => startRetention(stores, getSettings, logger.child('retention'), { filesDir: ctx.paths.files })));
    await services.start(timerService('outbox expiry', () => startOutboxExpiry(delivery, logger.child('outbox'))));
    // Memory's vectors (docs/memory.md#embeddings): embedded here, off every decision's path; idle while memory.embeddings is unset.
    await services.start(timerService('memory embeddings', () => startEmbeddingSweep(stores, source, ctx.env, logger.child('memory'))));
    await services.start(settingsReactions(life, source, storage, { heartbeat, supervisor }));

    lock.update({ apiUrl, version: VERSION, listenHost: host, remote: !isLoopbackHost(host) });
    writePidFile(ctx.paths.pidFile);
    logger.info(`TinyAGI ${VERSION} listening on ${apiUrl} (home ${ctx.home}, pid ${process.pid})`);

    const outcome = await stopSignal;
    logger.info(outcome === 'restart' ? 'restarting: finishing in-flight work' : 'shutting down: finishing in-flight work');
    return outcome;
  } finally {
    await services.stopAll();
  }
}

/** The enabled channels started, and what a change of settings does while the daemon runs. */
function settingsReactions(life: Life, source: SettingsSource, storage: StorageSelection, parts: { heartbeat: HeartbeatScheduler; supervisor: ChannelSupervisor }): Service {
  let unsubscribe: () => unknown = () => {};
  return {
    name: 'channels',
    start() {
      const { heartbeat, supervisor } = parts;
      supervisor.reconcile(source.get().channels?.enabled ?? []);
      unsubscribe = source.onChange((next, previous) => {
        heartbeat.replan();
        supervisor.reconcile(next.channels?.enabled ?? []);
        const a = effectiveServer(previous);
        const b = effectiveServer(next);
        if (a.host !== b.host || a.port !== b.port) {
          const refused = !life.allowRemote && !isLoopbackHost(b.host) ? ' (a restart will refuse this host: remote access was not enabled at start)' : '';
          life.logger.warn(`server.host/port changed to ${b.host}:${b.port}; run \`tinyagi restart\` to apply it${refused}`);
        }
        if (storageChanged(previous, next)) life.logger.warn(`storage changed; run \`tinyagi restart\` to apply it (the stores stay ${describeStorage(storage)} until then)`);
      });
    },
    stop: () => unsubscribe(),
  };
}

export async function runDaemon(ctx: CliContext): Promise<number> {
  const detached = ctx.env[DETACHED_ENV] === '1';
  ensureHomeDirectories(ctx.paths);
  const logFile = new RotatingLog({ file: join(ctx.paths.logs, DAEMON_LOG) });
  const logger = createLogger({ file: logFile, echo: !detached });
  const fail = (err: unknown): number => {
    const text = errorMessage(err) + (isTinyError(err) && err.hint ? `\n${err.hint}` : '');
    logger.error(text);
    if (!detached) process.stderr.write(`error: ${text}\n`);
    return 1;
  };

  let lock: InstanceLock;
  try {
    lock = await acquireInstanceLock(ctx.paths.lockFile, VERSION);
  } catch (err) {
    const code = fail(err);
    logFile.close();
    return code;
  }

  let signalled = 0;
  let resolveStop: (outcome: Outcome) => void = () => {};
  const onSignal = (signal: NodeJS.Signals): void => {
    signalled += 1;
    if (signalled > 1) {
      logger.warn(`${signal} again: exiting now (in-flight work is recovered on the next start)`);
      process.exit(1);
    }
    logger.info(`${signal} received`);
    resolveStop('stopped');
  };
  const onRejection = (reason: unknown): void => logger.error(`unhandled rejection: ${reason instanceof Error ? (reason.stack ?? reason.message) : String(reason)}`);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('unhandledRejection', onRejection);

  let reexecute: string[] | undefined;
  try {
    for (;;) {
      const stopSignal = new Promise<Outcome>((resolve) => (resolveStop = resolve));
      const outcome = await runOnce(ctx, logger, lock, stopSignal, () => setImmediate(() => resolveStop('restart')));
      if (outcome === 'stopped') {
        logger.info('stopped');
        return 0;
      }
      // A restart loads the code from disk again (an upgrade or a rebuild takes effect): the
      // process replaces its image, keeping its pid; where it cannot, it restarts in place.
      if (canReexecute()) {
        logger.info('restarting: loading the program again');
        // The files on disk now: another bundle has another start-up snapshot (launch.ts).
        reexecute = daemonNodeArgs({ execArgv: process.execArgv, args: runArgs() ?? ['run'], build: true });
        return 0;
      }
      signalled = 0;
    }
  } catch (err) {
    return fail(err);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('unhandledRejection', onRejection);
    removePidFile(ctx.paths.pidFile);
    lock.release();
    logFile.close();
    // Everything above is released first: the new image takes the lock and the log again.
    if (reexecute) process.execve!(process.execPath, [process.execPath, ...reexecute], daemonEnv(process.env));
  }
}

function canReexecute(): boolean {
  return typeof process.execve === 'function' && process.platform !== 'win32';
}

/**
 * `/mcp` (docs/mcp.md): the client tools over streamable HTTP, bound to this daemon's own API
 * (URL and token). The MCP SDK is loaded at the first `/mcp` request, so start-up does not pay for it.
 */
function lazyMcpHandler(apiUrl: string, token: string): McpHttpHandler {
  let handler: Promise<McpHttpHandler> | undefined;
  return async (req, res, body, caller) => {
    handler ??= Promise.all([import('../mcp/http.ts'), import('@tinyagi/client')]).then(([{ mcpHttpHandler }, { createApiClient }]) =>
      mcpHttpHandler(createApiClient({ baseUrl: apiUrl, token, clientName: 'tinyagi /mcp' }), apiUrl),
    );
    return (await handler)(req, res, body, caller);
  };
}
