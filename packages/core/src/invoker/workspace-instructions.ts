/**
 * Which runtimes read the workspace's AGENTS.md by themselves (the descriptor's
 * `capabilities.readsAgentsMd`; checked with Claude Code 2.1.330, codex-cli 0.169.0, opencode
 * 1.18.33): Codex and OpenCode always do; Claude Code reads CLAUDE.md (its `instructionFiles`),
 * and AGENTS.md only when there is no CLAUDE.md. For those the system prompt leaves AGENTS.md
 * out, so each instruction reaches the model once.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { runtimeKinds } from './runtimes.ts';

export function cliReadsAgentsMd(runtime: string, workspaceDir: string): boolean {
  const kind = runtimeKinds.get(runtime);
  if (!kind?.capabilities.readsAgentsMd) return false;
  return !kind.instructionFiles.some((file) => existsSync(join(workspaceDir, file)));
}
