/**
 * `tinyagi doctor`: per sandboxed CLI agent, what its CLI will log in with INSIDE the boundary
 * (core's sandboxLoginStatus, docs/sandbox.md#your-own-cli-login-and-setup): the login or key the
 * model proxy carries for it, or why it has none there and the one command that fixes it. Run as
 * a command, without a node: whether an agent runs inside is a quick check of this machine.
 */
import type { Settings } from '@tinyagi/core';
import { quickCheck, sandboxLoginStatus } from '../core-internal.ts';
import { agentStatuses } from './agent-status.ts';
import type { Finding } from './finding.ts';

export function checkSandboxLogins(settings: Settings | undefined, env: NodeJS.ProcessEnv): Finding[] {
  if (!settings) return [];
  return loginStatuses(settings, env).map(({ id, status }) => ({
    check: `sandbox-login:${id}`,
    status: status.status,
    message: `Agent "${id}": ${status.message}`,
    ...(status.fix ? { hint: `To fix: ${status.fix}.` } : {}),
  }));
}

/**
 * For `tinyagi agent add` (and any surface that makes an agent): the line to print when the new
 * agent's CLI will have no login it can use inside the sandbox, with the one command that fixes
 * it; undefined when it will (or is not sandboxed here).
 */
export function sandboxLoginHint(settings: Settings, agentId: string, env: NodeJS.ProcessEnv): string | undefined {
  const status = loginStatuses(settings, env, [agentId])[0]?.status;
  if (status === undefined || status.status === 'ok') return undefined;
  return `Sandboxed: ${status.message}. To fix: ${status.fix ?? 'see docs/sandbox.md#your-own-cli-login-and-setup'}.`;
}

/** The agents' logins inside, on this machine as a quick check finds it. */
function loginStatuses(settings: Settings, env: NodeJS.ProcessEnv, ids?: string[]) {
  const machine = quickCheck(env);
  return agentStatuses(settings, env, (target, daemonEnv) => sandboxLoginStatus(target, daemonEnv, machine), ids);
}
