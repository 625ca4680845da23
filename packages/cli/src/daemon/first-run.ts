/**
 * First-run defaults for a TINYAGI_HOME: the directories, settings.json with one agent
 * `tinyagi` and that agent's workspace. Runs before every daemon start but only ever creates
 * what is missing; an existing settings.json (valid or not) is never touched.
 *
 * The default agent runs the first agent CLI found on PATH (the registered CLI runtimes in order:
 * Claude Code, Codex, OpenCode); with none installed it uses the built-in mock runtime, and the
 * notices say how to switch.
 */
import { existsSync, mkdirSync } from 'node:fs';
import type { HomePaths, Settings } from '@tinyagi/core';
import { agentWorkspaceDir, provisionWorkspace, writeSettings, withNewAgentDefaults, DEFAULT_WORKSPACE_PATH, type Env } from '@tinyagi/core/internal';
import { agentClis, installedAgentClis } from './agent-clis.ts';

export const DEFAULT_AGENT_ID = 'tinyagi';

export interface FirstRunResult {
  /** True when settings.json was created by this call. */
  createdSettings: boolean;
  /** Lines for the user (what was set up, what to do next). */
  notices: string[];
}

export function defaultSettings(env: Env = process.env): { settings: Settings; notices: string[] } {
  const cli = installedAgentClis(env)[0];
  const provider = cli?.provider ?? 'mock';
  const settings: Settings = {
    workspace: { path: DEFAULT_WORKSPACE_PATH, name: 'tinyagi-workspace' },
    models: { provider },
    // A CLI agent that can ask starts with permission_mode "ask" and the starter rules (docs/approvals.md).
    agents: { [DEFAULT_AGENT_ID]: withNewAgentDefaults({ models: { provider } }, { name: 'TinyAGI', provider }) },
    teams: {},
    channels: { enabled: [] },
    monitoring: { heartbeat_interval: 3600 },
  };
  const notices =
    cli === undefined
      ? [
          `No agent CLI (${agentClis()
            .map((c) => c.command)
            .join(', ')}) is on PATH, so the default agent "${DEFAULT_AGENT_ID}" uses the built-in mock runtime (scripted replies, no model).`,
          `Install Claude Code (https://docs.anthropic.com/claude-code), then switch with: tinyagi agent provider ${DEFAULT_AGENT_ID} claude-code`,
        ]
      : [`The default agent "${DEFAULT_AGENT_ID}" uses ${cli.product} (${cli.path}).`];
  return { settings, notices };
}

export function ensureHomeDirectories(paths: HomePaths): void {
  for (const dir of [paths.home, paths.logs, paths.files, paths.channels, paths.plugins]) mkdirSync(dir, { recursive: true, mode: 0o700 });
}

/** Creates settings.json and the default agent's workspace when the home has no settings yet. */
export async function ensureFirstRunDefaults(paths: HomePaths, env: Env = process.env): Promise<FirstRunResult> {
  ensureHomeDirectories(paths);
  if (existsSync(paths.settings)) return { createdSettings: false, notices: [] };
  const { settings, notices } = defaultSettings(env);
  await writeSettings(paths.settings, settings, { env });
  const dir = agentWorkspaceDir(settings, DEFAULT_AGENT_ID, env);
  await provisionWorkspace({ dir, agentId: DEFAULT_AGENT_ID });
  return { createdSettings: true, notices: [`Created ${paths.settings} and the workspace ${dir}.`, ...notices] };
}
