/**
 * Which agent CLIs are installed: the first-run defaults and `tinyagi doctor` both ask.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { Env } from '@tinyagi/core/internal';

export interface AgentCli {
  command: string;
  /** The provider an agent uses to run this CLI. */
  provider: 'anthropic' | 'openai' | 'opencode';
  product: string;
}

/** In order of preference for the default agent. */
export const AGENT_CLIS: readonly AgentCli[] = [
  { command: 'claude', provider: 'anthropic', product: 'Claude Code' },
  { command: 'codex', provider: 'openai', product: 'Codex CLI' },
  { command: 'opencode', provider: 'opencode', product: 'OpenCode' },
];

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
  return AGENT_CLIS.flatMap((cli) => {
    const path = findOnPath(cli.command, env);
    return path === undefined ? [] : [{ ...cli, path }];
  });
}
