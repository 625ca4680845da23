/**
 * Steering notes follow how the agent runs (capabilities.ts, docs/sessions.md): an agent that
 * runs warm on a runtime with a warm driver (a registered runtime with test-kit's fake-warm
 * driver: a real warm process) is told and shown "given to the running turn at once", and it is
 * true: the injected text reaches the running turn; the same runtime per message says the input
 * waits for the next turn.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { defineRuntimeKind } from '@tinyagi/client/contract';
import { registerRuntime, sessionPool, type WarmDriver, type RuntimeImpl } from '@tinyagi/core';
import { fakeWarmDriver, fakeWarmOnce } from '@tinyagi/test-kit/fake-warm-driver';
import { waitFor } from '@tinyagi/test-kit';
import { closeAll, harness, waitForCompletion } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'tinyagi-steer-warm-'));
let unregister: () => void = () => {};

beforeAll(() => {
  const kind = defineRuntimeKind({
    name: 'fake-warm-steer',
    aliases: [],
    title: 'Fake live (steering test)',
    description: 'test-kit bin/fake-warm',
    command: null,
    installHint: null,
    passthroughEnv: [],
    capabilities: { keepsSession: true, steersMidTurn: false, pauses: false, asksApproval: false, readsAgentsMd: false, usesTools: false },
    instructionFiles: [],
    modelAliases: {},
    modelsBlock: null,
    customProvider: null,
    retry: 'resume-at',
    steerPoint: null,
  });
  const impl: RuntimeImpl = {
    invoke: (req) => fakeWarmOnce(req, { FAKE_WARM_STATE: dir }),
    target: () => ({}),
    warm: fakeWarmDriver({ env: { FAKE_WARM_STATE: dir } }) as unknown as WarmDriver,
  };
  unregister = registerRuntime(kind, impl);
});
afterEach(closeAll);
afterAll(async () => {
  await sessionPool.closeAll();
  unregister();
  rmSync(dir, { recursive: true, force: true });
});

it('a warm agent: inject is said to reach the running turn, and it does; per message it waits for the next turn', async () => {
  const h = await harness({ agents: { warm: { provider: 'fake-warm-steer', process: 'warm' }, cold: { provider: 'fake-warm-steer' } } });
  const sent = await h.orchestrator.submit({ message: '@warm WAIT_STEER build it', senderId: 'u1' });
  const run = await waitFor(() => h.orchestrator.status().running.find((r) => r.conversationId === sent.conversationId));
  const steering = await h.facets.steering.ofRun(run.runId);
  const inject = steering.commands.find((c) => c.command === 'inject');
  expect(inject).toMatchObject({ midTurn: true, note: expect.stringContaining('Given to the running turn at once') });
  expect(steering.commands.find((c) => c.command === 'pause')).toMatchObject({ midTurn: false, note: expect.stringContaining('cannot hold its turn') });
  expect(steering.commands.find((c) => c.command === 'cancel')?.note).toContain('warm process stays');
  // The turn is on the warm process (input sent before it starts joins the turn's prompt instead).
  await waitFor(() => sessionPool.list().some((s) => s.agentId === 'warm' && s.busy));
  const outcome = await h.facets.steering.steer(run.runId, 'inject', { text: 'use the blue one' });
  expect(outcome).toMatchObject({ accepted: true, effect: expect.stringContaining('Given to the running turn at once') });
  await waitForCompletion(h, sent.conversationId);
  const replies = await h.stores.outbox.list({ conversationId: sent.conversationId });
  expect(replies.map((r) => r.text).join('\n')).toMatch(/\[steered: [\s\S]*use the blue one\]/);

  const cold = await h.orchestrator.submit({ message: '@cold SLOW 3000 task', senderId: 'u2' });
  const coldRun = await waitFor(() => h.orchestrator.status().running.find((r) => r.conversationId === cold.conversationId));
  const coldInject = (await h.facets.steering.ofRun(coldRun.runId)).commands.find((c) => c.command === 'inject');
  expect(coldInject).toMatchObject({ midTurn: false, note: expect.stringContaining('cannot take input mid-turn') });
});
