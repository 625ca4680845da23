/**
 * `tinyagi worker`: a worker node (docs/postgresql.md#several-nodes). It joins the PostgreSQL
 * database the API node uses and runs the agents placed on it (an agent's `node`) or on no node,
 * in its own TINYAGI_HOME and workspaces, and drives the steps of repository-bound tasks as the
 * API node does (the task flow). It serves no API and runs no channels, schedules or heartbeats:
 * those belong to the API node.
 *
 * Contract:
 * - Needs PostgreSQL (`storage.url` in this home's settings.json or TINYAGI_DATABASE_URL); on
 *   SQLite it refuses to start (a worker has nothing to share work through).
 * - One node per home (the home's instance lock); its name is `--name`, TINYAGI_NODE_NAME,
 *   `node.name` of its settings.json or the host name, unique among live nodes.
 * - Settings come from the database (shared, live); this home's settings.json gives only the
 *   local keys (storage, node, workspace).
 * - Agents on a worker reach the API (`tinyagi call`) at TINYAGI_API_URL with run tokens minted
 *   from the API node's token (TINYAGI_API_TOKEN, the same secret the API node uses).
 * - SIGINT/SIGTERM: finish or release in-flight runs (SHUTDOWN_GRACE_MS), mark the node stopped,
 *   exit 0. SIGKILL: its leases are ended by the other nodes once its heartbeat is stale.
 */
import { logCliVersions } from './cli-versions.ts';
import { join } from 'node:path';
import { errorMessage, isTinyError, loadSettings, TinyError } from '@tinyagi/core';
import { reapOrphanedGroups, setProcessJournal } from '../core-internal.ts';
import type { PgStores } from '@tinyagi/core/pg';
import { mintRunToken, registerBuiltinForgeKinds } from '@tinyagi/server/internal';
import { TaskFlow } from '@tinyagi/teams';
import type { CliContext } from '../context.ts';
import { VERSION } from '../version.ts';
import { startAgentNode } from './agent-node.ts';
import { joinCluster } from './cluster.ts';
import { ensureHomeDirectories } from './first-run.ts';
import { agentGroupsJournal } from './process-check.ts';
import { acquireInstanceLock } from './instance-lock.ts';
import { createLogger } from './logger.ts';
import { RotatingLog } from './rotating-log.ts';
import { SHUTDOWN_GRACE_MS } from './run.ts';
import { resource, ServiceStack } from './services.ts';
import { describeStorage, openSelectedStores, selectStorage } from './storage.ts';

export const WORKER_LOG = 'worker.log';

export interface WorkerOptions {
  name?: string;
}

export async function runWorker(ctx: CliContext, options: WorkerOptions = {}): Promise<number> {
  ensureHomeDirectories(ctx.paths);
  const logFile = new RotatingLog({ file: join(ctx.paths.logs, WORKER_LOG) });
  const logger = createLogger({ file: logFile, echo: true }, 'worker');
  const services = new ServiceStack(logger);
  let stop: (code: number) => void = () => {};
  const stopped = new Promise<number>((resolve) => (stop = resolve));
  let signalled = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (++signalled > 1) process.exit(1);
    logger.info(`${signal} received: finishing in-flight work`);
    stop(0);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await services.start(
      resource(
        'instance lock',
        () => acquireInstanceLock(ctx.paths.lockFile, VERSION),
        (lock) => lock.release(),
      ),
    );
    const local = loadSettings(ctx.paths.settings).settings;
    const storage = selectStorage(local, ctx.env, ctx.paths.db);
    if (storage.backend !== 'postgres') {
      throw new TinyError('CONFIG_INVALID', 'tinyagi worker needs a shared PostgreSQL database: set storage.url in settings.json or TINYAGI_DATABASE_URL to the one the API node uses.', {
        hint: 'See docs/postgresql.md#several-nodes.',
      });
    }
    const groupsJournal = agentGroupsJournal(ctx.home);
    reapOrphanedGroups(groupsJournal);
    setProcessJournal(groupsJournal);
    const stores = await services.start(
      resource(
        'stores',
        async () => (await openSelectedStores(storage, { maxAttempts: local.queue?.max_attempts })) as PgStores,
        (s) => s.close(),
      ),
    );
    logger.info(`stores: ${describeStorage(storage)}`);
    // The orchestrator is made after joining; the dead-node sweep reaches it through this.
    let orchestratorRef: { reconcile(): Promise<number> } | undefined;
    const cluster = await services.start(
      resource(
        'cluster membership',
        () =>
          joinCluster(stores, {
            role: 'worker',
            file: ctx.paths.settings,
            env: ctx.env,
            version: VERSION,
            logger,
            ...(options.name ? { name: options.name } : {}),
            onReleased: () => orchestratorRef?.reconcile() ?? Promise.resolve(),
            onLost: () => {
              logger.error('this node was taken over by another node of the same name: stopping');
              stop(1);
            },
          }),
        (membership) => membership.leave(),
      ),
    );
    const apiUrl = ctx.env['TINYAGI_API_URL'] ?? '';
    const token = ctx.env['TINYAGI_API_TOKEN'];
    if (!apiUrl || !token) logger.warn('TINYAGI_API_URL / TINYAGI_API_TOKEN are not set: agents on this node cannot use `tinyagi call` (hand-offs by [@agent: …] tags still work)');
    // What every node runs agents with, as in the daemon (agent-node.ts): this node's spans join the conversations' traces.
    const { orchestrator } = await startAgentNode({
      services,
      home: ctx.home,
      env: ctx.env,
      stores,
      source: cluster.settings,
      logger,
      orchestrator: {
        owner: cluster.node.leaseOwner(),
        agents: () => cluster.agents(),
        node: cluster.node.name,
        apiUrl,
        issueRunToken: (runId: string, conversationId: string) => (token ? mintRunToken(token, runId, conversationId) : ''),
        plugins: [],
      },
      ownPorts: [],
      runsHere: (id) => cluster.agents().has(id),
    });
    orchestratorRef = orchestrator;
    await services.start({
      name: 'orchestrator',
      async start() {
        const released = await cluster.releaseDeadNodes();
        if (released > 0) logger.warn(`resuming ${released} message(s) of nodes that stopped beating`);
        await orchestrator.start();
      },
      stop: () => orchestrator.stop(SHUTDOWN_GRACE_MS),
    });
    // The task flow (docs/git-tasks.md), as in the daemon: this node drives the steps of tasks whose repository it can reach
    // (the Checking an agent's done started on a node that died, a merge, the forge's poll), each under the task's hold.
    // The forges a binding may name (docs/kinds.md, "Forges"), before the flow reads a binding.
    registerBuiltinForgeKinds();
    const taskFlow = new TaskFlow({ stores, orchestrator, home: ctx.home, env: ctx.env, settings: () => cluster.settings.get(), log: logger.child('tasks') });
    await services.start({ name: 'task flow', start: () => taskFlow.start(), stop: () => taskFlow.stop() });
    // Once per start: the versions of the agent CLIs this node's agents use (docs/agent-clis.md#cli-versions).
    void logCliVersions(cluster.settings.get(), ctx.env, logger.child('cli'), cluster.agents());
    logger.info(`TinyAGI ${VERSION} worker "${cluster.node.name}" running agents: ${[...cluster.agents()].join(', ') || '(none yet)'} (home ${ctx.home}, pid ${process.pid})`);
    return await stopped;
  } catch (err) {
    const text = errorMessage(err) + (isTinyError(err) && err.hint ? `\n${err.hint}` : '');
    // Once on the terminal (stderr), and in the log file.
    createLogger({ file: logFile }, 'worker').error(text);
    process.stderr.write(`error: ${text}\n`);
    return 1;
  } finally {
    await services.stopAll();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    logFile.close();
  }
}
