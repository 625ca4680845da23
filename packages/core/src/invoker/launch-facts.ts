/**
 * What a launch plan (launch-plan.ts) needs read from the node that runs it, read here so the plan
 * stays pure: the hold on the run's folder (sandbox/held-folders.ts), what the user's CLI configs
 * hold (withheld from the sandbox: cli-config-secrets.ts) and whether this node enforces the
 * boundary: its sandbox host's machine check, the one its starts follow; without a host (a
 * caller without a node, a test) a quick check of the machine, as that caller's start makes.
 */
import type { Env } from '../config/paths.ts';
import { folderHold } from '../sandbox/held-folders.ts';
import type { ConfigSecrets } from '../sandbox/withheld.ts';
import { boundaryEnforced, quickCheck, type SandboxHost, type SandboxSpec } from '@tinyagi/sandbox';
import { cliConfigSecrets } from './cli-config-secrets.ts';

/** Any boundary: whether one holds depends on the machine only. */
const ANY_BOUNDARY: SandboxSpec = { mode: 'on', tinyHome: '', workspaceRoot: '', memoryMb: 0 };

/** Whether the node of `host` (none: this machine) enforces the boundary. */
export function nodeEnforcesBoundary(env: Env, host: SandboxHost | undefined): boolean {
  const daemonEnv = env as NodeJS.ProcessEnv;
  return boundaryEnforced(ANY_BOUNDARY, host?.machineCheck(daemonEnv) ?? quickCheck(daemonEnv));
}

export interface LaunchFacts {
  hold: { confinedBy: string[] } | undefined;
  configSecrets: ConfigSecrets;
  boundary: boolean;
}

/** The facts of a launch in `cwd` on the node of `host` (its sandbox host: the request's `sandboxHost`). */
export function readLaunchFacts(env: Env, cwd: string, host: SandboxHost | undefined): LaunchFacts {
  return { hold: folderHold(env, cwd), configSecrets: cliConfigSecrets(env), boundary: nodeEnforcesBoundary(env, host) };
}
