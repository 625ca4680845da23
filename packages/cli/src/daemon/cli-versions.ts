/**
 * The agent CLIs' versions against the ranges TinyAGI was verified with (core's cli-version.ts;
 * docs/agent-clis.md#cli-versions): asked by the daemon once at start (a warning in its log
 * for a CLI out of range) and by `tinyagi doctor` (a finding with what to do).
 */
import { runtimeKinds, type Settings } from '@tinyagi/core';
import { type CliVersionInfo, cliVersion, cliVersionSpec, type Env, ownEntry, resolveInvokeTarget } from '../core-internal.ts';
import type { Logger } from './logger.ts';

export interface CliProbe {
  runtime: string;
  command: string;
  /** The agents that start it (empty: installed, used by no agent). */
  agents: string[];
}

/** The (runtime, command) pairs the agents of `settings` start: their runtime's CLI, or the `command` a target names. */
export function clisInUse(settings: Settings, env: Env, only?: ReadonlySet<string>): CliProbe[] {
  const byKey = new Map<string, CliProbe>();
  for (const agentId of Object.keys(settings.agents ?? {})) {
    if (!ownEntry(settings.agents, agentId) || (only !== undefined && !only.has(agentId))) continue;
    let runtime: string;
    let command: string | undefined;
    try {
      const target = resolveInvokeTarget(settings, agentId, env);
      runtime = target.runtime;
      command = target.command ?? runtimeKinds.get(runtime)?.command ?? undefined;
    } catch {
      continue; // an agent that cannot be resolved is reported by its own check
    }
    if (command === undefined || cliVersionSpec(runtime) === undefined) continue;
    const key = `${runtime}\0${command}`;
    const probe = byKey.get(key) ?? { runtime, command, agents: [] };
    probe.agents.push(agentId);
    byKey.set(key, probe);
  }
  return [...byKey.values()];
}

/** Asks each CLI its version (in parallel; each probe has its own timeout). */
export function probeClis(probes: readonly CliProbe[], path: string | undefined): Promise<Array<CliVersionInfo & { agents: string[] }>> {
  return Promise.all(probes.map(async (p) => ({ ...(await cliVersion(p.runtime, p.command, { path })), agents: p.agents })));
}

/** The daemon's start (a worker node's: `only` its agents): one line per CLI its agents use; a warning for each out of range. Never throws. */
export async function logCliVersions(settings: Settings, env: Env, logger: Logger, only?: ReadonlySet<string>): Promise<void> {
  try {
    for (const info of await probeClis(clisInUse(settings, env, only), env['PATH'])) {
      const who = `agents ${info.agents.join(', ')}`;
      if (info.status === 'ok') logger.info(`${info.message}; used by ${who}`);
      else logger.warn(`${info.message} Used by ${who}.${info.hint ? ` ${info.hint}` : ''}`);
    }
  } catch (err) {
    logger.warn(`could not check the agent CLIs' versions: ${err instanceof Error ? err.message : String(err)}`);
  }
}
