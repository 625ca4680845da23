/**
 * What every node runs agents with, composed once for the daemon (run.ts) and `tinyagi worker`
 * (worker.ts) on the node's sandbox host (node.ts makes it, before its self-test): trace export,
 * warm sessions, the model proxy, the orchestrator, and the egress proxy, started in that order on
 * the node's service stack and stopped in reverse (each after the orchestrator stops). The agent call is the runtime's invoker inside an ordered list of wrappers
 * (`agentCall`), as interceptors are in Temporal's SDK: a wrapper added here is added to every node.
 * The orchestrator's own start (with the leases a previous process left) and the task flow stay
 * with each kind of node, which starts them after its other services.
 */
import { join } from 'node:path';
import { attachSessionPool, invokeAgent, type InvokeRequest, type InvokeResult } from '@tinyagi/core';
import type { SandboxHost, SettingsSource, StoreSet } from '../core-internal.ts';
import { Approvals, Orchestrator, type OrchestratorOptions } from '@tinyagi/teams';
import { type Telemetry, telemetryService, type TelemetryServiceOptions } from '../telemetry.ts';
import { withShimOnPath, writeAgentShim } from './agent-shim.ts';
import { egressProxyService } from './egress-proxy.ts';
import { logEmbeddings } from './memory-embeddings.ts';
import type { Logger } from './logger.ts';
import { modelProxyService, type RunningModelProxy } from './model-proxy.ts';
import { resource, type ServiceStack } from './services.ts';

export type AgentCall = (req: InvokeRequest) => Promise<InvokeResult>;
/** One layer around the agent call: given the call inside it, the call with what it adds. */
export type AgentCallWrapper = (inner: AgentCall) => AgentCall;

/** The agent call: `base` inside `wrappers`, the first one innermost. */
export function agentCall(wrappers: readonly AgentCallWrapper[], base: AgentCall = invokeAgent): AgentCall {
  return wrappers.reduce((inner, wrap) => wrap(inner), base);
}

export interface AgentNodeOptions {
  services: ServiceStack;
  /** The node's sandbox host (its self-test's check recorded on it): every confined start of the orchestrator and its launch plans on it. */
  sandbox: SandboxHost;
  home: string;
  env: NodeJS.ProcessEnv;
  stores: StoreSet;
  source: Pick<SettingsSource, 'get' | 'onChange'>;
  logger: Logger;
  /** What this node's metrics read beyond the settings (the API node's queue and approvals gauges). */
  metrics?: Pick<TelemetryServiceOptions, 'queueCounts' | 'approvalsPending'>;
  /** The orchestrator's options of this kind of node: its lease owner, which agents it runs, the API's URL and run tokens, plugins. */
  orchestrator: Omit<OrchestratorOptions, 'stores' | 'getSettings' | 'invoke' | 'observers' | 'filesDir'>;
  /** Loopback ports of this node the egress proxy refuses besides the model proxy's (the API's). */
  ownPorts: readonly number[];
  /** With several nodes: whether this node runs the agent (only its agents get an egress socket here). */
  runsHere?: (agentId: string) => boolean;
}

export interface AgentNode {
  telemetry: Telemetry;
  modelProxy: RunningModelProxy;
  orchestrator: Orchestrator;
  approvals: Approvals;
}

export async function startAgentNode(options: AgentNodeOptions): Promise<AgentNode> {
  const { services, home, env, stores, source, logger } = options;
  const getSettings = () => source.get();
  // OpenTelemetry export (docs/telemetry.md): nothing loaded unless on; every node's spans join the conversations' traces.
  const telemetry = await services.start(telemetryService({ settings: getSettings(), env, logger: logger.child('telemetry'), getSettings, ...options.metrics }));
  // Warm agent processes (docs/sessions.md): the `sessions` settings at start and on change; all closed after the orchestrator stops.
  await services.start(
    resource(
      'session pool',
      () => attachSessionPool(source),
      (pool) => pool.stop(),
    ),
  );
  // The model proxy (docs/sandbox.md#the-model-proxy): agents on a key reach their provider through it.
  const modelProxy = await services.start(modelProxyService({ home, source, stores, logger: logger.child('model-proxy'), env }));
  const shimDir = writeAgentShim(join(home, 'run', 'bin'));
  // Recall's embeddings problems (endpoint down, back) go to this node's log; its vectors start loading.
  logEmbeddings(stores, logger.child('memory'), getSettings(), env);
  const orchestrator = new Orchestrator({
    ...options.orchestrator,
    stores,
    getSettings,
    // Every confined start on this node's sandbox host, and the launch plans from its machine check.
    sandboxHost: options.sandbox,
    invoke: agentCall([
      // A run's model calls through the proxy when its launch plan routes them there (a sandboxed agent's key stays outside the boundary).
      (inner) => modelProxy.wrap(inner),
      // `tinyagi call` works from every agent's shell, however TinyAGI was installed.
      (inner) => withShimOnPath(inner, shimDir, process.env['PATH']),
      // TRACEPARENT for every CLI a run launches.
      (inner) => telemetry.wrapInvoke(inner),
    ]),
    // The launch plans may route model calls through this node's proxy: its wrapper above carries them out.
    modelProxy: true,
    filesDir: join(home, 'files'),
    observers: telemetry.observers,
  });
  // Egress by allowlist (docs/sandbox.md#egress): sandboxed agents' sockets before their first run; a host off a list asks on the agent's run.
  const approvals = new Approvals(orchestrator);
  await services.start(
    egressProxyService({
      home,
      source,
      approvals: () => approvals,
      daemonPorts: () => [...options.ownPorts, Number(new URL(modelProxy.proxy.url).port)],
      ...(options.runsHere ? { runsHere: options.runsHere } : {}),
      logger: logger.child('egress'),
    }),
  );
  return { telemetry, modelProxy, orchestrator, approvals };
}
