/** `tinyagi doctor`: each agent CLI's version against the verified range (docs/agent-clis.md#cli-versions). */
import type { Settings } from '@tinyagi/core';
import { cliVersionSpec } from '../core-internal.ts';
import { agentClis, installedAgentClis } from '../daemon/agent-clis.ts';
import { type CliProbe, clisInUse, probeClis } from '../daemon/cli-versions.ts';
import type { Finding } from './finding.ts';

/** Every installed CLI runtime on `path`, and the commands agents name; not-found CLIs are the `cli:` checks' business. */
export async function checkCliVersions(settings: Settings | undefined, path: string | undefined, whose: string): Promise<Finding[]> {
  const probes = new Map<string, CliProbe>();
  for (const p of clisInUse(settings ?? {}, { PATH: path })) probes.set(`${p.runtime}\0${p.command}`, p);
  for (const cli of installedAgentClis({ PATH: path })) {
    if (cliVersionSpec(cli.provider) === undefined) continue;
    const key = `${cli.provider}\0${cli.command}`;
    if (!probes.has(key)) probes.set(key, { runtime: cli.provider, command: cli.command, agents: [] });
  }
  const known = new Set(agentClis().map((c) => c.command));
  const findings: Finding[] = [];
  for (const info of await probeClis([...probes.values()], path)) {
    if (info.status === 'not_found' && known.has(info.command)) continue;
    const used = info.agents.length > 0 ? ` (agents ${info.agents.join(', ')})` : '';
    findings.push({
      check: `version:${info.command}`,
      status: info.status === 'ok' ? 'ok' : info.status === 'not_found' && info.agents.length > 0 ? 'fail' : 'warn',
      message: info.status === 'ok' ? `${info.message}${used}` : `${info.message}${used}${info.status === 'not_found' ? ` (on ${whose})` : ''}`,
      ...(info.hint ? { hint: info.hint } : {}),
      details: { runtime: info.runtime, command: info.command, path: info.path, version: info.version, verified: info.verified, status: info.status },
    });
  }
  return findings;
}
