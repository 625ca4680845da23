/**
 * `tinyagi worker`: a worker node (docs/postgresql.md#several-nodes). It is a node as the daemon
 * is (node.ts: the same configuration, the same services: the orchestrator, the task flow, the
 * sandbox self-test, heartbeats of its agents, schedules, retention, memory embeddings), without
 * the API and the channels. It joins the PostgreSQL database the API node uses and runs the
 * agents placed on it (an agent's `node`) or on no node, in its own TINYAGI_HOME and workspaces.
 *
 * Contract:
 * - Needs PostgreSQL (`storage.url` in this home's settings.json or TINYAGI_DATABASE_URL); on
 *   SQLite it refuses to start (a worker has nothing to share work through). Its home needs no
 *   settings.json: the environment alone starts it, as docs/postgresql.md shows.
 * - One node per home (the home's instance lock); its name is `--name`, TINYAGI_NODE_NAME,
 *   `node.name` of its settings.json or the host name, unique among live nodes.
 * - Settings come from the database (shared, live); this home's settings.json gives only the
 *   local keys (storage, node, workspace), the environment overrides apply on top.
 * - Agents on a worker reach the API (`tinyagi call`) at TINYAGI_API_URL with run tokens minted
 *   from the API node's token (TINYAGI_API_TOKEN, the same secret the API node uses).
 * - SIGINT/SIGTERM: finish or release in-flight runs (SHUTDOWN_GRACE_MS), mark the node stopped,
 *   exit 0. SIGKILL: its leases are ended by the other nodes once its heartbeat is stale.
 */
import { join } from 'node:path';
import { errorMessage, isTinyError, TinyError } from '@tinyagi/core';
import type { CliContext } from '../context.ts';
import { VERSION } from '../version.ts';
import { ensureHomeDirectories } from './first-run.ts';
import { acquireInstanceLock } from './instance-lock.ts';
import { createLogger } from './logger.ts';
import { loadNodeConfig, startNode } from './node.ts';
import { RotatingLog } from './rotating-log.ts';
import { resource, ServiceStack } from './services.ts';

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
    const config = loadNodeConfig(ctx);
    if (config.storage.backend !== 'postgres') {
      throw new TinyError('CONFIG_INVALID', 'tinyagi worker needs a shared PostgreSQL database: set TINYAGI_DATABASE_URL (or storage.url in settings.json) to the one the API node uses.', {
        hint: 'See docs/postgresql.md#running-a-worker.',
      });
    }
    const apiUrl = ctx.env['TINYAGI_API_URL'] ?? '';
    const token = ctx.env['TINYAGI_API_TOKEN'];
    if (!apiUrl || !token) logger.warn('TINYAGI_API_URL / TINYAGI_API_TOKEN are not set: agents on this node cannot use `tinyagi call` (hand-offs by [@agent: …] tags still work)');
    const { cluster } = await startNode(services, ctx, logger, config, {
      role: 'worker',
      ...(options.name ? { name: options.name } : {}),
      apiUrl,
      token: token || undefined,
      ownPorts: [],
      onLost: () => {
        logger.error('stopping: another node runs under this name now');
        stop(1);
      },
    });
    logger.info(`TinyAGI ${VERSION} worker "${cluster!.node.name}" running agents: ${[...cluster!.agents()].join(', ') || '(none yet)'} (home ${ctx.home}, pid ${process.pid})`);
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
