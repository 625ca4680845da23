/**
 * Which agent CLIs are installed: the first-run defaults and `tinyagi doctor` both ask. The CLIs
 * are the registered runtimes that start a command (their descriptor's `command`; docs/kinds.md).
 */
import { runtimeKinds } from '@tinyagi/core';
import { findOnPath, type Env } from '../core-internal.ts';

export interface AgentCli {
  command: string;
  /** The runtime an agent names (its `provider`) to run this CLI. */
  provider: string;
  product: string;
  /** How to install it (the descriptor's hint), if known. */
  installHint: string | null;
}

/** The CLI runtimes, in the registry's order (by name); the first installed one runs the default agent. */
export function agentClis(): AgentCli[] {
  return runtimeKinds.list().flatMap((kind) => (kind.command === null ? [] : [{ command: kind.command, provider: kind.name, product: kind.title, installHint: kind.installHint }]));
}

/** The first executable named `command` on the PATH of `env` (core's, which `GET /api/kinds` and new agents use too). */
export { findOnPath };

export function installedAgentClis(env: Env = process.env): Array<AgentCli & { path: string }> {
  return agentClis().flatMap((cli) => {
    const path = findOnPath(cli.command, env);
    return path === undefined ? [] : [{ ...cli, path }];
  });
}
