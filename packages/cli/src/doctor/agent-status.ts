/** A doctor check's reading of every agent's resolved target (its runtime, provider and environment), skipping those that do not resolve. */
import type { Settings } from '@tinyagi/core';
import { resolveInvokeTarget } from '../core-internal.ts';

type Target = ReturnType<typeof resolveInvokeTarget>;

/** `read` of each agent's target, for the agents it says something of; an agent whose provider cannot be resolved is reported by the settings checks. */
export function agentStatuses<S>(
  settings: Settings,
  env: NodeJS.ProcessEnv,
  read: (target: Target, env: NodeJS.ProcessEnv) => S | undefined,
  ids = Object.keys(settings.agents ?? {}),
): Array<{ id: string; status: S }> {
  return ids.flatMap((id) => {
    let status: S | undefined;
    try {
      status = read(resolveInvokeTarget(settings, id, env), env);
    } catch {
      return [];
    }
    return status === undefined ? [] : [{ id, status }];
  });
}
