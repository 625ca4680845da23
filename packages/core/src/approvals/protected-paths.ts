/**
 * Files inside a workspace that decide what runs, or what a CLI allows itself
 * (docs/approvals.md, "Files that control execution"): writing one is asked even where edits of
 * the workspace are allowed, since the next allowed command (`git status` runs `core.fsmonitor`),
 * or the CLI itself, would obey it. Matched at any depth of the workspace.
 */
import { globMatch } from './glob.ts';

export const PROTECTED_PATHS: readonly string[] = [
  // git: its config (core.fsmonitor, core.pager, diff drivers), hooks, and a `.git` file pointing elsewhere.
  '.git',
  '.git/**',
  '.husky/**',
  // Claude Code: its settings (permissions, hooks), commands, agents; its project MCP servers.
  '.claude/**',
  '.mcp.json',
  // Codex, OpenCode and Gemini CLI: their project configuration, plugins and MCP servers.
  '.codex/**',
  'opencode.json',
  'opencode.jsonc',
  '.opencode/**',
  '.gemini/**',
  // The test runners' own settings: a runner or wrapper program (cargo), the script shell and prefix (npm, yarn).
  '.cargo/config',
  '.cargo/config.toml',
  '.npmrc',
  '.yarnrc',
  '.yarnrc.yml',
  // direnv runs it on entering the folder.
  '.envrc',
];

/** True when `path` (absolute, inside `root`) is one of PROTECTED_PATHS at any depth. */
export function isProtectedPath(path: string, root: string): boolean {
  const rel = path === root ? '' : path.slice(root.length + (root === '/' ? 0 : 1));
  if (rel === '') return false;
  return PROTECTED_PATHS.some((p) => globMatch(p, rel, 'path') || globMatch(`**/${p}`, rel, 'path'));
}
