import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase, type TinyDatabase } from '../src/storage/database.ts';
import { ChatroomStore } from '../src/chatroom/sqlite-store.ts';
import { AgentMessageStore, AgentSessionStore, SenderDefaultsStore } from '../src/sessions/sqlite-stores.ts';

const dirs: string[] = [];
const dbs: TinyDatabase[] = [];
afterEach(() => {
  for (const db of dbs.splice(0)) db.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function db(): TinyDatabase {
  const dir = mkdtempSync(join(tmpdir(), 'tinyagi-rooms-'));
  dirs.push(dir);
  const opened = openDatabase({ path: join(dir, 'db.sqlite') });
  dbs.push(opened);
  return opened;
}

describe('ChatroomStore', () => {
  it('pages forward with a cursor that never repeats or skips, per team', () => {
    const rooms = new ChatroomStore(db());
    for (let i = 0; i < 25; i++) rooms.post({ teamId: i % 2 === 0 ? 'dev' : 'ops', fromAgent: 'a', content: `m${i}` });
    const seen: string[] = [];
    let cursor = 0;
    for (;;) {
      const page = rooms.list('dev', { afterId: cursor, limit: 4 });
      if (page.length === 0) break;
      seen.push(...page.map((p) => p.content));
      cursor = page.at(-1)!.id;
    }
    expect(seen).toEqual(Array.from({ length: 13 }, (_, k) => `m${k * 2}`));
    expect(rooms.latest('dev', 2).map((p) => p.content)).toEqual(['m22', 'm24']);
    expect(rooms.list('dev', { beforeId: rooms.latest('dev', 1)[0]!.id, limit: 2 }).map((p) => p.content)).toEqual(['m20', 'm22']);
  });
});

describe('session stores', () => {
  it('AgentSessionStore keeps a bounded transcript, counts turns and resets', () => {
    const sessions = new AgentSessionStore(db());
    for (let i = 1; i <= 5; i++) sessions.recordTurn('a', 'shared', { provider: 'mock', sessionId: i === 1 ? 's-1' : undefined, user: `u${i}`, assistant: `a${i}`, maxMessages: 4 });
    const record = sessions.get('a', 'shared')!;
    expect(record).toMatchObject({ turns: 5, sessionId: 's-1', provider: 'mock' });
    expect(record.transcript.map((m) => m.content)).toEqual(['u4', 'a4', 'u5', 'a5']);
    sessions.recordTurn('a', 'thread:x', { provider: 'mock', user: 'u', assistant: 'a' });
    expect(
      sessions
        .list('a')
        .map((s) => s.sessionKey)
        .sort(),
    ).toEqual(['shared', 'thread:x']);
    expect(sessions.reset('a', 'shared')).toBe(1);
    expect(sessions.reset('a')).toBe(1);
    expect(sessions.get('a', 'thread:x')).toBeUndefined();
  });

  it('AgentSessionStore keeps the instructions hash of the same session, and drops it with a new one', () => {
    const sessions = new AgentSessionStore(db());
    sessions.recordTurn('cx', 'shared', { provider: 'codex', sessionId: 'thr-1', instructionsHash: 'h1', user: 'u1', assistant: 'a1' });
    expect(sessions.recordTurn('cx', 'shared', { provider: 'codex', sessionId: 'thr-1', user: 'u2', assistant: 'a2' }).instructionsHash).toBe('h1');
    expect(sessions.recordTurn('cx', 'shared', { provider: 'codex', sessionId: 'thr-1', instructionsHash: 'h2', user: 'u3', assistant: 'a3' }).instructionsHash).toBe('h2');
    // A new thread has not been told anything yet.
    expect(sessions.recordTurn('cx', 'shared', { provider: 'codex', sessionId: 'thr-2', user: 'u4', assistant: 'a4' }).instructionsHash).toBe('');
    expect(sessions.get('cx', 'shared')).toMatchObject({ sessionId: 'thr-2', instructionsHash: '', turns: 4 });
  });

  it("AgentSessionStore keeps the runtime's state of the same session, and drops it with a new one", () => {
    const sessions = new AgentSessionStore(db());
    sessions.recordTurn('cc', 'shared', { provider: 'anthropic', sessionId: 's-1', runtimeState: '{"at":"m1"}', user: 'u1', assistant: 'a1' });
    expect(sessions.recordTurn('cc', 'shared', { provider: 'anthropic', sessionId: 's-1', user: 'u2', assistant: 'a2' }).runtimeState).toBe('{"at":"m1"}');
    expect(sessions.get('cc', 'shared')).toMatchObject({ runtimeState: '{"at":"m1"}', turns: 2 });
    expect(sessions.recordTurn('cc', 'shared', { provider: 'anthropic', sessionId: 's-2', user: 'u3', assistant: 'a3' }).runtimeState).toBe('');
  });

  it('SenderDefaultsStore sets, replaces and clears per (channel, sender)', () => {
    const defaults = new SenderDefaultsStore(db());
    defaults.set('telegram', '42', 'coder');
    defaults.set('telegram', '42', 'dev');
    defaults.set('discord', '42', 'writer');
    expect(defaults.get('telegram', '42')).toBe('dev');
    expect(defaults.clear('telegram', '42')).toBe(true);
    expect(defaults.clear('telegram', '42')).toBe(false);
    expect(defaults.get('telegram', '42')).toBeUndefined();
    expect(defaults.get('discord', '42')).toBe('writer');
  });

  it('AgentMessageStore pages backwards, oldest first within a page, and prunes', () => {
    const history = new AgentMessageStore(db());
    for (let i = 0; i < 7; i++) history.append({ agentId: 'a', role: i % 2 === 0 ? 'user' : 'assistant', channel: 'api', content: `c${i}` });
    const newest = history.list('a', { limit: 3 });
    expect(newest.map((m) => m.content)).toEqual(['c4', 'c5', 'c6']);
    expect(history.list('a', { beforeId: newest[0]!.id, limit: 3 }).map((m) => m.content)).toEqual(['c1', 'c2', 'c3']);
    // Catching up from a cursor pages forwards.
    const first = history.list('a', { beforeId: newest[0]!.id, limit: 4 })[0]!;
    expect(history.list('a', { sinceId: first.id, limit: 2 }).map((m) => m.content)).toEqual(['c1', 'c2']);
    expect(history.list('b', { sinceId: 0 })).toEqual([]);
    expect(history.prune(Date.now() + 1)).toBe(7);
    expect(history.list('a')).toEqual([]);
  });
});
