/**
 * An agent's launch, planned once: from the settings, the agent, the callers' chain and its
 * folder's hold, the node's facts and the run's folder, everything a launch decides — the runtime
 * and credentials (resolve-target.ts), the confinement after the chain (sandbox/agent-spec.ts),
 * the model route (direct, or through the node's model proxy with which upstream), the environment
 * as named layers with the values withheld from the sandbox, the working directory, MCP servers and
 * limits. Pure: it reads nothing but its input (no files, no process environment, no processes),
 * so a plan is tested as a table (test/launch-plan.test.ts). The caller reads what it needs first
 * (the folder's hold, the user's CLI configs, the node's sandbox check).
 *
 * Who carries each part out (docs/sandbox-design.md#the-launch-plan): the orchestrator's turns
 * (teams' invoke-turns.ts) build the request from the plan (`target`, `cwd`, `modelRoute`); the
 * node's model proxy wrapper (through-model-proxy.ts) follows `modelRoute`; the runtimes read
 * `target.confined` and start the process on the node's sandbox host with `target.sandbox`
 * (agent-boundary.ts); child-env.ts builds the process's environment in the layers' order.
 */
import type { Env } from '../config/paths.ts';
import type { AgentSettings, Settings } from '../config/schema.ts';
import { confinedAgent, type SandboxMode, sandboxModeOf, sandboxSpecFor } from '../sandbox/agent-spec.ts';
import { runtimeRunsProcess } from '../sandbox/status.ts';
import type { ConfigSecrets } from '../sandbox/withheld.ts';
import type { SandboxSpec } from '@tinyagi/sandbox';
import { baseChildEnv } from './child-env.ts';
import type { McpServerSpec } from './mcp-servers.ts';
import { agentSettingsOf, agentTarget } from './resolve-target.ts';
import { findRuntime } from './runtimes/index.ts';
import { proxiedUpstream } from './through-model-proxy.ts';
import { DEFAULT_INACTIVITY_MS, DEFAULT_TIMEOUT_MS, type InvokeTarget, type ModelRoute, type RunLimits } from './types.ts';

/** What the node that runs the launch knows of itself. */
export interface LaunchNode {
  /** This node enforces the boundary (its sandbox host's check: bubblewrap works here): launch-facts.ts `nodeEnforcesBoundary`. */
  boundary: boolean;
  /** A model proxy runs on this node, in its agent call (cli's daemon/model-proxy.ts). */
  modelProxy: boolean;
}

export interface LaunchInput {
  settings: Settings;
  agentId: string;
  /** The node's environment: credentials, `env_passthrough`, the TinyAGI home and the base variables come from it. */
  env: Env;
  /** Where the run works: a task's worktree, or the agent's workspace. */
  cwd: string;
  /** The agents whose confinement follows the run, from its messages (teams' guards/confinement.ts). */
  confinedBy?: readonly string[] | undefined;
  /** The hold on `cwd` (sandbox/held-folders.ts `folderHold`): a confined run worked there, so this one is confined by the same agents. */
  hold?: { confinedBy: readonly string[] } | undefined;
  node: LaunchNode;
  /** The account the run uses instead of the agent's own (its fallback provider while its own is held: quotas/board.ts). */
  account?: { provider: string; model?: string | undefined } | undefined;
  /** What the user's CLI configs hold (cli-config-secrets.ts): withheld from the sandbox too. */
  configSecrets?: ConfigSecrets | undefined;
  /** The run's own variables (TINYAGI_RUN_ID, TINYAGI_API_URL, …): the `run` layer. */
  runEnv?: Record<string, string> | undefined;
  /** MCP servers the CLI gets beside the user's own. The node's agent call adds TinyAGI's own (cli's daemon/agent-shim.ts). */
  mcpServers?: readonly McpServerSpec[] | undefined;
}

/** The confinement of a launch, after its callers' chain and its folder's hold. */
export interface LaunchConfinement {
  /** The agent's own `sandbox` setting. */
  own: SandboxMode;
  /** The sandbox the launch runs in: the tightest of its own and its confiners' (`on` at least when anything confines it). */
  mode: SandboxMode;
  /** The agents whose confinement it takes (its messages', its folder's hold); its handoffs carry them on. */
  confinedBy: string[];
  /** The narrowest permission mode of the agent and its confiners (absent: the runtime's default). */
  permissionMode: AgentSettings['permission_mode'];
  /** The boundary (`mode` not off): paths, memory cap, withheld values. */
  spec: SandboxSpec | undefined;
  /**
   * The process starts inside the boundary on this node. False with a spec: the runtime runs no
   * process (an HTTP agent), or the node cannot enforce it — `on` then runs unconfined and says so,
   * `required` refuses to start (agent-boundary.ts).
   */
  enforced: boolean;
}

/** Named layers of the environment, later ones winning: where each variable of a launch comes from. */
export type EnvLayerName = 'base' | 'passthrough' | 'credentials' | 'run';

export interface EnvLayer {
  layer: EnvLayerName;
  vars: Record<string, string>;
}

export interface LaunchPlan {
  agentId: string;
  /** The runtime, provider, model and credentials, with `sandbox` and `confined` from `confinement`: the request's target. */
  target: InvokeTarget;
  confinement: LaunchConfinement;
  /** How the model calls travel; the node's model proxy wrapper carries it out. */
  modelRoute: ModelRoute;
  env: {
    /**
     * `base` (what a CLI needs to find itself: child-env.ts), `passthrough` (the agent's
     * `env_passthrough`), `credentials` (the runtime's: keys, config homes), `run` (the run's
     * own). At the spawn the worktree's git identity goes between base and credentials, and the
     * node's agent call adds its shim's PATH and TRACEPARENT; a proxied route replaces the key.
     */
    layers: EnvLayer[];
    /** Values that never enter the sandbox (sandbox/withheld.ts, and the key the proxy carries). */
    withheld: string[];
  };
  cwd: string;
  mcpServers: McpServerSpec[];
  limits: RunLimits;
}

/** The agent as this launch runs it: on its fallback account, confined by `confinedBy`. */
function launchedAgent(input: LaunchInput, confinedBy: readonly string[]): AgentSettings {
  const own = agentSettingsOf(input.settings, input.agentId);
  const account = input.account;
  let agent = own;
  if (account !== undefined) {
    const { model: _own, ...rest } = own;
    agent = { ...rest, provider: account.provider, ...(account.model === undefined ? {} : { model: account.model }) };
  }
  return confinedAgent(input.settings, input.agentId, agent, confinedBy);
}

/** The agents confining the run: its messages' and, in a held folder, the hold's with the agent itself (so an agent nothing else confines runs `on` at least). */
function chainOf(input: LaunchInput): string[] {
  const held = input.hold === undefined ? [] : [...input.hold.confinedBy, input.agentId];
  return [...new Set([...(input.confinedBy ?? []), ...held])];
}

/** The route of a target's model calls: through the node's proxy when it stands in for the target's key, on the agent's socket when the process is confined. */
export function planModelRoute(target: InvokeTarget, mode: SandboxMode, node: LaunchNode): ModelRoute {
  const upstream = node.modelProxy ? proxiedUpstream(target, mode) : undefined;
  if (upstream === undefined) return { via: 'direct' };
  return { via: 'proxy', upstream, where: target.confined === true ? 'sandbox' : 'loopback' };
}

export function planLaunch(input: LaunchInput): LaunchPlan {
  const { settings, agentId, env, node } = input;
  const confinedBy = chainOf(input);
  const agent = launchedAgent(input, confinedBy);
  const mode = sandboxModeOf(agent);
  const spec = sandboxSpecFor(settings, agentId, mode, env, input.configSecrets);
  const built = agentTarget(settings, agentId, agent, env, spec);
  const enforced = spec !== undefined && node.boundary && runtimeRunsProcess(findRuntime(built.target.runtime)?.kind);
  const target: InvokeTarget = enforced ? { ...built.target, confined: true } : built.target;
  const modelRoute = planModelRoute(target, mode, node);
  // The key the proxy carries never enters the sandbox, whatever else names it.
  const withheld = [...(spec?.withheld ?? []), ...(modelRoute.via === 'proxy' && spec !== undefined && modelRoute.upstream.key !== '' ? [modelRoute.upstream.key] : [])];
  if (target.sandbox !== undefined) target.sandbox = { ...target.sandbox, withheld };
  const layers: EnvLayer[] = [
    { layer: 'base', vars: baseChildEnv(env) },
    { layer: 'passthrough', vars: built.passthrough },
    { layer: 'credentials', vars: built.credentials },
    { layer: 'run', vars: { ...input.runEnv } },
  ];
  const inactivityMs = target.inactivityMs ?? DEFAULT_INACTIVITY_MS;
  return {
    agentId,
    target,
    confinement: { own: sandboxModeOf(agentSettingsOf(settings, agentId)), mode, confinedBy, permissionMode: agent.permission_mode, spec: target.sandbox, enforced },
    modelRoute,
    env: { layers, withheld },
    cwd: input.cwd,
    mcpServers: [...(input.mcpServers ?? [])],
    limits: { timeoutMs: target.timeoutMs ?? DEFAULT_TIMEOUT_MS, inactivityMs, startGraceMs: Math.max(target.startGraceMs ?? 0, inactivityMs) },
  };
}
