/**
 * The egress proxy as a service of the daemon: core's EgressProxy (docs/sandbox.md#egress) on
 * `<TINYAGI_HOME>/run/sandbox/<agent>/egress.sock` for each agent, opened at start and as settings
 * change (a removed agent loses its socket). An agent whose `sandbox` is off gets one too: a run
 * of it that a sandboxed caller started is confined (docs/sandbox.md#calls-between-agents) and
 * connects through it; an unconfined process has no use for it (it is in a 0700 folder). A connection off the agent's list asks the orchestrator's Approvals (an `egress`
 * request on the agent's run in progress). The daemon's own API port is never reached through it.
 *
 * Started before the orchestrator, so a sandboxed agent's first run finds its socket; stopped
 * after it (the services stop in reverse order), withdrawing the requests still waiting.
 */
import { join } from 'node:path';
import { errorMessage, type Settings } from '@tinyagi/core';
import { EgressProxy, type SettingsSource } from '../core-internal.ts';
import type { Approvals } from '@tinyagi/teams';
import type { Logger } from './logger.ts';
import type { Service } from './services.ts';

export interface EgressProxyServiceOptions {
  home: string;
  source: Pick<SettingsSource, 'get' | 'onChange'>;
  /** Who is asked about a host off an agent's list. */
  approvals: () => Pick<Approvals, 'askEgress' | 'confinersOf'>;
  /** The daemon's own ports on this machine (its API): refused whatever the lists say. */
  daemonPorts: () => readonly number[];
  /** With several nodes: whether this node runs the agent (only its agents get a socket here). */
  runsHere?: (agentId: string) => boolean;
  logger: Logger;
}

export function egressProxyService(options: EgressProxyServiceOptions): Service<EgressProxy> {
  const { source, logger } = options;
  let proxy: EgressProxy | undefined;
  let unsubscribe: () => unknown = () => {};
  /** One reconcile at a time, in the order settings changed. */
  let queue: Promise<void> = Promise.resolve();
  const reconcile = (settings: Settings): Promise<void> => {
    const wanted = Object.keys(settings.agents ?? {}).filter((id) => options.runsHere?.(id) ?? true);
    queue = queue.then(() => proxy?.reconcile(wanted)).catch((err: unknown) => logger.error(`the egress proxy could not open its sockets: ${errorMessage(err)}`));
    return queue;
  };
  return {
    name: 'egress proxy',
    async start() {
      proxy = new EgressProxy({
        dir: join(options.home, 'run', 'sandbox'),
        getSettings: () => source.get(),
        ask: (ask) => options.approvals().askEgress(ask),
        confiners: (agentId) => options.approvals().confinersOf(agentId),
        daemonPorts: options.daemonPorts,
        onDecision: (d) => {
          const target = `${d.host}:${d.port}`;
          // A host on the list is the common case (an install makes hundreds): not logged.
          if (d.allowed) {
            if (d.by !== 'list') logger.info(`@${d.agentId} → ${target}: allowed by ${d.by}`);
          } else logger.warn(`@${d.agentId} → ${target}: refused${d.by === 'refused' ? '' : ` by ${d.by}`}${d.reason ? `: ${d.reason}` : ''}`);
        },
      });
      await reconcile(source.get());
      unsubscribe = source.onChange((next) => void reconcile(next));
      return proxy;
    },
    async stop() {
      unsubscribe();
      await queue;
      await proxy?.stop();
    },
  };
}
