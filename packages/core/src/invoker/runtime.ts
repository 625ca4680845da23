/**
 * A runtime is a registered kind (docs/kinds.md, "Runtimes"): its descriptor (the contract's
 * `RuntimeKind`: name, command, environment, capabilities, …) and its implementation
 * (`RuntimeImpl`), registered together by `registerRuntime`. The implementation runs one
 * invocation (`invoke`) and turns an agent's settings into the runtime's part of an
 * `InvokeTarget` (`target`, `customTarget`), so resolve-target.ts has no switch on runtime names.
 * A built-in runtime's descriptor is in kinds/runtimes/ (registered there without its
 * implementation, for settings validation), its implementation in runtimes/, each listed once; a
 * plugin's is one call (or one module in TINYAGI_HOME/kinds/).
 *
 * This file imports nothing from config/: runtimes get their settings already narrowed.
 */
import type { RuntimeKind } from '@tinyagi/client/contract';
import { TinyError } from '../errors.ts';
import { runtimeKinds } from '../kinds/registry.ts';
import type { ModelUpstream } from '@tinyagi/sandbox';
import type { WarmDriver } from './warm/types.ts';
import type { InvokeFn, InvokeTarget } from './types.ts';

export type RuntimeEnv = Readonly<Record<string, string | undefined>>;

/** The vendors' credentials of settings.json (`models.anthropic`, `models.openai`). */
export interface VendorCredentials {
  anthropic?: { api_key?: string | undefined; oauth_token?: string | undefined } | undefined;
  openai?: { api_key?: string | undefined } | undefined;
}

/** The agent's settings every runtime may read; its own are in its block (`block`). */
export interface RuntimeAgentSettings {
  model?: string | undefined;
  permission_mode?: string | undefined;
}

/** An agent that names the runtime itself (`provider: "claude-code"`). */
export interface RuntimeTargetInput {
  agentId: string;
  agent: RuntimeAgentSettings;
  /**
   * The agent's block of this runtime, `agents.<id>.<runtime name>` (the mock's script, the acp
   * runtime's command), valid by the kind's `settings` schema; undefined when the agent has none.
   */
  block: unknown;
  /** The agent's model, else the runtime's `models.<block>.model`, with the runtime's model aliases resolved. */
  model: string | undefined;
  credentials: VendorCredentials;
  env: RuntimeEnv;
}

/** An agent on a custom provider (`provider: "custom:<id>"`) whose `runtime` is this one. */
export interface RuntimeCustomTargetInput {
  agentId: string;
  agent: RuntimeAgentSettings;
  /** As in RuntimeTargetInput. */
  block: unknown;
  /** `custom:<id>`. */
  provider: string;
  /** The agent's model, else the custom provider's, without alias resolution. */
  model: string | undefined;
  baseUrl: string | undefined;
  apiKey: string | undefined;
  env: RuntimeEnv;
}

/** The runtime's part of a target; resolve-target.ts adds the name, provider, limits and the agent's env_passthrough. */
export type RuntimeTarget = Omit<InvokeTarget, 'runtime' | 'provider' | 'timeoutMs' | 'inactivityMs' | 'startGraceMs'>;

/**
 * How the model proxy (sandbox/model-proxy.ts, docs/sandbox.md#the-model-proxy) stands in for a
 * target's provider: the runtime knows where its targets keep the base URL and key.
 */
export interface RuntimeModelRoute {
  /**
   * Where the target's model calls go and with which key; undefined when there is nothing to
   * stand in for (a subscription login, the CLI's own login or config, a cloud provider).
   */
  upstream(target: InvokeTarget): ModelUpstream | undefined;
  /**
   * The target with the proxy's base URL and placeholder key in place of the provider's, given
   * the way the runtime gives a custom provider's (the real key in none of the target's fields).
   */
  via(target: InvokeTarget, endpoint: { baseUrl: string; apiKey: string }): InvokeTarget;
}

export interface RuntimeImpl {
  /** Runs one invocation in a process of its own (spawn per message), or over HTTP. */
  invoke: InvokeFn;
  /** The runtime's warm-session driver (docs/sessions.md): used for agents with `process: "warm"`. */
  warm?: WarmDriver;
  target(input: RuntimeTargetInput): RuntimeTarget;
  /** Required when the descriptor's `customProvider` is set. */
  customTarget?(input: RuntimeCustomTargetInput): RuntimeTarget;
  /** Left out: the runtime's model calls never go through the model proxy. */
  modelProxy?: RuntimeModelRoute;
  /**
   * What its CLI logs in with inside the boundary (sandbox-login.ts), from the target and the
   * CLI's environment (the daemon's base, then the target's); undefined when that is not a
   * question (a TinyAGI provider, a cloud provider). Left out: never a question.
   */
  sandboxLogin?(target: InvokeTarget, env: RuntimeEnv, now: number): SandboxLoginStatus | undefined;
}

/** What a sandboxed CLI will log in with inside the boundary (docs/sandbox.md#your-own-cli-login-and-setup). */
export interface SandboxLoginStatus {
  status: 'ok' | 'warn' | 'fail';
  message: string;
  /** The one command (or setting) that fixes a `warn` or `fail`. */
  fix?: string;
}

const impls = new Map<string, RuntimeImpl>();

/**
 * Registers a runtime (or replaces the one of that name): its descriptor in `runtimeKinds`, its
 * implementation beside it. Returns a function that restores what was there before.
 */
export function registerRuntime(kind: RuntimeKind, impl: RuntimeImpl): () => void {
  if (kind.customProvider !== null && impl.customTarget === undefined) {
    throw new TinyError('INVALID_ID', `Runtime "${kind.name}" says custom providers can use it (customProvider) but its implementation has no customTarget.`);
  }
  if (kind.capabilities.staysWarm === true && impl.warm === undefined) {
    throw new TinyError('INVALID_ID', `Runtime "${kind.name}" says it stays warm (capabilities.staysWarm) but its implementation has no warm driver.`);
  }
  const previous = impls.get(kind.name);
  const unregisterKind = runtimeKinds.register(kind);
  impls.set(kind.name, impl);
  return () => {
    if (impls.get(kind.name) !== impl) return;
    unregisterKind();
    if (previous) impls.set(kind.name, previous);
    else impls.delete(kind.name);
  };
}

/** The registered runtime of that name (or alias): its descriptor and implementation. */
export function findRuntime(name: string): { kind: RuntimeKind; impl: RuntimeImpl } | undefined {
  const kind = runtimeKinds.get(name);
  const impl = kind === undefined ? undefined : impls.get(kind.name);
  return kind === undefined || impl === undefined ? undefined : { kind, impl };
}

/** Picks the set, non-empty variables `names` from `env`. */
export function pickEnv(env: RuntimeEnv, names: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of names) {
    const value = env[name];
    if (value !== undefined && value !== '') out[name] = value;
  }
  return out;
}
