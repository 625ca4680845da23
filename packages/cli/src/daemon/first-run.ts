/**
 * First-run defaults for a TINYAGI_HOME: the directories, settings.json with one agent
 * `tinyagi` and that agent's workspace. Runs before every daemon start but only ever creates
 * what is missing; an existing settings.json (valid or not) is never touched.
 *
 * The default agent runs the first agent CLI found on PATH (the registered CLI runtimes in order:
 * Claude Code, Codex, OpenCode); with none installed it uses the built-in mock runtime, and the
 * notices say how to switch.
 *
 * The default agent is made by core's `newAgent`, the one definition of a new agent that `agent
 * add` and `POST /api/agents` use: `sandbox: "on"` for a CLI agent when the boundary's self-test
 * passes on this machine (docs/sandbox.md), warm, asking; the notices say what it got and why not.
 */
import { existsSync, mkdirSync } from 'node:fs';
import type { HomePaths, Settings } from '@tinyagi/core';
import { runtimeKinds } from '@tinyagi/core';
import {
  agentWorkspaceDir,
  daemonSecrets,
  providerRuntime,
  provisionWorkspace,
  runSelfTest,
  runtimeRunsProcess,
  workspaceRoot,
  writeSettings,
  newAgent,
  newAgentNoteText,
  DEFAULT_WORKSPACE_PATH,
  type Env,
  type NewAgentMachine,
} from '../core-internal.ts';
import { agentClis, installedAgentClis } from './agent-clis.ts';

export const DEFAULT_AGENT_ID = 'tinyagi';

export interface FirstRunResult {
  /** True when settings.json was created by this call. */
  createdSettings: boolean;
  /** Lines for the user (what was set up, what to do next). */
  notices: string[];
}

/**
 * settings.json of a new home: its default agent made by core's `newAgent` (the same as `agent
 * add` and `POST /api/agents`) with the machine's facts: `boundary`, the sandbox self-test's
 * result here (undefined: not run).
 */
export function defaultSettings(env: Env = process.env, boundary: NewAgentMachine['boundary'] = undefined): { settings: Settings; notices: string[] } {
  const cli = installedAgentClis(env)[0];
  const provider = cli?.provider ?? 'mock';
  const made = newAgent({ models: { provider } }, DEFAULT_AGENT_ID, { name: 'TinyAGI', provider }, { boundary, env });
  const settings: Settings = {
    workspace: { path: DEFAULT_WORKSPACE_PATH, name: 'tinyagi-workspace' },
    models: { provider },
    agents: { [DEFAULT_AGENT_ID]: made.agent },
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
  return { settings, notices: [...notices, ...[...made.warnings, ...made.notes].map(newAgentNoteText)] };
}

export function ensureHomeDirectories(paths: HomePaths): void {
  for (const dir of [paths.home, paths.logs, paths.files, paths.channels, paths.plugins]) mkdirSync(dir, { recursive: true, mode: 0o700 });
}

/** The sandbox self-test here, when the default agent's runtime runs a process (it runs once, only when settings.json is created). */
async function firstRunBoundary(paths: HomePaths, env: Env): Promise<NewAgentMachine['boundary']> {
  const provider = installedAgentClis(env)[0]?.provider;
  if (provider === undefined || !runtimeRunsProcess(runtimeKinds.get(providerRuntime(provider)))) return undefined;
  const settings: Settings = { workspace: { path: DEFAULT_WORKSPACE_PATH } };
  const check = await runSelfTest({ tinyHome: paths.home, workspaceRoot: workspaceRoot(settings, env), env, secrets: daemonSecrets(settings, env) }).catch((err: unknown) => ({
    ok: false,
    problem: { reason: `it could not run: ${err instanceof Error ? err.message : String(err)}` },
  }));
  return { ok: check.ok, reason: check.problem?.reason };
}

/** Creates settings.json and the default agent's workspace when the home has no settings yet. */
export async function ensureFirstRunDefaults(paths: HomePaths, env: Env = process.env): Promise<FirstRunResult> {
  ensureHomeDirectories(paths);
  if (existsSync(paths.settings)) return { createdSettings: false, notices: [] };
  const { settings, notices } = defaultSettings(env, await firstRunBoundary(paths, env));
  await writeSettings(paths.settings, settings, { env });
  const dir = agentWorkspaceDir(settings, DEFAULT_AGENT_ID, env);
  await provisionWorkspace({ dir, agentId: DEFAULT_AGENT_ID });
  return { createdSettings: true, notices: [`Created ${paths.settings} and the workspace ${dir}.`, ...notices] };
}
