/**
 * `tinyagi doctor`: per sandboxed CLI agent, what its CLI will log in with INSIDE the boundary
 * (core's sandboxLoginStatus, docs/sandbox.md#your-own-cli-login-and-setup): the login or key the
 * model proxy carries for it, or why it has none there and the one command that fixes it.
 */
import type { Settings } from '@tinyagi/core';
import { resolveInvokeTarget, sandboxLoginStatus } from '@tinyagi/core/internal';
import type { Finding } from './finding.ts';

export function checkSandboxLogins(settings: Settings | undefined, env: NodeJS.ProcessEnv): Finding[] {
  if (!settings) return [];
  const findings: Finding[] = [];
  for (const id of Object.keys(settings.agents ?? {})) {
    let status: ReturnType<typeof sandboxLoginStatus>;
    try {
      status = sandboxLoginStatus(resolveInvokeTarget(settings, id, env), env);
    } catch {
      continue; // an agent whose provider cannot be resolved is reported by the settings checks
    }
    if (status === undefined) continue;
    findings.push({ check: `sandbox-login:${id}`, status: status.status, message: `Agent "${id}": ${status.message}`, ...(status.fix ? { hint: `To fix: ${status.fix}.` } : {}) });
  }
  return findings;
}

/**
 * For `tinyagi agent add` (and any surface that makes an agent): the line to print when the new
 * agent's CLI will have no login it can use inside the sandbox, with the one command that fixes
 * it; undefined when it will (or is not sandboxed here).
 */
export function sandboxLoginHint(settings: Settings, agentId: string, env: NodeJS.ProcessEnv): string | undefined {
  let status: ReturnType<typeof sandboxLoginStatus>;
  try {
    status = sandboxLoginStatus(resolveInvokeTarget(settings, agentId, env), env);
  } catch {
    return undefined;
  }
  if (status === undefined || status.status === 'ok') return undefined;
  return `Sandboxed: ${status.message}. To fix: ${status.fix ?? 'see docs/sandbox.md#your-own-cli-login-and-setup'}.`;
}
