/**
 * A real orchestrator (@tinyagi/teams) on a real SQLite file in a temp dir, the mock runtime, and
 * the trace observer under test registered through the observer seam.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SettingsSchema, type InvokeRequest, type InvokeResult, type Observer, type Settings } from '@tinyagi/core';
import { openStores, type StoreTransaction } from '@tinyagi/core/internal';
import { Orchestrator, orchestratorFacets, type OrchestratorFacets } from '@tinyagi/teams';
import { InvokeError, invokeAgent } from '@tinyagi/core';
import { cleanupTemp, tempDir, waitFor } from '@tinyagi/test-kit';
import { agentsFromSettings, createTraceObserver, type OtlpProtocol, type TraceExport, type TraceObserverOptions } from '../src/index.ts';
import type { Receiver } from './receiver.ts';

export interface Harness {
  orchestrator: Orchestrator;
  /** The facets on it (approvals, conversation control, …), as the daemon builds them. */
  facets: OrchestratorFacets;
  stores: ReturnType<typeof openStores>;
  waitForConversation(conversationId: string): Promise<void>;
  close(): Promise<void>;
}

export async function harness(settings: Settings, options: { observers: Observer[]; invoke?: (req: InvokeRequest) => Promise<InvokeResult> }): Promise<Harness> {
  const dir = tempDir('tinyagi-otel-');
  const stores = openStores({ dbPath: join(dir, 'tinyagi.db'), backoff: { baseMs: 20, maxMs: 50, jitter: 0, maxRateLimitWaits: 3 } });
  const current = SettingsSchema.parse({ ...settings, workspace: { path: join(dir, 'ws') } });
  const orchestrator = new Orchestrator({
    stores,
    getSettings: () => current,
    sweepMs: 200,
    observers: options.observers as Observer<StoreTransaction>[],
    ...(options.invoke ? { invoke: options.invoke } : {}),
  });
  orchestrator.start();
  return {
    orchestrator,
    facets: orchestratorFacets(orchestrator),
    stores,
    async waitForConversation(conversationId) {
      await waitFor(
        async () => {
          await stores.events.flush();
          return (await stores.events.readSince(0, { conversationId, types: ['conversation.completed'] }, 10))[0];
        },
        15_000,
        `conversation ${conversationId} to complete`,
      );
    },
    async close() {
      await orchestrator.stop(2000);
      await stores.close();
      cleanupTemp();
    },
  };
}

/* The scenario: a team (lead, scout, writer); the lead uses tools, spawns the scout and hands off to the writer, whose first attempt fails. */

const cleanups: Array<() => Promise<void>> = [];

export async function closeAll(): Promise<void> {
  for (const fn of cleanups.splice(0).reverse()) await fn();
}

export const SECRET = 'sk-ant-api03-abcdefghijklmnopqrstuvwxyz';

export const settings: Settings = {
  agents: {
    lead: {
      name: 'Lead',
      provider: 'mock',
      model: 'lead-model-1',
      mock: {
        replies: [
          {
            match: 'plan',
            progress: [{ tool: 'Read', input: { file_path: 'notes.md', api_key: SECRET } }, { status: 'thinking it over' }, { tool: 'Grep', input: { pattern: 'TODO' } }],
            spawn: [{ agent: 'scout', task: 'find the facts' }],
            reply: 'Plan ready. [@writer: draft the post]',
            usage: { input_tokens: 120, output_tokens: 30, cost_usd: 0.012 },
          },
        ],
      },
    },
    scout: { provider: 'mock', mock: { reply: 'facts found', usage: { input_tokens: 10, output_tokens: 5 } } },
    writer: { provider: 'mock', mock: { reply: 'Post drafted.', usage: { input_tokens: 50, output_tokens: 40, cost_usd: 0.004 } } },
  },
  teams: { launch: { name: 'Launch', agents: ['lead', 'scout', 'writer'], leader_agent: 'lead' } },
};

/** The writer's first attempt fails (retryable); every other call is the real mock runtime. */
export function failWriterOnce() {
  let failed = false;
  return (req: InvokeRequest) => {
    if (req.agentId === 'writer' && !failed) {
      failed = true;
      return Promise.reject(new InvokeError('retryable', `writer: upstream overloaded (key ${SECRET})`));
    }
    return invokeAgent(req);
  };
}

/** The daemon's bundle of this package (the CLI's scripts/bundle.mjs; `tinyagi start` loads it as `#otel`): the same API as the sources. */
export async function bundledOtel(): Promise<typeof import('../src/index.ts')> {
  return import(fileURLToPath(new URL('../../cli/dist/otel/index.js', import.meta.url)));
}

/**
 * The trace export options every test uses: to `receiver` over `protocol`, agents described from
 * `agents`, a batch exported every 50 ms and a 2 s export timeout (a test waits on the spans, not
 * on the SDK's 5 s schedule).
 */
export function exportOptions(receiver: Receiver, protocol: OtlpProtocol, agents: Settings): TraceObserverOptions {
  return {
    url: protocol === 'grpc' ? receiver.endpoint : `${receiver.endpoint}/v1/traces`,
    protocol,
    describeAgent: agentsFromSettings(() => agents),
    batch: { maxQueueSize: 100, maxExportBatchSize: 50, scheduledDelayMillis: 50, exportTimeoutMillis: 2000 },
    exportTimeoutMillis: 2000,
  };
}

/** The observer exporting to `receiver`, on a fresh orchestrator; `create` another build's createTraceObserver (default: the sources'). */
export async function setUp(
  receiver: Receiver,
  protocol: OtlpProtocol,
  extra: Partial<TraceObserverOptions> & { wrapObserver?: (observer: Observer) => Observer; create?: typeof createTraceObserver } = {},
): Promise<{ h: Harness; exp: TraceExport }> {
  cleanups.push(() => receiver.close());
  const { wrapObserver, create = createTraceObserver, ...options } = extra;
  const exp = await create({ ...exportOptions(receiver, protocol, settings), workflowIdleMs: 200, ...options });
  cleanups.push(() => exp.shutdown());
  const h = await harness(settings, { observers: [wrapObserver ? wrapObserver(exp.observer) : exp.observer], invoke: failWriterOnce() });
  cleanups.push(() => h.close());
  return { h, exp };
}

/** Runs the scenario's conversation to completion; returns its id and runs. */
export async function runConversation(h: Harness, _receiver: Receiver) {
  const sent = await h.orchestrator.submit({ message: '@launch plan the launch', channel: 'api', sender: 'ana', senderId: 'u1' });
  await h.waitForConversation(sent.conversationId);
  const runs = await h.stores.runs.listRuns(sent.conversationId);
  const run = (agent: string) => runs.find((r) => r.agentId === agent)!;
  return { conversationId: sent.conversationId, lead: run('lead'), scout: run('scout'), writer: run('writer') };
}
