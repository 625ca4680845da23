import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStores, type SqliteStores } from '../src/compose/sqlite-stores.ts';
import { isTinyError } from '../src/errors.ts';
import { waitFor } from '@tinyagi/test-kit';

let dir: string;
let s: SqliteStores;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tinyagi-or-'));
  s = openStores({ dbPath: join(dir, 't.db') });
});
afterEach(() => {
  s.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('outbox', () => {
  it('is idempotent, leases per channel, acks, and re-offers an unacked lease after expiry', () => {
    const a = s.outbox.enqueue({ idempotencyKey: 'r1', channel: 'telegram', text: 'hi', recipient: { senderId: '42' } });
    const again = s.outbox.enqueue({ idempotencyKey: 'r1', channel: 'telegram', text: 'hi' });
    expect(again).toMatchObject({ created: false, row: { id: a.row.id } });
    const now = Date.now();
    const first = s.outbox.claim({ channel: 'telegram', owner: 'c1', leaseMs: 100, now });
    expect(first.map((r) => r.id)).toEqual([a.row.id]);
    expect(s.outbox.claim({ channel: 'telegram', owner: 'c2', now })).toEqual([]);
    expect(s.outbox.claim({ channel: 'discord', owner: 'c2', now })).toEqual([]);
    // The client crashed between send and ack: the same row (same idempotency key) comes back.
    const reoffered = s.outbox.claim({ channel: 'telegram', owner: 'c2', now: now + 200 });
    expect(reoffered.map((r) => [r.id, r.idempotencyKey, r.attempts])).toEqual([[a.row.id, 'r1', 2]]);
    expect(s.outbox.ack(a.row.id).status).toBe('delivered');
    expect(s.outbox.ack(a.row.id).status).toBe('delivered');
    expect(() => s.outbox.ack('out_nope')).toThrow(expect.objectContaining({ code: 'OUTBOX_NOT_FOUND' }));
  });

  it('stores replies for channels without a client as delivered, never pending', () => {
    for (const channel of ['api', 'cli', 'web', 'heartbeat', 'schedule', 'chatroom']) {
      expect(s.outbox.enqueue({ idempotencyKey: `k-${channel}`, channel, text: 'x' }).row.status).toBe('delivered');
    }
    expect(s.outbox.counts().pending).toBe(0);
  });

  it('fails with backoff, gives up after max attempts, and expires rows past their TTL with an event', () => {
    const row = s.outbox.enqueue({ idempotencyKey: 'f', channel: 'discord', text: 'x' }).row;
    s.outbox.claim({ channel: 'discord', owner: 'c' });
    const failed = s.outbox.fail(row.id, 'HTTP 500');
    expect(failed).toMatchObject({ status: 'pending', lastError: 'HTTP 500' });
    expect(failed.availableAt).toBeGreaterThan(Date.now());
    expect(s.outbox.fail(row.id, 'blocked', { permanent: true }).status).toBe('failed');
    const old = s.outbox.enqueue({ idempotencyKey: 'old', channel: 'whatsapp', text: 'x', ttlMs: 10 }).row;
    const expired = s.outbox.expire(Date.now() + 50);
    expect(expired.map((r) => r.id)).toEqual([old.id]);
    s.events.flush();
    expect(s.events.readSince(0, { types: ['outbox.expired'] }).map((e) => e.data.outboxId)).toEqual([old.id]);
  });
});

describe('runs and conversations', () => {
  it('builds a tree, finishes each run once, and aggregates usage', () => {
    const conv = s.runs.createConversation({ rootAgentId: 'lead', channel: 'api', teamId: 'dev', title: 'hello' });
    const root = s.runs.createRun({ conversationId: conv.id, agentId: 'lead', teamId: 'dev', cause: 'user', channel: 'api' });
    const child = s.runs.createRun({ conversationId: conv.id, agentId: 'a', parentRunId: root.id, depth: 1, cause: 'spawn', channel: 'api' });
    const grand = s.runs.createRun({ conversationId: conv.id, agentId: 'b', parentRunId: child.id, depth: 2, cause: 'spawn', channel: 'api' });
    expect(s.runs.openRunCount(conv.id)).toBe(3);
    s.runs.startRun(root.id);
    expect(s.runs.finishRun(root.id, { status: 'completed', usage: { inputTokens: 10, outputTokens: 5 }, costUsd: 0.5, output: 'done' })).toBe(true);
    expect(s.runs.finishRun(root.id, { status: 'failed', error: 'late' })).toBe(false);
    expect(s.runs.getRun(root.id)).toMatchObject({ status: 'completed', output: 'done', costUsd: 0.5 });
    s.runs.finishRun(child.id, { status: 'completed', usage: { inputTokens: 1, outputTokens: 1 }, costUsd: 0.25 });
    expect(s.runs.descendants(root.id).map((r) => r.id)).toEqual([child.id, grand.id]);
    expect(s.runs.openRunCount(conv.id)).toBe(1);
    expect(s.runs.usage('agent').map((u) => [u.key, u.costUsd])).toEqual([
      ['a', 0.25],
      ['b', 0],
      ['lead', 0.5],
    ]);
    expect(s.runs.usage('team')).toEqual([
      { key: '', runs: 2, inputTokens: 1, outputTokens: 1, costUsd: 0.25 },
      { key: 'dev', runs: 1, inputTokens: 10, outputTokens: 5, costUsd: 0.5 },
    ]);
    expect(s.runs.usage('day')).toHaveLength(1);
    s.runs.bumpConversation(conv.id, { hops: 2, costUsd: 0.75 });
    s.runs.updateConversation(conv.id, { status: 'completed' });
    // 0.75 from the two finishes, 0.75 from the bump.
    expect(s.runs.getConversation(conv.id)).toMatchObject({ hops: 2, costUsd: 1.5, status: 'completed' });
    expect(() => s.runs.mustGetRun('nope')).toThrow(expect.objectContaining({ code: 'RUN_NOT_FOUND' }));
  });

  it('publishes events only after commit and never for a rolled-back transaction', async () => {
    const seen: string[] = [];
    s.events.subscribe((e) => seen.push(e.type));
    expect(() =>
      s.db.write(() => {
        s.events.append({ type: 'run.started', data: { cause: 'user', messageIds: [] } });
        throw new Error('rollback');
      }),
    ).toThrow('rollback');
    s.db.write(() => {
      s.events.append({ type: 'run.completed', data: { cause: 'user', inputTokens: 0, outputTokens: 0, costUsd: 0 } });
      expect(seen).toEqual([]);
    });
    // Committed, and published once the commit is on disk.
    await s.db.whenDurable();
    expect(seen).toEqual(['run.completed']);
    expect(s.events.readSince(0).map((e) => e.type)).toEqual(['run.completed']);
  });

  it('batches emitted events into one flush with increasing ids when no write comes', async () => {
    const ids: number[] = [];
    s.events.subscribe((e) => ids.push(e.id));
    for (let i = 0; i < 50; i++) s.events.emit({ type: 'run.progress', data: { type: 'text', text: String(i), turn: 1 } });
    expect(s.events.readSince(0)).toHaveLength(0);
    await waitFor(() => ids.length === 50, 10_000, 'the 50 emitted events');
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(new Set(ids).size).toBe(50);
    expect(s.events.readSince(ids[9]!).length).toBe(40);
  });

  it('writes emitted events with the next write, before what that write records', () => {
    const conv = s.runs.createConversation({ rootAgentId: 'a', channel: 'api' });
    const before = s.events.readSince(0).length;
    for (const text of ['one', 'two']) s.events.emit({ type: 'run.progress', conversationId: conv.id, data: { type: 'text', text, turn: 1 } });
    s.db.write(() => {
      s.events.append({ type: 'system.notice', data: { level: 'info', where: 'test', message: 'the write' } });
    });
    // No timer ran: the two rode along with the write, ahead of its own event.
    const types = s.events
      .readSince(0)
      .slice(before)
      .map((e) => (e.type === 'run.progress' && e.data.type === 'text' ? e.data.text : e.type));
    expect(types).toEqual(['one', 'two', 'system.notice']);
  });

  it('keeps the order of the calls between emitted events and an append outside any transaction', () => {
    const before = s.events.readSince(0).length;
    s.events.emit({ type: 'run.progress', data: { type: 'text', text: 'emitted first', turn: 1 } });
    s.events.append({ type: 'system.notice', data: { level: 'info', where: 'test', message: 'appended second' } });
    const types = s.events
      .readSince(0)
      .slice(before)
      .map((e) => e.type);
    expect(types).toEqual(['run.progress', 'system.notice']);
  });

  it('gives emitted events back when the write they rode along with rolls back', async () => {
    const ids: string[] = [];
    s.events.subscribe((e) => ids.push(e.type === 'run.progress' && e.data.type === 'text' ? e.data.text : e.type));
    s.events.emit({ type: 'run.progress', data: { type: 'text', text: 'kept', turn: 1 } });
    expect(() =>
      s.db.write(() => {
        s.events.append({ type: 'system.notice', data: { level: 'info', where: 'test', message: 'rolled back' } });
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(s.events.readSince(0).filter((e) => e.type === 'run.progress' || e.type === 'system.notice')).toEqual([]);
    await waitFor(() => ids.includes('kept'), 10_000, 'the emitted event, written on its own after the rollback');
    expect(ids).toEqual(['kept']);
    expect(s.events.readSince(0).filter((e) => e.type === 'run.progress')).toHaveLength(1);
  });

  it('unknown conversation is a typed error', () => {
    try {
      s.runs.mustGetConversation('x');
      expect.unreachable();
    } catch (err) {
      expect(isTinyError(err, 'CONVERSATION_NOT_FOUND')).toBe(true);
    }
  });
});

describe('run steering store', () => {
  it('saves per run, loads only runs that are still open, and drops rows of ended runs', () => {
    const conv = s.runs.createConversation({ rootAgentId: 'a', channel: 'api' });
    const open = s.runs.createRun({ conversationId: conv.id, agentId: 'a', cause: 'user', channel: 'api' });
    const ended = s.runs.createRun({ conversationId: conv.id, agentId: 'a', cause: 'user', channel: 'api' });
    s.steering.save(open.id, { paused: true, injected: ['later'], applied: ['taken'], appliedRedirect: 'new task' });
    s.steering.save(ended.id, { paused: false, injected: ['x'], applied: [] });
    s.runs.finishRun(ended.id, { status: 'completed' });
    expect(s.steering.loadOpen()).toEqual(new Map([[open.id, { paused: true, injected: ['later'], redirect: undefined, applied: ['taken'], appliedRedirect: 'new task' }]]));
    expect(s.db.sqlite.prepare('SELECT run_id FROM run_steering').pluck().all()).toEqual([open.id]);
    s.steering.delete(open.id);
    expect(s.steering.loadOpen().size).toBe(0);
  });
});
