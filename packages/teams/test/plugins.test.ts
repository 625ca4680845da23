import { afterEach, describe, expect, it } from 'vitest';
import type { OrchestratorPlugin } from '../src/index.ts';
import { closeAll, eventsOf, harness, waitForCompletion } from './helpers.ts';

afterEach(closeAll);

const echo = { provider: 'mock' as const, mock: { reply: '{{agent}} heard: {{message}}' } };

describe('plugin failures', () => {
  it('a hook that throws, rejects or returns a non-string is skipped: the text passes through, later plugins run, the run completes and a system.notice names it', async () => {
    const plugins: OrchestratorPlugin[] = [
      {
        name: 'broken',
        transformIncoming: () => {
          throw new Error('incoming boom');
        },
        transformOutgoing: async () => Promise.reject(new Error('outgoing boom')),
      },
      { name: 'wrong-type', transformIncoming: () => 42 as unknown as string, transformOutgoing: () => undefined as unknown as string },
      { name: 'tag', transformIncoming: (t) => `${t} (in)`, transformOutgoing: (t) => `${t} (out)` },
    ];
    const h = await harness({ agents: { bot: echo } }, { plugins });
    const sent = await h.orchestrator.submit({ message: 'quiet words', senderId: 'u1' });
    await waitForCompletion(h, sent.conversationId);

    const [run] = await h.stores.runs.listRuns(sent.conversationId);
    expect(run).toMatchObject({ status: 'completed', output: 'bot heard: quiet words (in) (out)' });
    expect((await h.stores.outbox.list({ conversationId: sent.conversationId })).map((o) => o.text)).toEqual(['bot heard: quiet words (in) (out)\n\n— @bot']);
    expect(await h.stores.queue.listDead()).toEqual([]);

    const notices = await eventsOf(h.stores, { conversationId: sent.conversationId, types: ['system.notice'] });
    expect(notices.map((e) => ({ runId: e.runId, agentId: e.agentId, ...e.data }))).toEqual([
      expect.objectContaining({ runId: run!.id, agentId: 'bot', where: 'plugin', plugin: 'broken', hook: 'transformIncoming', error: 'threw: incoming boom' }),
      expect.objectContaining({ runId: run!.id, agentId: 'bot', where: 'plugin', plugin: 'wrong-type', hook: 'transformIncoming', error: 'returned number instead of a string' }),
      expect.objectContaining({ runId: run!.id, agentId: 'bot', where: 'plugin', plugin: 'broken', hook: 'transformOutgoing', error: 'threw: outgoing boom' }),
      expect.objectContaining({ runId: run!.id, agentId: 'bot', where: 'plugin', plugin: 'wrong-type', hook: 'transformOutgoing', error: 'returned undefined instead of a string' }),
    ]);
  });

  it('a hook that never settles is given up after the plugin timeout; its late result is ignored', async () => {
    let release!: (text: string) => void;
    const plugins: OrchestratorPlugin[] = [
      { name: 'stuck', transformOutgoing: () => new Promise<string>((resolve) => (release = resolve)) },
      { name: 'tag', transformOutgoing: (t) => `${t} (out)` },
    ];
    const h = await harness({ agents: { bot: echo } }, { plugins, pluginTimeoutMs: 200 });
    const sent = await h.orchestrator.submit({ message: 'hello', senderId: 'u1' });
    await waitForCompletion(h, sent.conversationId);
    release('too late');
    const [run] = await h.stores.runs.listRuns(sent.conversationId);
    expect(run).toMatchObject({ status: 'completed', output: 'bot heard: hello (out)' });
    const notices = await eventsOf(h.stores, { conversationId: sent.conversationId, types: ['system.notice'] });
    expect(notices.map((e) => e.data)).toEqual([expect.objectContaining({ plugin: 'stuck', hook: 'transformOutgoing', error: 'did not finish within 200 ms' })]);
  });
});
