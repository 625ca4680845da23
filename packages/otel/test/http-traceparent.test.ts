/**
 * An agent on an HTTP model API (anthropic-api, openai-api) sends the W3C `traceparent` header
 * with every model call: the run's span in the conversation's trace. Against the test kit's
 * stand-in model server on loopback, through the real orchestrator and invoker.
 */
import { afterEach, expect, it } from 'vitest';
import { invokeAgent } from '@tinyagi/core';
import { startModelServer } from '@tinyagi/test-kit';
import { createTraceObserver, traceparentOf } from '../src/index.ts';
import { closeAll, harness } from './harness.ts';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
  await closeAll();
});

for (const runtimeName of ['anthropic-api', 'openai-api'] as const) {
  it(`${runtimeName}: every model call carries traceparent naming the run's span`, async () => {
    const models = await startModelServer();
    cleanups.push(() => models.close());
    const exp = await createTraceObserver({ url: 'http://127.0.0.1:9/v1/traces', exportTimeoutMillis: 200 });
    cleanups.push(() => exp.shutdown());
    const baseUrl = runtimeName === 'anthropic-api' ? models.url : `${models.url}/v1`;
    const h = await harness(
      { custom_providers: { gw: { runtime: runtimeName, base_url: baseUrl, api_key: 'test-key', model: 'model-1' } }, agents: { api: { provider: 'custom:gw' } } },
      { observers: [exp.observer], invoke: exp.wrapInvoke(invokeAgent) },
    );
    cleanups.push(() => h.close());
    const sent = await h.orchestrator.submit({ agent: 'api', message: 'hello', senderId: 'u1' });
    await h.waitForConversation(sent.conversationId);
    const [run] = await h.stores.runs.listRuns(sent.conversationId);
    expect(run!.status).toBe('completed');
    expect(models.calls.length).toBeGreaterThanOrEqual(1);
    for (const call of models.calls) expect(call.request.headers['traceparent']).toBe(traceparentOf(sent.conversationId, run!.id));
  });
}
