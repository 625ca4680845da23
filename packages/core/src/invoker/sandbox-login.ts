/**
 * What a sandboxed CLI agent will log in with INSIDE the boundary (docs/sandbox.md#your-own-cli-login-and-setup),
 * for `tinyagi doctor` and `tinyagi agent add`: inside, the CLI has a private home without the
 * user's login files; what reaches the model is what the model proxy carries for it (a key, a
 * token, the user's own Codex provider: through-model-proxy.ts and the runtimes' modelProxy
 * routes). Judged from the agent's resolved target and the daemon's environment, never from the
 * user's file alone.
 */
import { boundaryEnforced, type MachineCheck } from '@tinyagi/sandbox';
import { baseChildEnv } from './child-env.ts';
import type { RuntimeEnv, SandboxLoginStatus } from './runtime.ts';
import { findRuntime } from './runtimes/index.ts';
import type { InvokeTarget } from './types.ts';

export type { SandboxLoginStatus };

/**
 * For an agent whose CLI runs inside the boundary on a machine so checked (`machine`): what it
 * will log in with there (its runtime's `sandboxLogin`). Undefined when that is not a question
 * (unconfined, a runtime with no CLI login, a TinyAGI provider, a cloud provider).
 */
export function sandboxLoginStatus(target: InvokeTarget, daemonEnv: RuntimeEnv, machine: MachineCheck, now = Date.now()): SandboxLoginStatus | undefined {
  if (!boundaryEnforced(target.sandbox, machine)) return undefined;
  return findRuntime(target.runtime)?.impl.sandboxLogin?.(target, { ...baseChildEnv(daemonEnv), ...target.env }, now);
}
