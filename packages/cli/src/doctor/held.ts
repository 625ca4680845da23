/**
 * doctor's held folders (docs/sandbox.md, "What a confined run leaves behind"): each folder of
 * this node a confined run worked in, whose runs and task commands now run confined until a
 * person releases it. An agent's workspace is named with the command that releases it; a task's
 * worktree goes with the worktree.
 */
import type { Settings } from '@tinyagi/core';
import { agentWorkspaceDir, heldFolders } from '../core-internal.ts';
import type { Env } from '../core-internal.ts';
import type { Finding } from './finding.ts';

export function heldFindings(settings: Settings | undefined, env: Env): Finding[] {
  const agents = Object.keys(settings?.agents ?? {});
  const workspaceOf = new Map(agents.map((id) => [agentWorkspaceDir(settings ?? {}, id, env), id]));
  return heldFolders(env as NodeJS.ProcessEnv).map((hold) => {
    const by = hold.confinedBy.filter((id) => id !== hold.agent);
    const why = `a confined run${by.length > 0 ? ` for ${by.map((id) => `@${id}`).join(', ')}` : ''} worked in it${hold.since ? ` (${hold.since})` : ''}`;
    const agent = workspaceOf.get(hold.folder);
    if (agent === undefined) {
      return {
        check: 'sandbox:held',
        status: 'info' as const,
        message: `${hold.folder} is held: ${why}; runs and task commands there run confined`,
        hint: 'A task worktree stays held until it is removed (the merge removes it).',
      };
    }
    return {
      check: `sandbox:held:${agent}`,
      status: 'warn' as const,
      message: `${agent}'s workspace ${hold.folder} is held: ${why}; its runs run confined until you release it. Look at what that run left there first (hooks in .claude/, .mcp.json, package.json scripts, a Makefile, .envrc, .git/hooks and .git/config, AGENTS.md or CLAUDE.md): anything in it runs as you once released, and your own shell there runs it now`,
      hint: `\`tinyagi agent sandbox ${agent} release\` once you have looked, or \`tinyagi agent sandbox ${agent} on\` to keep it confined for good.`,
    };
  });
}
