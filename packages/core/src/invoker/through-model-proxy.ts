/**
 * Invocations whose model calls go through the model proxy (docs/sandbox.md#the-model-proxy):
 * an agent on a custom provider with an API key, and a sandboxed agent (`sandbox` on or
 * required) whose target holds a key, run with the proxy's URL and the agent's placeholder key
 * instead of the provider's, given the way the runtime gives a custom provider's
 * (RuntimeImpl.modelProxy). While the invocation runs the proxy knows the real upstream and
 * records the calls on its run (TINYAGI_RUN_ID of the request's environment).
 *
 * The placeholder names the invocation's lane, so two runs of one agent at once are told apart:
 * a warm process's lane is its session (one process per agent and session key, its key in its
 * environment for life, pointed at each turn's run as the turn begins); any other invocation's
 * is its own, random.
 *
 * The target the rest of TinyAGI sees (quota accounts, fallbacks, doctor) stays the real one;
 * only the invocation below this wrapper gets the proxied one. Targets with nothing to stand in
 * for (a subscription login, a CLI's own login or config) pass unchanged.
 */
import { randomBytes } from 'node:crypto';
import { boundaryEnforced, type MeteredSpend, type ModelProxy, type ModelUpstream } from '@tinyagi/sandbox';
import { runtimeRunsProcess } from '../sandbox/status.ts';
import { findRuntime } from './runtimes/index.ts';
import type { InvokeFn, InvokeRequest, InvokeTarget } from './types.ts';

type SandboxMode = 'off' | 'on' | 'required';

export interface ModelProxyRouting {
  proxy: Pick<ModelProxy, 'endpoint' | 'begin' | 'open'>;
  /** The agent's `sandbox` setting when its target does not carry one (`target.sandbox`, resolve-target.ts); default off. */
  sandbox?: (agentId: string) => SandboxMode;
  /**
   * Whether this invocation's processes run inside the boundary, where the proxy is the bridged
   * 127.0.0.1:45801 reaching the agent's model.sock (else its loopback port). Default: a runtime
   * that runs a process (a CLI, an ACP agent) whose target is sandboxed on a machine that enforces the
   * boundary (sandbox/boundary.ts `boundaryEnforced`, what the CLI's spawn decides by too).
   */
  confined?: (req: InvokeRequest) => boolean;
  /** An invocation whose CLI reported a cost the proxy's price of its calls differs from (both in USD), for the daemon's log. */
  onCostDifference?: (req: InvokeRequest, reported: number, metered: MeteredSpend) => void;
}

/** The proxy's lane of an invocation: a warm process's session, else the invocation's own. */
function laneOf(req: Pick<InvokeRequest, 'target' | 'session'>): string {
  return req.target.warm ? `session:${req.session?.key ?? 'default'}` : `invocation:${randomBytes(9).toString('hex')}`;
}

/** Reported and metered costs further apart than this share of the larger are a difference worth a log line (rounding is not). */
const COST_TOLERANCE = 0.01;

function confinedByDefault(req: InvokeRequest): boolean {
  return runtimeRunsProcess(findRuntime(req.target.runtime)?.kind) && boundaryEnforced(req.target.sandbox);
}

/** The target's upstream, when this agent's calls go through the proxy. */
export function proxiedUpstream(target: InvokeTarget, sandbox: SandboxMode): ModelUpstream | undefined {
  const route = findRuntime(target.runtime)?.impl.modelProxy;
  const upstream = route?.upstream(target);
  if (!upstream) return undefined;
  return target.provider.startsWith('custom:') || sandbox !== 'off' ? upstream : undefined;
}

/** The target the invocation runs with: the proxy's URL and placeholder in place of the upstream's, the real key nowhere in it. */
export function proxiedTarget(target: InvokeTarget, upstream: ModelUpstream, endpoint: { baseUrl: string; apiKey: string }): InvokeTarget {
  const route = findRuntime(target.runtime)!.impl.modelProxy!;
  const routed = route.via(target, endpoint);
  // Whatever else carried the key (an agent's env_passthrough naming it too) goes.
  const env = routed.env === undefined ? undefined : Object.fromEntries(Object.entries(routed.env).filter(([, value]) => !value.includes(upstream.key)));
  const headers = routed.headers === undefined ? undefined : Object.fromEntries(Object.entries(routed.headers).filter(([, value]) => !value.includes(upstream.key)));
  const out: InvokeTarget = { ...routed };
  if (env !== undefined) out.env = env;
  if (headers !== undefined) out.headers = headers;
  if (out.apiKey === upstream.key) delete out.apiKey;
  // The key the proxy carries never enters the sandbox, whatever else names it (sandbox/withheld.ts).
  if (out.sandbox) out.sandbox = { ...out.sandbox, withheld: [...(out.sandbox.withheld ?? []), upstream.key] };
  return out;
}

export function invokeThroughModelProxy(invoke: InvokeFn, routing: ModelProxyRouting): InvokeFn {
  return async (req) => {
    const upstream = proxiedUpstream(req.target, req.target.sandbox?.mode ?? routing.sandbox?.(req.agentId) ?? 'off');
    if (!upstream) return invoke(req);
    const where = (routing.confined ?? confinedByDefault)(req) ? 'sandbox' : 'loopback';
    // Inside the boundary the agent reaches the proxy on its socket only (sandbox-init bridges it).
    if (where === 'sandbox') await routing.proxy.open(req.agentId);
    const lane = laneOf(req);
    const endpoint = routing.proxy.endpoint(req.agentId, upstream.family, where, lane);
    const end = routing.proxy.begin({
      agentId: req.agentId,
      lane,
      runId: req.env?.TINYAGI_RUN_ID ?? null,
      conversationId: req.env?.TINYAGI_CONVERSATION_ID ?? null,
      upstream,
      onQuota: req.onQuota,
    });
    let reported: number | undefined;
    try {
      const result = await invoke({ ...req, target: proxiedTarget(req.target, upstream, endpoint) });
      reported = result.costUsd;
      return result;
    } finally {
      const metered = end();
      if (reported !== undefined && metered.costUsd > 0 && Math.abs(reported - metered.costUsd) > COST_TOLERANCE * Math.max(reported, metered.costUsd)) {
        routing.onCostDifference?.(req, reported, metered);
      }
    }
  };
}
