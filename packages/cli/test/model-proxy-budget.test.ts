/**
 * The daemon's model proxy service (src/daemon/model-proxy.ts) with real SQLite stores, the test
 * kit's stand-in model server on loopback and the anthropic-api runtime on a custom provider: a
 * call priced by the proxy is recorded on its run, and an agent's daily USD budget spent by that
 * price refuses the next call before it is forwarded, with the budget named in the error the
 * runtime shows, though the runtime itself reports no cost.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { invokeAgent, type Settings } from '@tinyagi/core';
import { openStores, planLaunch, type SqliteStores } from '@tinyagi/core/internal';
import { startModelServer, waitFor, type ModelServer } from '@tinyagi/test-kit';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createLogger } from '../src/daemon/logger.ts';
import { modelProxyService, type RunningModelProxy } from '../src/daemon/model-proxy.ts';

const REAL_KEY = 'sk-real-key-0123456789abcdef';
/** $3 / $15 / $0.30 / $3.75 per million: (1000 × 3 + 100 × 15 + 200 × 0.3 + 400 × 3.75) / 1e6 = $0.00606. */
const SERVED = { inputTokens: 1000, outputTokens: 100, cacheReadTokens: 200, cacheWriteTokens: 400 };
const CALL_USD = 0.00606;

let dir: string;
let model: ModelServer;
let stores: SqliteStores;
let service: ReturnType<typeof modelProxyService>;
let running: RunningModelProxy;

const settings: Settings = {
  custom_providers: { standin: { runtime: 'anthropic-api', base_url: 'http://127.0.0.1:1', api_key: REAL_KEY } },
  // Room for one call ($0.00606), not two.
  agents: { coder: { provider: 'custom:standin', model: 'claude-sonnet-4-6', budgets: { daily_usd: 0.006 } } },
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tinyagi-proxy-budget-'));
  model = await startModelServer({ respond: () => ({ reply: 'done', usage: SERVED }) });
  settings.custom_providers!['standin']!.base_url = model.url;
  stores = openStores({ dbPath: join(dir, 'tinyagi.db') });
  service = modelProxyService({ home: dir, source: { get: () => settings, onChange: () => () => {} }, stores, logger: createLogger({}) });
  running = await service.start();
});

afterAll(async () => {
  await service?.stop?.();
  stores?.close();
  await model?.close();
  rmSync(dir, { recursive: true, force: true });
});

it("a daily USD budget spent by the proxy's price of the calls refuses the next call, naming the budget", async () => {
  const invoke = running.wrap(invokeAgent);
  const conversation = await stores.runs.createConversation({ rootAgentId: 'coder', channel: 'api' });
  const turn = async (): Promise<{ runId: string; outcome: Promise<unknown> }> => {
    const run = await stores.runs.createRun({ conversationId: conversation.id, agentId: 'coder', cause: 'user', status: 'running' });
    // Planned as the orchestrator plans a launch on a node with the proxy: a custom provider's calls go through it.
    const launch = planLaunch({ settings, agentId: 'coder', env: {}, cwd: dir, node: { boundary: false, modelProxy: true } });
    const outcome = invoke({
      agentId: 'coder',
      target: launch.target,
      modelRoute: launch.modelRoute,
      prompt: 'hi',
      systemPrompt: '',
      cwd: launch.cwd,
      env: { TINYAGI_RUN_ID: run.id, TINYAGI_CONVERSATION_ID: conversation.id },
    });
    return { runId: run.id, outcome };
  };

  const first = await turn();
  const result = (await first.outcome) as { text: string; costUsd?: number };
  expect(result.text).toBe('done');
  // The runtime prices nothing; the proxy does, at the model's list price.
  expect(result.costUsd ?? 0).toBe(0);
  await waitFor(async () => (await stores.runs.getRun(first.runId))?.metered?.calls === 1, 5000, 'the call recorded on its run');
  const metered = (await stores.runs.getRun(first.runId))!.metered!;
  expect(metered).toMatchObject({ calls: 1, inputTokens: 1600, outputTokens: 100, cacheReadTokens: 200, cacheWriteTokens: 400 });
  expect(metered.costUsd).toBeCloseTo(CALL_USD, 12);
  expect((await stores.runs.agentSpend('coder', 0)).costUsd).toBeCloseTo(CALL_USD, 12);

  // The next run's call: $0.00606 spent today, the budget $0.006.
  const second = await turn();
  await expect(second.outcome).rejects.toThrow('TinyAGI budget: @coder has spent $0.0061 today, its daily budget is $0.006. The model call was not made.');
  expect(model.calls).toHaveLength(1);
});
