/**
 * The model proxy as a service of the daemon (and of a worker node): core's ModelProxy
 * (docs/sandbox.md#the-model-proxy) on a loopback port and, per sandboxed agent, on
 * `<TINYAGI_HOME>/run/sandbox/<agent>/model.sock` (opened ahead for the agents whose `sandbox` is on
 * or required, at start and when settings change; a run its callers confine opens its agent's when
 * it starts). It records each model call on its run (`runs.addMetered`), asks the budgets before a
 * call is forwarded, and gives the orchestrator its invoker wrapped so that the runs whose launch
 * plan routes through the proxy (core's invoker/launch-plan.ts) run with its URL and placeholder key.
 *
 * Started before the orchestrator, stopped after it (the services stop in reverse order).
 */
import { join } from 'node:path';
import { errorMessage, type InvokeRequest, type InvokeResult, type Settings } from '@tinyagi/core';
import { agentSandboxMode, invokeThroughModelProxy, ModelProxy, type SettingsSource, type StoreSet } from '../core-internal.ts';
import { modelCallBudget } from '@tinyagi/teams';
import type { Logger } from './logger.ts';
import type { Service } from './services.ts';

type InvokeFn = (req: InvokeRequest) => Promise<InvokeResult>;

export interface RunningModelProxy {
  proxy: ModelProxy;
  /** The invoker that carries out a request's model route through the proxy. */
  wrap(invoke: InvokeFn): InvokeFn;
}

function sandboxedAgents(settings: Settings): string[] {
  return Object.keys(settings.agents ?? {}).filter((id) => agentSandboxMode(settings, id) !== 'off');
}

export function modelProxyService(options: { home: string; source: Pick<SettingsSource, 'get' | 'onChange'>; stores: StoreSet; logger: Logger; env?: NodeJS.ProcessEnv }): Service<RunningModelProxy> {
  let proxy: ModelProxy | undefined;
  let unsubscribe: () => unknown = () => {};
  const { source, stores, logger } = options;
  return {
    name: 'model proxy',
    async start() {
      const port = Number(options.env?.TINYAGI_MODEL_PROXY_PORT ?? 0);
      const started = await ModelProxy.start({
        dir: join(options.home, 'run', 'sandbox'),
        port: Number.isInteger(port) && port > 0 && port < 65536 ? port : 0,
        budget: (query) => modelCallBudget(stores, source.get(), query),
        onCall: async (call) => {
          if (call.runId === null) return;
          const u = call.usage;
          await stores.runs.addMetered(call.runId, {
            calls: 1,
            inputTokens: u?.inputTokens ?? 0,
            outputTokens: u?.outputTokens ?? 0,
            cacheReadTokens: u?.cacheReadTokens ?? 0,
            cacheWriteTokens: u?.cacheWriteTokens ?? 0,
            costUsd: call.costUsd ?? 0,
          });
        },
        onRefused: (agentId, status, message) => logger.warn(`model proxy: refused a request${agentId ? ` of ${agentId}` : ''} (${status}): ${message}`),
        onError: (err) => logger.error(`model proxy: ${errorMessage(err)}`),
      });
      proxy = started;
      const reconcile = (settings: Settings): void =>
        void started.reconcile(sandboxedAgents(settings)).catch((err: unknown) => logger.error(`model proxy: the sandboxed agents' sockets: ${errorMessage(err)}`));
      await started.reconcile(sandboxedAgents(source.get()));
      unsubscribe = source.onChange((next) => reconcile(next));
      logger.info(`model proxy listening on ${started.url}`);
      return {
        proxy: started,
        wrap: (invoke) =>
          invokeThroughModelProxy(invoke, {
            proxy: started,
            // The run records both; the budgets count the larger (docs/quotas.md).
            onCostDifference: (req, reported, metered) =>
              logger.info(
                `model proxy: run ${req.env?.TINYAGI_RUN_ID ?? '?'} of ${req.agentId}: the CLI reported $${reported.toFixed(6)}, the proxy priced its calls at $${metered.costUsd.toFixed(6)} (${metered.inputTokens} in, ${metered.outputTokens} out, ${metered.cacheReadTokens} cache reads, ${metered.cacheWriteTokens} cache writes)`,
              ),
          }),
      };
    },
    async stop() {
      unsubscribe();
      await proxy?.stop();
    },
  };
}
