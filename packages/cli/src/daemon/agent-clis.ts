/**
 * Which agent CLIs are installed: the first-run defaults and `tinyagi doctor` both ask. The CLIs
 * are the registered runtimes that start a command (their descriptor's `command`; docs/kinds.md).
 */
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { runtimeKinds } from '@tinyagi/core';
import type { Env } from '@tinyagi/core/internal';

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

export function findOnPath(command: string, env: Env = process.env): string | undefined {
  for (const dir of (env['PATH'] ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, command);
    try {
      if (!statSync(candidate).isFile()) continue;
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

export function installedAgentClis(env: Env = process.env): Array<AgentCli & { path: string }> {
  return agentClis().flatMap((cli) => {
    const path = findOnPath(cli.command, env);
    return path === undefined ? [] : [{ ...cli, path }];
  });
}
