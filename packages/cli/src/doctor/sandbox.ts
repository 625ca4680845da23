/**
 * doctor's sandbox checks (docs/sandbox.md): the boundary's self-test run here, with the daemon's
 * environment (its PATH finds bwrap), and each agent whose settings name a sandbox. When user
 * namespaces are blocked the hint names the setting to change (the sysctl, AppArmor's
 * restriction, the container's). It lists every unconfined agent a sandboxed one can reach (a
 * call or handoff: `may_call`, its teammates when absent; teams' `mayCall` decides): such a callee
 * runs confined when called (docs/sandbox.md, "Calls between agents"), and alone it does not.
 * An agent placed on another node (PostgreSQL) is judged by that node's boundary, as the running
 * daemon reports it (its node's published check), never by this machine's self-test.
 */
import type { Settings } from '@tinyagi/core';
import { mayCall } from '@tinyagi/teams/internal';
import { daemonSecrets, joinTools, runSelfTest, sandboxStatusOf, workspaceRoot } from '../core-internal.ts';
import type { Env } from '../core-internal.ts';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CliContext } from '../context.ts';
import { findDaemon } from '../daemon/connection.ts';
import { nodeName } from '../daemon/node-name.ts';
import { DATABASE_URL_ENV } from '../daemon/storage-selection.ts';
import { agentDefaultsFindings } from './agent-defaults.ts';
import type { Finding } from './finding.ts';

export async function checkSandbox(ctx: CliContext, settings: Settings | undefined, env: Env): Promise<Finding[]> {
  // No home yet (a fresh machine): the self-test plants its files in a temp folder instead of creating the home.
  if (!existsSync(ctx.home)) {
    const home = mkdtempSync(join(tmpdir(), 'tinyagi-doctor-'));
    try {
      return await checkSandbox({ ...ctx, home }, settings, env);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  }
  const current = settings ?? {};
  const agents = Object.keys(current.agents ?? {}).filter((id) => (current.agents?.[id]?.sandbox ?? 'off') !== 'off');
  const check = await runSelfTest({
    tinyHome: ctx.home,
    workspaceRoot: workspaceRoot(current, env),
    env: env as NodeJS.ProcessEnv,
    secrets: daemonSecrets(current, env),
    ...(current.sandbox?.memory_mb !== undefined ? { memoryMb: current.sandbox.memory_mb } : {}),
  });
  const findings: Finding[] = [];
  if (check.ok) {
    const memory = check.memory.ok ? 'memory capped per agent' : `no memory cap: ${check.memory.reason}`;
    findings.push({
      check: 'sandbox',
      status: 'ok',
      message: `the boundary holds here (bubblewrap ${check.bwrap}; self-test: ${check.checks.length} checks passed; ${memory})`,
      details: { checks: check.checks },
    });
  } else {
    findings.push({
      check: 'sandbox',
      status: agents.length > 0 ? 'warn' : 'info',
      message: `the boundary is not enforced here: ${check.problem?.reason ?? 'unknown'}${agents.length > 0 ? ` (agents set to a sandbox: ${agents.join(', ')})` : ''}`,
      hint: check.problem?.fix,
      details: { checks: check.checks },
    });
  }
  if (check.ok) findings.push(networkFinding(env));
  findings.push(
    ...reachFindings(current),
    ...agentDefaultsFindings(current, { boundary: { ok: check.ok, reason: check.problem?.reason }, env }, new Set(unconfinedReach(current).flatMap((r) => r.to))),
  );
  const elsewhere = placedElsewhere(current, env);
  for (const id of agents) {
    const node = elsewhere.get(id);
    if (node !== undefined) {
      findings.push(await otherNodeFinding(ctx, id, node));
      continue;
    }
    const status = sandboxStatusOf(current, id, check);
    if (status.state === 'enforced') findings.push({ check: `sandbox:${id}`, status: 'ok', message: `sandbox ${status.setting}: enforced${status.memoryNote ? ` (${status.memoryNote})` : ''}` });
    else findings.push({ check: `sandbox:${id}`, status: status.refused ? 'fail' : 'warn', message: `sandbox ${status.setting}: degraded (${status.reason})`, hint: status.fix });
  }
  return findings;
}

/** On PostgreSQL, the agents placed on a node other than this home's, with that node's name. */
function placedElsewhere(settings: Settings, env: Env): Map<string, string> {
  if (!env[DATABASE_URL_ENV] && !settings.storage?.url) return new Map();
  const here = nodeName(settings, env);
  return new Map(Object.entries(settings.agents ?? {}).flatMap(([id, agent]) => (agent.node !== undefined && agent.node !== here ? [[id, agent.node] as const] : [])));
}

/** An agent on another node: its status as the running daemon reports it from that node's published check. */
async function otherNodeFinding(ctx: CliContext, id: string, node: string): Promise<Finding> {
  const check = `sandbox:${id}`;
  const status = await findDaemon(ctx, 'tinyagi doctor')
    ?.client.getAgent({ params: { id }, signal: AbortSignal.timeout(3000) })
    .then((a) => a.sandboxStatus)
    .catch(() => undefined);
  if (status === undefined) {
    return {
      check,
      status: 'info',
      message: `runs on node ${node}: this machine's self-test does not speak for its boundary`,
      hint: `Run \`tinyagi doctor\` on node ${node}'s machine, or ask the running daemon (\`tinyagi status\`).`,
    };
  }
  if (status.state === 'enforced') return { check, status: 'ok', message: `sandbox ${status.setting}: enforced on node ${node}${status.memoryNote ? ` (${status.memoryNote})` : ''}` };
  return { check, status: status.refused ? 'fail' : 'warn', message: `sandbox ${status.setting}: ${status.state} on node ${node} (${status.reason})`, ...(status.fix ? { hint: status.fix } : {}) };
}

/** How a sandboxed start gets its network: entering the agent's (bubblewrap's cost alone), or a bridge of its own per start. */
export function networkFinding(env: Env): Finding {
  if (env.TINYAGI_SANDBOX_SHARED_NET === '0') {
    return { check: 'sandbox:network', status: 'info', message: 'each sandboxed start bridges a network of its own (TINYAGI_SANDBOX_SHARED_NET=0): about 40 ms more per start' };
  }
  if (joinTools() === undefined) {
    return {
      check: 'sandbox:network',
      status: 'warn',
      message: 'each sandboxed start bridges a network of its own (about 40 ms more per start): nsenter, or an env that takes --default-signal, is not on this machine',
      hint: 'install util-linux (nsenter) and coreutils 8.31 or later, then restart the daemon',
    };
  }
  return { check: 'sandbox:network', status: 'ok', message: "sandboxed starts enter their agent's network: a start costs bubblewrap's setup alone" };
}

/** Each sandboxed agent and the unconfined agents it may call or hand work to (`may_call`; absent, its teammates). */
export function unconfinedReach(settings: Settings): { from: string; to: string[] }[] {
  const ids = Object.keys(settings.agents ?? {});
  const sandboxed = (id: string): boolean => (settings.agents?.[id]?.sandbox ?? 'off') !== 'off';
  return ids
    .filter(sandboxed)
    .map((from) => ({ from, to: ids.filter((id) => id !== from && !sandboxed(id) && mayCall(settings, from, id)) }))
    .filter((r) => r.to.length > 0);
}

/** The `sandbox:reach` finding: every unconfined agent a sandboxed one can reach, or that there is none. */
export function reachFindings(settings: Settings): Finding[] {
  const reach = unconfinedReach(settings);
  if (reach.length === 0) return [];
  const unconfined = [...new Set(reach.flatMap((r) => r.to))];
  return [
    {
      check: 'sandbox:reach',
      status: 'warn',
      message: `unconfined agent${unconfined.length === 1 ? '' : 's'} reachable from a sandboxed one: ${reach.map((r) => `${r.from} → ${r.to.join(', ')}`).join('; ')} (called from there ${unconfined.length === 1 ? 'it runs' : 'they run'} confined, and ${unconfined.length === 1 ? 'its workspace stays' : 'their workspaces stay'} held, confining later runs too, until you release ${unconfined.length === 1 ? 'it' : 'them'})`,
      hint: `Set ${unconfined.map((id) => `agents.${id}.sandbox`).join(', ')} to "on" (${unconfined.map((id) => `\`tinyagi agent sandbox ${id} on\``).join(', ')}; new CLI agents are made so), or list whom each sandboxed agent may call in agents.<id>.may_call (docs/sandbox.md, "Calls between agents").`,
      details: { reach },
    },
  ];
}
