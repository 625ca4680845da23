/**
 * Invocations whose model calls go through the model proxy (docs/sandbox.md#the-model-proxy):
 * an agent on a custom provider with an API key, and a sandboxed agent (`sandbox` on or
 * required) whose target holds a key, run with the proxy's URL and the agent's placeholder key
 * instead of the provider's, given the way the runtime gives a custom provider's
 * (RuntimeImpl.modelProxy). While the invocation runs the proxy knows the real upstream and
 * records the calls on its run (TINYAGI_RUN_ID of the request's environment).
 *
 * The target the rest of TinyAGI sees (quota accounts, fallbacks, doctor) stays the real one;
 * only the invocation below this wrapper gets the proxied one. Targets with nothing to stand in
 * for (a subscription login, a CLI's own login or config) pass unchanged.
 */
import { boundaryEnforced } from '../sandbox/boundary.ts';
import type { ModelProxy } from '../sandbox/model-proxy.ts';
import type { ModelUpstream } from '../sandbox/model-upstream.ts';
import { findRuntime } from './runtimes/index.ts';
import type { InvokeFn, InvokeRequest, InvokeTarget } from './types.ts';

type SandboxMode = 'off' | 'on' | 'required';

export interface ModelProxyRouting {
  proxy: Pick<ModelProxy, 'endpoint' | 'begin' | 'open'>;
  /** The agent's `sandbox` setting when its target does not carry one (`target.sandbox`, resolve-target.ts); default off. */
  sandbox?: (agentId: string) => SandboxMode;
  /**
   * Whether this invocation's processes run inside the boundary, where the proxy is the bridged
   * 127.0.0.1:45801 reaching the agent's model.sock (else its loopback port). Default: a CLI
   * runtime (its kind has a command) whose target is sandboxed on a machine that enforces the
   * boundary (sandbox/boundary.ts `boundaryEnforced`, what the CLI's spawn decides by too).
   */
  confined?: (req: InvokeRequest) => boolean;
}

function confinedByDefault(req: InvokeRequest): boolean {
  return findRuntime(req.target.runtime)?.kind.command != null && boundaryEnforced(req.target.sandbox);
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
  return out;
}

export function invokeThroughModelProxy(invoke: InvokeFn, routing: ModelProxyRouting): InvokeFn {
  return async (req) => {
    const upstream = proxiedUpstream(req.target, req.target.sandbox?.mode ?? routing.sandbox?.(req.agentId) ?? 'off');
    if (!upstream) return invoke(req);
    const where = (routing.confined ?? confinedByDefault)(req) ? 'sandbox' : 'loopback';
    // Inside the boundary the agent reaches the proxy on its socket only (sandbox-init bridges it).
    if (where === 'sandbox') await routing.proxy.open(req.agentId);
    const endpoint = routing.proxy.endpoint(req.agentId, upstream.family, where);
    const end = routing.proxy.begin({
      agentId: req.agentId,
      runId: req.env?.TINYAGI_RUN_ID ?? null,
      conversationId: req.env?.TINYAGI_CONVERSATION_ID ?? null,
      upstream,
      onQuota: req.onQuota,
    });
    try {
      return await invoke({ ...req, target: proxiedTarget(req.target, upstream, endpoint) });
    } finally {
      end();
    }
  };
}
