/**
 * The progress lines of `send --wait` and `chat` (describeEvent), fed the events a real
 * orchestrator emits (mock-provider agents, real SQLite): each line reads only fields the
 * producer sends. Regression: the budget warning used to print an empty "budget warning:" (it
 * read a `message` the producer never sends) and retries were announced through a `willRetry`
 * nothing emits.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '@tinyagi/test-kit';
import { SettingsSchema, type Settings } from '@tinyagi/core';
import { openStores, type SqliteStores } from '@tinyagi/core/internal';
import { Orchestrator } from '@tinyagi/teams';
import { describeEvent, outcomeLine } from '../src/conversation-watch.ts';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

function start(settings: Settings): { stores: SqliteStores; orchestrator: Orchestrator } {
  const dir = mkdtempSync(join(tmpdir(), 'tinyagi-watch-'));
  const stores = openStores({ dbPath: join(dir, 'tinyagi.db') });
  const parsed = SettingsSchema.parse({ ...settings, workspace: { path: join(dir, 'ws') } });
  const orchestrator = new Orchestrator({ stores, getSettings: () => parsed, sweepMs: 100 });
  orchestrator.start();
  cleanups.push(async () => {
    await orchestrator.stop(2000);
    stores.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { stores, orchestrator };
}

function lines(stores: SqliteStores, conversationId: string): string[] {
  stores.events.flush();
  return stores.events
    .readSince(0, { conversationId }, 10_000)
    .map(describeEvent)
    .filter((line): line is string => line !== undefined);
}

describe('send --wait progress lines', () => {
  it('a budget warning says which budget, how much is used and of what', async () => {
    const { stores, orchestrator } = start({
      agents: { spender: { provider: 'mock', mock: { reply: 'done', usage: { cost_usd: 0.3 } } } },
      budgets: { conversation_usd: 1, soft_limit_fraction: 0.25 },
    });
    const sent = await orchestrator.submit({ message: '@spender go', senderId: 'u1' });
    await waitFor(() => stores.events.readSince(0, { conversationId: sent.conversationId, types: ['conversation.completed'] }).length > 0, 20_000, 'the conversation to complete');
    const warning = lines(stores, sent.conversationId).filter((l) => l.startsWith('budget warning'));
    expect(warning).toEqual(['budget warning: conversation_usd at $0.30 of $1.00 (30%)']);
  });

  it('a retried and then dead-lettered message is announced from the queue events', async () => {
    const { stores, orchestrator } = start({ agents: { flaky: { provider: 'mock', max_attempts: 2, mock: { replies: [{ match: 'boom', fail: 'retryable' }] } } } });
    const sent = await orchestrator.submit({ message: '@flaky boom', senderId: 'u1' });
    await waitFor(() => stores.queue.get(sent.messageId)?.status === 'dead', 20_000, 'the dead letter');
    // The failure's reply follows the dead letter's commit (once that is on disk).
    await waitFor(() => lines(stores, sent.conversationId).some((l) => l.startsWith('@flaky failed:')), 20_000, 'the failure line');
    const shown = lines(stores, sent.conversationId);
    expect(shown).toContainEqual(expect.stringMatching(/^@flaky: attempt 1\/2 failed \(failed\), retrying in \d+ (s|min)$/));
    expect(shown).toContainEqual('@flaky: gave up (failed) after attempt 2/2');
    expect(shown).toContainEqual(expect.stringMatching(/^@flaky failed: .*scripted retryable failure\. \(gave up after 2 attempts\)$/));
    expect(shown.every((l) => !l.endsWith(': ') && !l.includes('undefined'))).toBe(true);
  });

  it('a failed conversation ends in one full stop, also when its reason is a sentence already (was "failure..")', async () => {
    const { stores, orchestrator } = start({ agents: { broken: { provider: 'mock', max_attempts: 1, mock: { replies: [{ match: 'boom', fail: 'permanent' }] } } } });
    const sent = await orchestrator.submit({ message: '@broken boom', senderId: 'u1' });
    await waitFor(() => stores.runs.getConversation(sent.conversationId)?.status === 'failed', 20_000, 'the failed conversation');
    const reason = stores.runs.getConversation(sent.conversationId)!.stopReason!;
    expect(reason).toMatch(/scripted permanent failure\.$/);
    const line = outcomeLine({ conversationId: sent.conversationId, outcome: 'failed', replies: [], reason });
    expect(line).toMatch(/^The conversation failed: @broken failed: .*scripted permanent failure\.$/);
    expect(line).not.toContain('..');
  });
});
