/**
 * What a launch plan (launch-plan.ts) needs read from the node that runs it, read here so the plan
 * stays pure: the hold on the run's folder (sandbox/held-folders.ts), what the user's CLI configs
 * hold (withheld from the sandbox: cli-config-secrets.ts) and whether this node enforces the
 * boundary (its machine check, as its sandbox host decides a start).
 */
import type { Env } from '../config/paths.ts';
import { folderHold } from '../sandbox/held-folders.ts';
import type { ConfigSecrets } from '../sandbox/withheld.ts';
import { boundaryEnforced, type SandboxSpec } from '@tinyagi/sandbox';
import { cliConfigSecrets } from './cli-config-secrets.ts';

/** Any boundary: whether one holds depends on the machine only. */
const ANY_BOUNDARY: SandboxSpec = { mode: 'on', tinyHome: '', workspaceRoot: '', memoryMb: 0 };

/** Whether this node enforces the boundary. */
export function nodeEnforcesBoundary(env: Env = process.env): boolean {
  return boundaryEnforced(ANY_BOUNDARY, env as NodeJS.ProcessEnv);
}

export interface LaunchFacts {
  hold: { confinedBy: string[] } | undefined;
  configSecrets: ConfigSecrets;
  boundary: boolean;
}

/** The facts of a launch in `cwd` on this node. */
export function readLaunchFacts(env: Env, cwd: string): LaunchFacts {
  return { hold: folderHold(env, cwd), configSecrets: cliConfigSecrets(env), boundary: nodeEnforcesBoundary(env) };
}
