/**
 * `tinyagi run`: the daemon in the foreground, the API node. It is a node as every node is
 * (node.ts: stores, settings, the sandbox self-test, the orchestrator, the task flow, heartbeats,
 * schedules, retention, memory embeddings) with what only the API node runs: the API server, the
 * channel supervisor with the reply delivery and outbox expiry, and the first-run defaults. Each
 * part is a service that starts and stops itself (./services.ts), started in order by `runOnce`
 * and stopped in reverse.
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
import { errorMessage, isTinyError, type Settings } from '@tinyagi/core';
import { assertListenAllowed, effectiveServer, isLoopbackHost, remoteAllowed, ReplyDelivery, type SettingsSource, type StoreSet } from '../core-internal.ts';
import { tinyOfficeExportDir } from '../office/locate.ts';
import { loadOrCreateApiToken, startServer, type McpHttpHandler, type RunningServer } from '@tinyagi/server';
import { mintChannelToken } from '@tinyagi/server/internal';
import { orchestratorFacets } from '@tinyagi/teams';
import type { CliContext } from '../context.ts';
import { pendingApprovalsByKind } from '../telemetry.ts';
import { VERSION } from '../version.ts';
import { ChannelSupervisor, type ChannelStatus } from './channel-supervisor.ts';
import { ensureFirstRunDefaults, ensureHomeDirectories } from './first-run.ts';
import { acquireInstanceLock, type InstanceLock } from './instance-lock.ts';
import { daemonNodeArgs, runArgs } from './launch.ts';
import { daemonEnv } from './node-flags.ts';
import { createLogger, type Logger } from './logger.ts';
import { loadNodeConfig, type RunningNode, startNode, timerService } from './node.ts';
import { startOutboxExpiry } from './outbox-expiry.ts';
import { removePidFile, writePidFile } from './pid-file.ts';
import { RotatingLog } from './rotating-log.ts';
import { ServiceStack, type Service } from './services.ts';
import { DAEMON_LOG, DETACHED_ENV } from './start.ts';

export { SHUTDOWN_GRACE_MS } from './node.ts';

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

/** A channel's own block of settings.channels (not the shared keys `enabled` and `defaults`). */
function channelBlock(settings: Settings, channel: string): unknown {
  if (channel === 'enabled' || channel === 'defaults') return {};
  const block = (settings.channels as Record<string, unknown> | undefined)?.[channel];
  return block !== null && typeof block === 'object' && !Array.isArray(block) ? block : {};
}

/** The server's view of the supervisor (GET /api/status, /api/channels). */
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

/** What the API node's own services may use. */
interface Life {
  ctx: CliContext;
  logger: Logger;
  /** The opt-in to a host beyond loopback, from the environment the daemon started with. */
  allowRemote: boolean;
  host: string;
  port: number;
  apiUrl: string;
  token: string;
  requestRestart: () => void;
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

/** What the API node serves: the reply delivery, the channel processes and the API (node.ts starts it before the orchestrator takes work). */
async function serveApi(services: ServiceStack, life: Life, node: RunningNode): Promise<{ delivery: ReplyDelivery; supervisor: ChannelSupervisor }> {
  const { ctx, token, apiUrl } = life;
  const { stores, source, orchestrator, cluster } = node;
  // The reply delivery protocol (core's outbox/delivery.ts): the supervisor, the server and the expiry timer go through it.
  const delivery = new ReplyDelivery(stores);
  const supervisor = await services.start(channelSupervisorService(life, stores, delivery, () => source.get()));
  await services.start(
    serverService(() =>
      startServer({
        host: life.host,
        port: life.port,
        stores,
        delivery,
        orchestrator,
        // Steering, approvals, chat rooms, cancel and continue/stop, the conversation views: built on the pipeline.
        orchestratorFacets: orchestratorFacets(orchestrator),
        taskFlow: node.taskFlow,
        workflows: node.workflows,
        home: ctx.home,
        settingsFile: ctx.paths.settings,
        settings: source,
        token,
        version: VERSION,
        startedAt: Date.now(),
        daemon: {
          restart: async () => life.requestRestart(),
          channels: channelControl(supervisor),
          heartbeat: () => node.heartbeatStatus(),
          sandbox: () => node.sandbox.check,
          ...(cluster ? { nodes: cluster.nodes, waitingForNodes: cluster.waitingForNodes, problem: cluster.problem } : {}),
        },
        logFile: join(ctx.paths.logs, DAEMON_LOG),
        officeDir: tinyOfficeExportDir(),
        log: life.logger.child('api'),
        env: ctx.env,
        allowRemote: life.allowRemote,
        mcp: lazyMcpHandler(apiUrl, token),
      }),
    ),
  );
  return { delivery, supervisor };
}

/**
 * One life of the daemon: the node's services (node.ts) with the API's, started in order (each
 * stops itself; a failure to start stops those already started), then, on a signal or a restart,
 * stopped in reverse order.
 */
async function runOnce(ctx: CliContext, logger: Logger, lock: InstanceLock, stopSignal: Promise<Outcome>, requestRestart: () => void): Promise<Outcome> {
  const firstRun = await ensureFirstRunDefaults(ctx.paths, ctx.env);
  for (const notice of firstRun.notices) logger.info(notice);
  const config = loadNodeConfig(ctx);
  const allowRemote = remoteAllowed(ctx.env);
  assertListenAllowed(effectiveServer(config.settings).host, allowRemote);
  const { host, port } = await listenAddress(config.settings);
  const apiUrl = `http://${urlHost(host)}:${port}`;
  const { token } = loadOrCreateApiToken(ctx.home, ctx.env);
  const life: Life = { ctx, logger, allowRemote, host, port, apiUrl, token, requestRestart };
  const services = new ServiceStack(logger);
  try {
    let served: { delivery: ReplyDelivery; supervisor: ChannelSupervisor } | undefined;
    const node = await startNode(services, ctx, logger, config, {
      role: 'api',
      apiUrl,
      token,
      // Its API: never reached through the egress proxy.
      ownPorts: [port],
      metrics: (stores) => ({ queueCounts: () => stores.queue.counts(), approvalsPending: pendingApprovalsByKind(stores.approvals) }),
      onLost: requestRestart,
      serve: async (started) => {
        served = await serveApi(services, life, started);
      },
    });
    const { delivery, supervisor } = served!;
    await services.start(timerService('outbox expiry', () => startOutboxExpiry(delivery, logger.child('outbox'))));
    await services.start(channelReactions(life, node.source, supervisor));

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

/** The enabled channels started, and what a change of settings does to them and to the API's address while the daemon runs. */
function channelReactions(life: Life, source: SettingsSource, supervisor: ChannelSupervisor): Service {
  let unsubscribe: () => unknown = () => {};
  return {
    name: 'channels',
    start() {
      supervisor.reconcile(source.get().channels?.enabled ?? []);
      unsubscribe = source.onChange((next, previous) => {
        supervisor.reconcile(next.channels?.enabled ?? []);
        const a = effectiveServer(previous);
        const b = effectiveServer(next);
        if (a.host !== b.host || a.port !== b.port) {
          const refused = !life.allowRemote && !isLoopbackHost(b.host) ? ' (a restart will refuse this host: remote access was not enabled at start)' : '';
          life.logger.warn(`server.host/port changed to ${b.host}:${b.port}; run \`tinyagi restart\` to apply it${refused}`);
        }
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
