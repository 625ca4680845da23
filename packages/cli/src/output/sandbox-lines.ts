/**
 * The sandbox part of `tinyagi status` (docs/sandbox.md, "A status that tells the truth"): the
 * boundary on this machine (the daemon's self-test) and each agent whose settings name a sandbox,
 * `enforced`, `degraded (<reason>; <fix>)` or `off`.
 */
import type { AgentSandboxStatusView, SandboxMachine } from '@tinyagi/client/contract';
import { style } from './style.ts';

/** One line for the machine: does the boundary hold here. */
export function sandboxMachineLine(machine: SandboxMachine | null | undefined): string {
  if (!machine) return style.dim('not checked yet (the daemon runs its self-test at start)');
  if (!machine.ok) return style.yellow(`not enforced here: ${machine.reason ?? 'unknown'}; fix: ${machine.fix ?? 'tinyagi doctor'}`);
  const memory = machine.memory.ok ? 'memory capped per agent' : `no memory cap (${machine.memory.reason ?? 'unknown'})`;
  return `${style.green('holds')} (${machine.source === 'self-test' ? `self-test: ${machine.checks.length} checks passed` : 'quick check'}; ${memory})`;
}

/** `enforced`, `degraded (<reason>; <fix>)` or `off`, coloured. */
export function sandboxStateText(status: AgentSandboxStatusView): string {
  if (status.state === 'enforced') return `${style.green('enforced')}${status.memoryNote ? style.dim(` (${status.memoryNote})`) : ''}`;
  if (status.state === 'off') return style.dim('off');
  return style.yellow(`degraded (${status.reason ?? 'unknown'}; ${status.fix ?? 'tinyagi doctor'})`);
}

/** Whether `tinyagi status` lists the agent: its settings name a sandbox (`on`, `required`), or its workspace is held. */
export function listsSandbox(status: AgentSandboxStatusView | undefined): status is AgentSandboxStatusView {
  return status !== undefined && (status.setting !== 'off' || status.held !== undefined);
}

/** One line per agent whose settings name a sandbox or whose workspace is held (docs/sandbox.md, "What a confined run leaves behind"). */
export function sandboxAgentLines(agents: ReadonlyArray<{ id: string; sandboxStatus?: AgentSandboxStatusView | undefined }>): string[] {
  const named = agents.filter((a) => listsSandbox(a.sandboxStatus));
  const width = Math.max(0, ...named.map((a) => a.id.length));
  return named.map((a) => {
    const held = a.sandboxStatus!.held ? style.yellow(` · workspace held (\`tinyagi agent sandbox ${a.id}\` says why)`) : '';
    return `${a.id.padEnd(width)}  ${a.sandboxStatus!.setting.padEnd(8)}  ${sandboxStateText(a.sandboxStatus!)}${held}`;
  });
}
