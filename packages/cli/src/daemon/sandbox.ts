/**
 * The boundary's self-test at every node's start (docs/sandbox.md, "A status that tells the
 * truth"): core's runSelfTest runs a probe inside the boundary, on the node's sandbox host, as an
 * agent's CLI would; its result is recorded on that host (`recordCheck`) for every sandboxed spawn
 * of this node and for the status every surface shows
 * (`tinyagi status`, doctor, GET /api/agents, TinyOffice), and on PostgreSQL published in the
 * node's registry row for the other nodes (cluster.ts). It runs beside the start's next steps
 * (plugins, the agent node); when an agent is set to a sandbox the API and the orchestrator start
 * once it has ended, so no surface and no such agent runs on a guess (node.ts; without one, the
 * start does not wait: ~130 ms).
 */
import { errorMessage, type Settings } from '@tinyagi/core';
import { daemonSecrets, runSelfTest, type SandboxHost, sandboxStatusOf, type MachineCheck } from '../core-internal.ts';
import { workspaceRoot } from '../core-internal.ts';
import type { Logger } from './logger.ts';

export interface SandboxSelfTestOptions {
  /** The node's sandbox host: the probe starts on it and its result is recorded there. */
  host: SandboxHost;
  home: string;
  settings: Settings;
  env: NodeJS.ProcessEnv;
  /** The API token (a worker's TINYAGI_API_TOKEN, when set): never to be found inside. */
  token: string | undefined;
  logger: Logger;
}

export function startSandboxSelfTest(opts: SandboxSelfTestOptions): Promise<MachineCheck> {
  const started = Date.now();
  return runSelfTest({
    host: opts.host,
    tinyHome: opts.home,
    workspaceRoot: workspaceRoot(opts.settings, opts.env),
    env: opts.env,
    secrets: daemonSecrets(opts.settings, opts.env, opts.token ? [opts.token] : []),
    ...(opts.settings.sandbox?.memory_mb !== undefined ? { memoryMb: opts.settings.sandbox.memory_mb } : {}),
  })
    .catch(
      (err: unknown): MachineCheck => ({
        ok: false,
        problem: { reason: `the self-test failed: ${errorMessage(err)}`, fix: "check the node's log (logs/daemon.log, or logs/worker.log of a worker); run `tinyagi doctor`" },
        memory: { ok: false, reason: 'not checked' },
        checks: [],
        source: 'self-test',
        checkedAt: Date.now(),
      }),
    )
    .then((check) => {
      opts.host.recordCheck(check);
      const sandboxed = Object.keys(opts.settings.agents ?? {}).filter((id) => sandboxStatusOf(opts.settings, id, check).state !== 'off');
      const took = `${Date.now() - started} ms`;
      if (check.ok) {
        const memory = check.memory.ok ? 'memory capped per agent' : `no memory cap (${check.memory.reason})`;
        opts.logger.info(`sandbox: the boundary holds (self-test ${took}: ${check.checks.length} checks; ${memory}); sandboxed agents: ${sandboxed.join(', ') || 'none'}`);
      } else {
        const say = sandboxed.length > 0 ? opts.logger.warn.bind(opts.logger) : opts.logger.info.bind(opts.logger);
        say(`sandbox: the boundary is not enforced here: ${check.problem?.reason}; fix: ${check.problem?.fix}${sandboxed.length > 0 ? ` (agents set to sandbox: ${sandboxed.join(', ')})` : ''}`);
      }
      return check;
    });
}
