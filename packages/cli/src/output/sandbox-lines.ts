/**
 * The sandbox part of `tinyagi status` (docs/sandbox.md, "A status that tells the truth"): the
 * boundary on the daemon's machine (its self-test), on each node (as it published it), and each
 * agent whose settings name a sandbox as the node that runs it sees it: `enforced`, `degraded
 * (<reason>; <fix>)`, `unknown (<reason>; <fix>)` or `off`, with `on <node>` where there are nodes.
 */
import type { AgentSandboxStatusView, NodeSandbox, SandboxMachine } from '@tinyagi/client/contract';
import { style } from './style.ts';

/** One line for the machine: does the boundary hold here. */
export function sandboxMachineLine(machine: SandboxMachine | null | undefined): string {
  if (!machine) return style.dim('not checked yet (the daemon runs its self-test at start)');
  if (!machine.ok) return style.yellow(`not enforced here: ${machine.reason ?? 'unknown'}; fix: ${machine.fix ?? 'tinyagi doctor'}`);
  const memory = machine.memory.ok ? 'memory capped per agent' : `no memory cap (${machine.memory.reason ?? 'unknown'})`;
  return `${style.green('holds')} (${machine.source === 'self-test' ? `self-test: ${machine.checks.length} checks passed` : 'quick check'}; ${memory})`;
}

/** One node's boundary as it published it (the nodes of `tinyagi status`). */
export function nodeSandboxText(sandbox: NodeSandbox | null | undefined): string {
  if (!sandbox) return style.dim('sandbox not published yet');
  if (!sandbox.ok) return style.yellow(`sandbox not enforced: ${sandbox.reason ?? 'unknown'}`);
  return `sandbox ${style.green('holds')}${sandbox.memory.ok ? '' : style.dim(` (no memory cap: ${sandbox.memory.reason ?? 'unknown'})`)}`;
}

/** `enforced`, `degraded (<reason>; <fix>)`, `unknown (<reason>; <fix>)` or `off`, coloured; `on <node>` and the nodes where it would differ, when there are nodes. */
export function sandboxStateText(status: AgentSandboxStatusView): string {
  const on = status.node !== undefined && status.state !== 'off' ? ` on ${status.node}` : '';
  const elsewhere = (status.elsewhere ?? []).map((e) => style.yellow(` · ${e.state} on ${e.node}${e.reason ? ` (${e.reason})` : ''}`)).join('');
  if (status.state === 'enforced') return `${style.green('enforced')}${on}${status.memoryNote ? style.dim(` (${status.memoryNote})`) : ''}${elsewhere}`;
  if (status.state === 'off') return style.dim('off');
  return `${style.yellow(`${status.state}${on} (${status.reason ?? 'unknown'}; ${status.fix ?? 'tinyagi doctor'})`)}${elsewhere}`;
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
