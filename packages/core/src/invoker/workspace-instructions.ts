/**
 * Which agent CLIs read the workspace's AGENTS.md by themselves (checked with Claude Code
 * 2.1.330, codex-cli 0.169.0, opencode 1.18.33): Codex and OpenCode always do; Claude Code reads
 * CLAUDE.md, and AGENTS.md only when there is no CLAUDE.md. For those the system prompt leaves
 * AGENTS.md out, so each instruction reaches the model once.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export function cliReadsAgentsMd(adapter: string, workspaceDir: string): boolean {
  if (adapter === 'codex' || adapter === 'opencode') return true;
  if (adapter === 'claude') return !existsSync(join(workspaceDir, 'CLAUDE.md'));
  return false;
}
