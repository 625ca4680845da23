/**
 * `acp`: any agent that speaks the Agent Client Protocol on stdio (docs/sessions.md, "ACP"),
 * started from the agent's own settings: `acp: { command, args }` (an executable name or an
 * absolute path, arguments as an array; no shell). Recipes: Gemini CLI `gemini --acp`,
 * GitHub Copilot CLI `copilot --acp`, Claude Code through `claude-agent-acp`, Codex through
 * `codex-acp`.
 *
 * The runtime is made for warm sessions (`process: "warm"`, the warm driver of acp-warm.ts);
 * an agent without it gets one process per message: started, given one turn, closed.
 *
 * - ACP has no system prompt: the agent's instructions are sent before the first prompt of each
 *   session (`<instructions>`), and again only when they changed (the session's instructions hash).
 * - The model is chosen through the session's `model` config option (or `session/set_model`)
 *   when the agent's settings name one; otherwise the agent's own default.
 * - The agent's credentials: its env_passthrough names the variables it needs (GEMINI_API_KEY,
 *   GITHUB_TOKEN, …); a CLI logged in interactively works through HOME. A sandboxed
 *   claude-agent-acp or codex-acp gets its key through the model proxy (acp-model-route.ts).
 */
import { ACP_INSTALL_HINT as INSTALL_HINT } from '../../kinds/runtimes/acp.ts';
import { runBoundary } from '../agent-boundary.ts';
import { buildChildEnv } from '../child-env.ts';
import { InvokeError } from '../invoke-error.ts';
import { acpWarmDriver, type AcpLaunch } from '../warm/acp-warm.ts';
import { acpAgentProfile, acpReadsAgentsMd, knownAcpAgent } from './acp-agents.ts';
import { acpModelRoute } from './acp-model-route.ts';
import { splitRunEnv } from '../warm/invoke-warm.ts';
import type { AcpAgentSettings } from '@tinyagi/client/contract';
import type { RuntimeImpl } from '../runtime.ts';
import { resumeIdOf } from '../session-state.ts';
import { DEFAULT_KILL_GRACE_MS, emitProgress, runLimits, type InvokeRequest, type InvokeResult } from '../types.ts';
import { expiryError, startWatchdog, type WatchdogExpiry } from '../watchdog.ts';

function acpCommand(req: InvokeRequest): { command: string; args: string[] } {
  const command = req.target.command;
  if (command === undefined || command === '') {
    throw new InvokeError('permanent', `Agent "${req.agentId}" has provider "acp" but no acp.command.`, { code: 'PROVIDER_CONFIG_INVALID', hint: INSTALL_HINT });
  }
  return { command, args: req.target.args ?? [] };
}

/**
 * The process for one session: the agent's command, with what TinyAGI knows of it (acp-agents.ts:
 * arguments, variables, session options, its mode for the permission_mode, hooks reading its own
 * record); an agent it does not know gets the mode of the same name as its permission_mode
 * (`ask`: `default`) where it offers one.
 */
function acpLaunch(req: InvokeRequest, env: Record<string, string>): AcpLaunch {
  const { command, args } = acpCommand(req);
  const profile = acpAgentProfile(req);
  const mode = req.target.permissionMode;
  const hooks = profile?.hooks?.(env);
  return {
    command,
    args: [...(profile?.args ?? []), ...args],
    ...(profile && Object.keys(profile.env).length > 0 ? { env: profile.env } : {}),
    ...(profile?.sessionMeta ? { sessionMeta: profile.sessionMeta } : {}),
    ...(profile ? (profile.modeId !== undefined ? { modeId: profile.modeId } : {}) : mode !== undefined ? { modeId: mode === 'ask' ? 'default' : mode } : {}),
    ...(hooks?.beforePrompt ? { beforePrompt: hooks.beforePrompt } : {}),
    ...(hooks?.turnUsage ? { turnUsage: hooks.turnUsage } : {}),
    ...(hooks?.turnReply ? { turnReply: hooks.turnReply } : {}),
    ...(hooks?.loadedCostBaseline ? { loadedCostBaseline: hooks.loadedCostBaseline } : {}),
  };
}

export const acpDriver = acpWarmDriver({
  binary: 'acp',
  installHint: INSTALL_HINT,
  memoryEstimateMb: 250,
  launch: (req, env) => acpLaunch(req, env),
  instructionsInBand: true,
  modelId: (req) => req.target.model,
});

/** Per message: one process, one turn, closed (the watchdog and cancel as for a spawned CLI). */
export async function invokeAcpOnce(req: InvokeRequest): Promise<InvokeResult> {
  acpCommand(req);
  const what = `${req.target.command} (agent ${req.agentId})`;
  const limits = runLimits(req);
  const { lasting, perRun } = splitRunEnv(req.env);
  let touch = (): void => {};
  let expired: WatchdogExpiry | undefined;
  let rejectExpired: (err: unknown) => void = () => {};
  const expiredPromise = new Promise<never>((_, reject) => {
    rejectExpired = reject;
  });
  // Sandboxed, the process starts inside the boundary, as a warm one does (invoke-warm.ts).
  const boundary = runBoundary(req);
  // One process for one run: its per-run variables can be in its environment.
  const env = buildChildEnv({ agentId: req.agentId, cwd: req.cwd, provider: req.target.env, request: { ...lasting, ...perRun } });
  const session = await acpDriver.start({
    req,
    resumeId: req.session?.retry ? undefined : resumeIdOf(req.session),
    what,
    onActivity: () => touch(),
    env: boundary ? boundary.env(env) : env,
    boundary,
  });
  const killGraceMs = req.target.killGraceMs ?? DEFAULT_KILL_GRACE_MS;
  const watchdog = startWatchdog({
    limits,
    signal: req.signal,
    isBusy: req.busyElsewhere,
    onExpire: (kind) => {
      expired = kind;
      void (async () => {
        if (kind === 'cancelled' && (await session.interrupt())) {
          setTimeout(() => rejectExpired(expiryError(kind, limits, what)), killGraceMs).unref();
          return;
        }
        rejectExpired(expiryError(kind, limits, what));
      })();
    },
  });
  touch = () => watchdog.touch();
  try {
    return await Promise.race([
      session.turn({
        prompt: req.prompt,
        req,
        emit: (event) => emitProgress(req, event),
        activity: () => watchdog.touch(),
        quota: (report) => req.onQuota?.(report),
        checkpoint: () => req.checkpoint?.() ?? Promise.resolve(undefined),
      }),
      expiredPromise,
    ]);
  } catch (err) {
    if (expired) throw expiryError(expired, limits, what);
    throw err;
  } finally {
    watchdog.dispose();
    await session.close('the run ended');
  }
}

/** Whether the agent reads AGENTS.md itself: its acp.reads_agents_md, else what is known of its command. */
function agentsMdOf(acp: AcpAgentSettings | undefined): { readsAgentsMd?: boolean; instructionFiles?: string[] } {
  const known = acpReadsAgentsMd(knownAcpAgent(acp?.command, acp?.args));
  if (acp?.reads_agents_md !== undefined) return { readsAgentsMd: acp.reads_agents_md, instructionFiles: known?.instructionFiles ?? [] };
  return known ? { readsAgentsMd: known.reads, instructionFiles: known.instructionFiles } : {};
}

export const acpRuntime: RuntimeImpl = {
  invoke: invokeAcpOnce,
  warm: acpDriver,
  target: ({ agent, block, model }) => {
    // Its block, agents.<id>.acp: the ACP agent to start (the kind's settings: AcpAgentSettingsSchema).
    const acp = block as AcpAgentSettings | undefined;
    return {
      ...(model ? { model } : {}),
      ...(acp?.command ? { command: acp.command } : {}),
      ...(acp?.args ? { args: [...acp.args] } : {}),
      ...(agent.permission_mode ? { permissionMode: agent.permission_mode } : {}),
      ...agentsMdOf(acp),
      env: {},
    };
  },
  // claude-agent-acp and codex-acp: their vendor key through the model proxy (acp-model-route.ts).
  modelProxy: acpModelRoute,
};
