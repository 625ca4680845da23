/**
 * Carries out a launch's model route (launch-plan.ts, docs/sandbox.md#the-model-proxy): an
 * invocation whose request says `modelRoute: { via: 'proxy' }` runs with the proxy's URL and the
 * agent's placeholder key instead of the provider's, given the way the runtime gives a custom
 * provider's (RuntimeImpl.modelProxy). While the invocation runs the proxy knows the real upstream
 * and records the calls on its run (TINYAGI_RUN_ID of the request's environment). Which
 * invocations go through the proxy is the plan's decision, not this wrapper's; a request without a
 * route goes direct.
 *
 * The placeholder names the invocation's lane, so two runs of one agent at once are told apart:
 * a warm process's lane is its session (one process per agent and session key, its key in its
 * environment for life, pointed at each turn's run as the turn begins); any other invocation's
 * is its own, random.
 *
 * The target the rest of TinyAGI sees (quota accounts, fallbacks, doctor) stays the real one;
 * only the invocation below this wrapper gets the proxied one.
 */
import { randomBytes } from 'node:crypto';
import type { MeteredSpend, ModelProxy, ModelUpstream } from '@tinyagi/sandbox';
import { findRuntime } from './runtimes/index.ts';
import type { InvokeFn, InvokeRequest, InvokeTarget } from './types.ts';

export interface ModelProxyRouting {
  proxy: Pick<ModelProxy, 'endpoint' | 'begin' | 'open'>;
  /** An invocation whose CLI reported a cost the proxy's price of its calls differs from (both in USD), for the daemon's log. */
  onCostDifference?: (req: InvokeRequest, reported: number, metered: MeteredSpend) => void;
}

/** The proxy's lane of an invocation: a warm process's session, else the invocation's own. */
function laneOf(req: Pick<InvokeRequest, 'target' | 'session'>): string {
  return req.target.warm ? `session:${req.session?.key ?? 'default'}` : `invocation:${randomBytes(9).toString('hex')}`;
}

/** Reported and metered costs further apart than this share of the larger are a difference worth a log line (rounding is not). */
const COST_TOLERANCE = 0.01;

/**
 * The upstream the proxy would stand in for: the target's key as its runtime's route finds it
 * (none for a subscription login, a CLI's own login or config), for an agent on a custom provider
 * or a sandboxed one (`sandbox` after the callers' chain).
 */
export function proxiedUpstream(target: InvokeTarget, sandbox: 'off' | 'on' | 'required'): ModelUpstream | undefined {
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
  return out;
}

export function invokeThroughModelProxy(invoke: InvokeFn, routing: ModelProxyRouting): InvokeFn {
  return async (req) => {
    const route = req.modelRoute;
    if (route?.via !== 'proxy') return invoke(req);
    const { upstream, where } = route;
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
