/**
 * An agent's sandbox as its settings say it (docs/sandbox.md, "Settings"): `on` or `required`
 * give a `SandboxSpec` (with where the TinyAGI home and the workspace root are, the memory cap,
 * and the values that never enter it: withheld.ts), anything else none. The one
 * reading of `agents.<id>.sandbox`: the invoker's target (resolve-target.ts) and a task's
 * confined commands (task-commands.ts) both use it.
 */
import { ownEntry } from '../config/object-path.ts';
import { resolveTinyHome, workspaceRoot, type Env } from '../config/paths.ts';
import type { Settings } from '../config/schema.ts';
import { DEFAULT_SANDBOX_MEMORY_MB, type SandboxSpec } from '@tinyagi/sandbox';
import { type ConfigSecrets, withheldSecrets } from './withheld.ts';

/** `configs`: what the user's CLI configs hold (the invoker reads them for its runs: invoker/cli-config-secrets.ts). */
export function sandboxSpecOf(settings: Settings, agentId: string, env: Env = process.env, configs?: ConfigSecrets): SandboxSpec | undefined {
  const mode = ownEntry(settings.agents, agentId)?.sandbox;
  if (mode !== 'on' && mode !== 'required') return undefined;
  return {
    mode,
    tinyHome: resolveTinyHome(env),
    workspaceRoot: workspaceRoot(settings, env),
    memoryMb: settings.sandbox?.memory_mb ?? DEFAULT_SANDBOX_MEMORY_MB,
    withheld: withheldSecrets(settings, agentId, env, configs),
  };
}
