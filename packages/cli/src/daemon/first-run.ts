/**
 * First-run defaults for a TINYAGI_HOME: the directories, settings.json with one agent
 * `tinyagi` and that agent's workspace. Runs before every daemon start but only ever creates
 * what is missing; an existing settings.json (valid or not) is never touched.
 *
 * The default agent runs the first agent CLI found on PATH (the registered CLI runtimes in order:
 * Claude Code, Codex, OpenCode); with none installed it uses the built-in mock runtime, and the
 * notices say how to switch.
 *
 * Every agent it makes gets the same sandbox default as `tinyagi agent add`: a CLI agent (its
 * runtime runs a process) is set to `sandbox: "on"` when the boundary's self-test passes on this
 * machine (docs/sandbox.md), so no unconfined agent exists by surprise for a sandboxed one to call.
 */
import { existsSync, mkdirSync } from 'node:fs';
import type { HomePaths, Settings } from '@tinyagi/core';
import {
  agentWorkspaceDir,
  daemonSecrets,
  providerRuntime,
  provisionWorkspace,
  runSelfTest,
  runtimeKinds,
  runtimeRunsProcess,
  workspaceRoot,
  writeSettings,
  withNewAgentDefaults,
  DEFAULT_WORKSPACE_PATH,
  type Env,
} from '@tinyagi/core/internal';
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

/**
 * `agent add`'s sandbox default for the agents the first start makes: `on` for an agent whose
 * runtime runs a process when the self-test passes here (it runs once, only when settings.json
 * is created). Returns the notice that says what was chosen.
 */
export async function applySandboxDefault(paths: HomePaths, settings: Settings, env: Env): Promise<string | undefined> {
  const agents = Object.values(settings.agents ?? {}).filter(
    (agent) => agent.sandbox === undefined && runtimeRunsProcess(runtimeKinds.get(providerRuntime(agent.provider ?? settings.models?.provider ?? '') ?? '')),
  );
  if (agents.length === 0) return undefined;
  const check = await runSelfTest({ tinyHome: paths.home, workspaceRoot: workspaceRoot(settings, env), env, secrets: daemonSecrets(settings, env) }).catch(() => undefined);
  if (check?.ok !== true) {
    return `The sandbox's self-test did not pass here (${check?.problem?.reason ?? 'it could not run'}): the default agent runs unconfined; see tinyagi doctor and docs/sandbox.md.`;
  }
  for (const agent of agents) agent.sandbox = 'on';
  return `The default agent runs inside the sandbox (sandbox: "on"; docs/sandbox.md).`;
}

/** Creates settings.json and the default agent's workspace when the home has no settings yet. */
export async function ensureFirstRunDefaults(paths: HomePaths, env: Env = process.env): Promise<FirstRunResult> {
  ensureHomeDirectories(paths);
  if (existsSync(paths.settings)) return { createdSettings: false, notices: [] };
  const { settings, notices } = defaultSettings(env);
  const sandboxNotice = await applySandboxDefault(paths, settings, env);
  if (sandboxNotice !== undefined) notices.push(sandboxNotice);
  await writeSettings(paths.settings, settings, { env });
  const dir = agentWorkspaceDir(settings, DEFAULT_AGENT_ID, env);
  await provisionWorkspace({ dir, agentId: DEFAULT_AGENT_ID });
  return { createdSettings: true, notices: [`Created ${paths.settings} and the workspace ${dir}.`, ...notices] };
}
