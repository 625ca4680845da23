/**
 * The orchestrator on the PostgreSQL stores (`openPgStores`), end to end with the mock provider:
 * a conversation, a team leader handing work to a teammate, a sticky default, a cancelled slow
 * run, a chat-room post and usage. Its own schema, dropped after. Under CI=1 an unreachable
 * database fails this file.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SettingsSchema, type Settings } from '@tinyagi/core';
import { openPgStores } from '@tinyagi/core/pg';
import { cleanupTemp, tempDir, waitFor } from '@tinyagi/test-kit';
import { dropSchema, pgTestDatabase, testSchema } from '@tinyagi/test-kit/pg';
import { ConversationControl, Orchestrator } from '../src/index.ts';

const db = await pgTestDatabase();
afterAll(cleanupTemp);

const echo = (name: string) => ({ provider: 'mock' as const, name, mock: { reply: '{{agent}} heard: {{message}}' } });

describe.skipIf(db.skip !== undefined)('orchestrator on PostgreSQL', () => {
  it('runs conversations, hands work to a teammate, keeps sticky defaults, cancels a running conversation, posts to a room', async () => {
    const schema = testSchema('orch');
    const stores = await openPgStores({ url: db.url, schema, poolSize: 8 });
    const settings: Settings = SettingsSchema.parse({
      agents: {
        lead: { provider: 'mock', name: 'Lead', mock: { reply: 'lead says [@coder: please do {{message}}]' } },
        coder: echo('Cody'),
        slow: { provider: 'mock', mock: { latency_ms: 60_000, reply: 'never' } },
        poster: { provider: 'mock', mock: { reply: 'Noted. [#dev: standup moved to 10]' } },
      },
      teams: { dev: { name: 'Dev Team', agents: ['lead', 'coder', 'poster'], leader_agent: 'lead' } },
      workspace: { path: join(tempDir('tinyagi-pg-orch-'), 'ws') },
    });
    const orchestrator = new Orchestrator({ stores, getSettings: () => settings, sweepMs: 200 });
    const completed = new Set<string>();
    stores.events.subscribe((e) => {
      if (e.type === 'conversation.completed' && e.conversationId) completed.add(e.conversationId);
    });
    orchestrator.start();
    try {
      const direct = await orchestrator.submit({ message: '@coder fix the login', senderId: 'u1' });
      const team = await orchestrator.submit({ message: '@dev plan it', senderId: 'u1' });
      await waitFor(() => completed.has(direct.conversationId) && completed.has(team.conversationId), 20_000, 'both conversations to complete');
      expect((await stores.runs.listRuns(direct.conversationId)).map((r) => [r.agentId, r.status, r.output])).toEqual([['coder', 'completed', 'coder heard: fix the login']]);
      const teamRuns = await stores.runs.listRuns(team.conversationId);
      expect(teamRuns.map((r) => [r.agentId, r.status])).toEqual([
        ['lead', 'completed'],
        ['coder', 'completed'],
      ]);
      expect(teamRuns[1]!.output).toContain('please do plan it');
      expect((await stores.runs.mustGetConversation(team.conversationId)).status).toBe('completed');

      // `@coder` alone makes coder the sender's default.
      await orchestrator.submit({ message: '@coder', senderId: 'u2', channel: 'telegram' });
      expect(await stores.senderDefaults.get('telegram', 'u2')).toBe('coder');
      expect((await orchestrator.submit({ message: 'hello there', senderId: 'u2', channel: 'telegram' })).agentId).toBe('coder');

      const slow = await orchestrator.submit({ message: 'take your time', agent: 'slow', senderId: 'u1' });
      await waitFor(async () => (await stores.runs.listRuns(slow.conversationId)).some((r) => r.status === 'running'), 15_000, 'the slow run to start');
      expect(await new ConversationControl(orchestrator).cancelConversation(slow.conversationId)).toMatchObject({ status: 'cancelled', alreadyEnded: false });
      await waitFor(async () => (await stores.queue.counts()).processing === 0, 15_000, 'the cancelled message to end');
      expect((await stores.runs.mustGetConversation(slow.conversationId)).status).toBe('cancelled');
      expect((await stores.runs.listRuns(slow.conversationId)).map((r) => r.status)).toEqual(['cancelled']);

      const post = await orchestrator.submit({ message: 'say it', agent: 'poster', senderId: 'u1' });
      await waitFor(() => completed.has(post.conversationId), 15_000, 'the poster to finish');
      expect((await stores.chatroom.latest('dev')).map((p) => [p.fromAgent, p.content])).toEqual([['poster', 'standup moved to 10']]);
      expect((await stores.runs.usage('agent')).map((r) => r.key)).toEqual(['coder', 'lead', 'poster', 'slow']);
    } finally {
      await orchestrator.stop(2000);
      await dropSchema(stores.pool, schema);
      await stores.close();
    }
  }, 60_000);
});
