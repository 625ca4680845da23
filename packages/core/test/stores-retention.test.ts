/**
 * Retention and bulk deletes across the stores, on a real SQLite file: `Stores.prune` removes old
 * rows from every table that grows with use (keeping recent rows and dead letters),
 * `queue.deleteAllDead` removes every dead letter (beyond any page size), and `outbox.expire`
 * expires every overdue row, not only the first batch.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStores, type SqliteStores } from '../src/compose/sqlite-stores.ts';

const DAY = 86_400_000;
let dir: string;
let s: SqliteStores;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tinyagi-retention-'));
  s = openStores({ dbPath: join(dir, 'tinyagi.db'), durability: 'normal' });
});
afterEach(() => {
  s.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Moves a row's timestamp into the past (the stores stamp Date.now()). */
function age(table: string, column: string, where: string, ts: number): void {
  s.db.sqlite.prepare(`UPDATE ${table} SET ${column} = ? WHERE ${where}`).run(ts);
}

/** Enqueues, claims and fails a message permanently: a dead letter. */
function deadLetter(agentId: string, n: number): void {
  const ids = s.queue
    .enqueueMany(Array.from({ length: n }, (_, i) => ({ kind: 'user' as const, agentId, conversationId: `conv_${agentId}_${i}`, channel: 'api', content: `x${i}`, maxAttempts: 1 })))
    .map((r) => r.id);
  s.db.sqlite.prepare(`UPDATE messages SET status = 'dead', finished_at = ? WHERE id IN (${ids.map(() => '?').join(',')})`).run(Date.now(), ...ids);
}

describe('Stores.prune', () => {
  it('prunes agent chat history, chat-room posts and idle sessions older than the window, and keeps recent ones', () => {
    const old = Date.now() - 20 * DAY;
    for (let i = 0; i < 3; i++) s.agentMessages.append({ agentId: 'coder', role: 'user', channel: 'api', content: `old ${i}` });
    s.agentMessages.append({ agentId: 'coder', role: 'assistant', channel: 'api', content: 'recent' });
    age('agent_messages', 'created_at', "content LIKE 'old %'", old);

    s.chatroom.post({ teamId: 'dev', fromAgent: 'user', content: 'old post' });
    s.chatroom.post({ teamId: 'dev', fromAgent: 'coder', content: 'new post' });
    age('chatroom_messages', 'created_at', "content = 'old post'", old);

    s.agentSessions.recordTurn('coder', 'sender:a', { provider: 'mock', sessionId: 's-a', user: 'u', assistant: 'a' });
    s.agentSessions.recordTurn('coder', 'sender:b', { provider: 'mock', sessionId: 's-b', user: 'u', assistant: 'a' });
    age('agent_sessions', 'updated_at', "session_key = 'sender:a'", old);

    deadLetter('ghost', 2);
    age('messages', 'finished_at', "status = 'dead'", old);

    const pruned = s.prune(14);
    expect(pruned).toMatchObject({ agentMessages: 3, chatroom: 1, sessions: 1 });
    expect(s.agentMessages.list('coder').map((m) => m.content)).toEqual(['recent']);
    expect(s.chatroom.latest('dev').map((p) => p.content)).toEqual(['new post']);
    expect(s.agentSessions.list('coder').map((x) => x.sessionKey)).toEqual(['sender:b']);
    expect(s.queue.counts().dead).toBe(2); // dead letters are never pruned

    // A second pass finds nothing more.
    expect(Object.values(s.prune(14)).every((n) => n === 0)).toBe(true);
  });
});

describe('QueueStore.deleteAllDead', () => {
  it('deletes every dead letter past any page size, or only those of one agent, and nothing else', () => {
    deadLetter('ghost', 1200);
    deadLetter('coder', 3);
    s.queue.enqueue({ kind: 'user', agentId: 'coder', conversationId: 'conv_live', channel: 'api', content: 'still pending' });
    expect(s.queue.deleteAllDead('coder')).toBe(3);
    expect(s.queue.counts()).toMatchObject({ dead: 1200, pending: 1 });
    expect(s.queue.deleteAllDead()).toBe(1200);
    expect(s.queue.counts()).toMatchObject({ dead: 0, pending: 1 });
    expect(s.queue.deleteAllDead()).toBe(0);
  });
});

describe('OutboxStore.expire', () => {
  it('expires every overdue row in batches, each with an outbox.expired event, and leaves fresh rows pending', () => {
    for (let i = 0; i < 1100; i++) s.outbox.enqueue({ idempotencyKey: `old-${i}`, channel: 'telegram', text: `reply ${i}`, ttlMs: 1 });
    const fresh = s.outbox.enqueue({ idempotencyKey: 'fresh', channel: 'telegram', text: 'fresh', ttlMs: 3_600_000 }).row;
    const expired = s.outbox.expire(Date.now() + 1000);
    expect(expired).toHaveLength(1100);
    expect(s.outbox.counts()).toMatchObject({ expired: 1100, pending: 1 });
    expect(s.outbox.get(fresh.id)?.status).toBe('pending');
    s.events.flush();
    expect(s.events.readSince(0, { types: ['outbox.expired'] }, 5000)).toHaveLength(1100);
  });
});
