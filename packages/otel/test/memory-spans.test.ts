/**
 * What memory went into a run's context is on the run's span (docs/memory.md, docs/telemetry.md):
 * a real orchestrator (SQLite file, mock runtime) with memory entries, a real OTLP receiver
 * (HTTP/protobuf). The run given entries carries their count, ids, the block's tokens and the
 * budget; a run given none carries no memory attribute.
 */
import { afterEach, expect, it } from 'vitest';
import { waitFor } from '@tinyagi/test-kit';
import type { Settings } from '@tinyagi/core';
import { addMemory } from '@tinyagi/core/internal';
import { createTraceObserver } from '../src/index.ts';
import { exportOptions, harness } from './harness.ts';
import { httpReceiver } from './receiver.ts';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

const settings: Settings = {
  agents: { ann: { provider: 'mock', mock: { reply: 'ok' } }, bob: { provider: 'mock', mock: { reply: 'ok' }, memory: { budget_tokens: 500 } } },
};

it("the run's invoke_agent span says which memory entries went into its context and their size", async () => {
  const receiver = await httpReceiver();
  cleanups.push(() => receiver.close());
  const exp = await createTraceObserver(exportOptions(receiver, 'http/protobuf', settings));
  cleanups.push(() => exp.shutdown());
  const h = await harness(settings, { observers: [exp.observer] });
  cleanups.push(() => h.close());
  const pinned = await addMemory(h.stores.memory, { scope: { kind: 'agent', id: 'bob' }, kind: 'preference', text: 'Answer in short sentences', pinned: true, by: 'cli' });
  const deploy = await addMemory(h.stores.memory, { scope: { kind: 'agent', id: 'bob' }, kind: 'procedure', text: 'The website is deployed with the release workflow', by: 'cli' });

  const withMemory = await h.orchestrator.submit({ message: '@bob how is the website deployed?', senderId: 'u1' });
  const without = await h.orchestrator.submit({ message: '@ann how is the website deployed?', senderId: 'u1' });
  await h.waitForConversation(withMemory.conversationId);
  await h.waitForConversation(without.conversationId);
  await exp.flush();
  await waitFor(() => receiver.spans.filter((s) => s.name.startsWith('invoke_agent')).length >= 2, 10_000, 'both runs’ spans');

  const [run] = await h.stores.runs.listRuns(withMemory.conversationId);
  const injection = (await h.stores.memory.injectionOf(run!.id))!;
  const bob = receiver.spans.find((s) => s.name === 'invoke_agent bob')!;
  expect(bob.attributes).toMatchObject({
    'tinyagi.memory.entries': 2,
    'tinyagi.memory.entry_ids': [pinned.id, deploy.id],
    'tinyagi.memory.tokens': injection.tokens,
    'tinyagi.memory.budget': 500,
  });
  expect(injection.tokens).toBeGreaterThan(0);
  const ann = receiver.spans.find((s) => s.name === 'invoke_agent ann')!;
  expect(Object.keys(ann.attributes).filter((k) => k.startsWith('tinyagi.memory'))).toEqual([]);
});
