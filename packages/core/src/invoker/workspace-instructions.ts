/**
 * Which runtimes read the workspace's AGENTS.md by themselves (the descriptor's
 * `capabilities.readsAgentsMd`; checked with Claude Code 2.1.330, codex-cli 0.169.0, opencode
 * 1.18.33): Codex and OpenCode always do; Claude Code reads CLAUDE.md (its `instructionFiles`),
 * and AGENTS.md only when there is no CLAUDE.md. For those the system prompt leaves AGENTS.md
 * out, so each instruction reaches the model once. The `acp` runtime's agents differ: the
 * target says (runtimes/acp.ts: claude-agent-acp reads CLAUDE.md, else AGENTS.md; codex-acp
 * AGENTS.md; `acp.reads_agents_md` sets it for any agent).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { runtimeKinds } from './runtimes/index.ts';
import type { InvokeTarget } from './types.ts';

export function cliReadsAgentsMd(runtime: string, workspaceDir: string, target?: Pick<InvokeTarget, 'readsAgentsMd' | 'instructionFiles'>): boolean {
  const kind = runtimeKinds.get(runtime);
  // An `acp` agent says for itself (its acp.reads_agents_md, or what TinyAGI knows of its command).
  const reads = target?.readsAgentsMd ?? kind?.capabilities.readsAgentsMd ?? false;
  if (!reads) return false;
  const files = target?.readsAgentsMd !== undefined ? (target.instructionFiles ?? []) : (kind?.instructionFiles ?? []);
  return !files.some((file) => existsSync(join(workspaceDir, file)));
}
