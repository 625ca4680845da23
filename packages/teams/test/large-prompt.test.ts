import { afterEach, describe, expect, it } from 'vitest';
import { invokeAgent, type InvokeRequest } from '@tinyagi/core';
import { fakeCli } from '@tinyagi/test-kit';
import { closeAll, eventsOf, harness, recordingInvoker, waitForCompletion } from './helpers.ts';

afterEach(closeAll);

const FAKE_CLAUDE = fakeCli('claude');

describe('large prompts', () => {
  it('a 200 KiB message reaches the Claude Code CLI and is answered', async () => {
    const log = recordingInvoker((req: InvokeRequest) => invokeAgent({ ...req, target: { ...req.target, command: FAKE_CLAUDE } }));
    const h = await harness({ agents: { coder: { provider: 'anthropic' } } }, { invoke: log.invoke });
    const message = `${'a line of pasted log output\n'.repeat(7400)}FAKE:reply=read all of it`;
    expect(Buffer.byteLength(message)).toBeGreaterThan(200 * 1024);

    const sent = await h.orchestrator.submit({ message, senderId: 'u1' });
    await waitForCompletion(h, sent.conversationId);
    expect((await h.stores.outbox.list({ conversationId: sent.conversationId }))[0]!.text).toContain('read all of it');
    expect(log.calls).toHaveLength(1);
    expect(await h.stores.queue.listDead()).toEqual([]);
  });

  it('a CLI the kernel refuses to start as too large (E2BIG) fails once and tells the sender', async () => {
    // An environment string over 128 KiB makes execve fail with E2BIG, as an oversized argv did.
    const log = recordingInvoker((req: InvokeRequest) => invokeAgent({ ...req, target: { ...req.target, command: FAKE_CLAUDE, env: { HUGE_SETTING: 'x'.repeat(200 * 1024) } } }));
    const h = await harness({ agents: { coder: { provider: 'anthropic' } } }, { invoke: log.invoke });

    const sent = await h.orchestrator.submit({ message: 'hello', senderId: 'u1' });
    await waitForCompletion(h, sent.conversationId);
    expect(log.calls).toHaveLength(1);
    expect(await eventsOf(h.stores, { conversationId: sent.conversationId, types: ['queue.retry'] })).toEqual([]);
    const [note] = await h.stores.outbox.list({ conversationId: sent.conversationId });
    expect(note?.text).toContain('@coder could not answer');
    expect(note?.text).toContain('too large');
    expect(await h.stores.queue.listDead()).toHaveLength(1);
  });
});
