import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStores, type SqliteStores } from '../src/compose/sqlite-stores.ts';
import { isTinyError } from '../src/errors.ts';
import { generatePairingCode, PAIRING_CODE_ALPHABET } from '../src/pairing/store.ts';
import { PairingStore } from '../src/pairing/sqlite-store.ts';
import { derivePrefix } from '../src/tasks/store.ts';
import { TaskStore } from '../src/tasks/sqlite-store.ts';

let dir: string;
let s: SqliteStores;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tinyagi-pst-'));
  s = openStores({ dbPath: join(dir, 't.db'), durability: 'normal' });
});
afterEach(() => {
  s.close();
  rmSync(dir, { recursive: true, force: true });
});

function code(err: unknown): string | undefined {
  return isTinyError(err) ? err.code : undefined;
}

describe('pairing', () => {
  it('codes use the unambiguous alphabet', () => {
    fc.assert(
      fc.property(fc.integer(), () => /^[A-HJ-NP-Z2-9]{8}$/.test(generatePairingCode())),
      { numRuns: 500 },
    );
    expect(PAIRING_CODE_ALPHABET).not.toMatch(/[IO01]/);
  });

  it('one pending request per sender, approve once by code, revoke', () => {
    const p = new PairingStore(s.db, { events: s.events });
    const first = p.request({ channel: 'telegram', senderId: '42', sender: 'Ann' });
    expect(first).toMatchObject({ status: 'pending', created: true });
    expect(p.request({ channel: 'telegram', senderId: '42' })).toEqual({ status: 'pending', code: first.code, created: false });
    expect(s.events.readSince(0, { types: ['pairing.requested'] })).toHaveLength(1);
    expect(p.isApproved('telegram', '42')).toBe(false);
    expect(p.approve(first.code!.toLowerCase())).toMatchObject({ channel: 'telegram', senderId: '42', sender: 'Ann' });
    expect(p.isApproved('telegram', '42')).toBe(true);
    expect(
      code(
        (() => {
          try {
            p.approve(first.code!);
          } catch (e) {
            return e;
          }
        })(),
      ),
    ).toBe('PAIRING_NOT_FOUND');
    expect(p.request({ channel: 'telegram', senderId: '42' })).toEqual({ status: 'approved', code: null, created: false });
    p.revoke('telegram', '42');
    expect(p.list()).toEqual({ pending: [], approved: [] });
    expect(() => p.revoke('telegram', '42')).toThrow(/not approved/);
  });

  it('expired requests get a fresh code; pending requests are capped', () => {
    const p = new PairingStore(s.db, { maxPending: 2, pendingTtlMs: 1000 });
    const now = Date.now();
    const a = p.request({ channel: 'discord', senderId: 'a' }, now);
    p.request({ channel: 'discord', senderId: 'b' }, now);
    let refused: unknown;
    try {
      p.request({ channel: 'discord', senderId: 'c' }, now);
    } catch (e) {
      refused = e;
    }
    expect(code(refused)).toBe('LIMIT_EXCEEDED');
    const renewed = p.request({ channel: 'discord', senderId: 'a' }, now + 5000);
    expect(renewed.created).toBe(true);
    expect(renewed.code).not.toBe(a.code);
    p.dismiss(renewed.code!);
    expect(p.list().pending.map((x) => x.senderId)).toEqual(['b']);
  });
});

// Schedules: store-conformance-events-tasks.ts (run on SQLite and PostgreSQL).

describe('tasks', () => {
  it('derives prefixes', () => {
    expect(derivePrefix('Website Redesign')).toBe('WR');
    expect(derivePrefix('infrastructure')).toBe('INF');
    expect(derivePrefix('a b c d')).toBe('ABC');
    expect(derivePrefix('  42 ')).toBe('P');
  });

  it('identifiers are never reused; tasks survive their project; comments cascade', () => {
    const t = new TaskStore(s.db);
    const p = t.createProject({ name: 'System' });
    expect(p.prefix).toBe('SYS');
    expect(t.createProject({ name: 'Synthesis' }).prefix).toBe('SYN');
    expect(t.createProject({ name: 'Sys' }).prefix).toBe('SYS2');
    const one = t.createTask({ title: 'one', projectId: p.id });
    const two = t.createTask({ title: 'two', projectId: p.id });
    t.deleteTask(two.id);
    const three = t.createTask({ title: 'three', projectId: 'SYS' });
    expect([one.identifier, three.identifier]).toEqual(['SYS-1', 'SYS-3']);
    expect(t.createTask({ title: 'loose' }).identifier).toBe('T-1');
    expect(t.getTask('sys-3')?.id).toBe(three.id);
    t.addComment(one.id, { author: 'ann', content: 'hi' });
    expect(t.commentCount(one.id)).toBe(1);
    t.deleteProject(p.id);
    expect(t.getTask(one.id)).toMatchObject({ projectId: null, identifier: 'SYS-1' });
    t.deleteTask(one.id);
    expect(s.db.sqlite.prepare('SELECT COUNT(*) AS n FROM task_comments').get()).toEqual({ n: 0 });
  });

  it('new tasks go to the end of their column; reorder sets status and positions atomically', () => {
    const t = new TaskStore(s.db);
    const a = t.createTask({ title: 'a', status: 'todo' });
    const b = t.createTask({ title: 'b', status: 'todo' });
    expect([a.position, b.position]).toEqual([0, 1]);
    const { tasks, statusChanged } = t.reorder({ in_progress: [b.id], todo: [a.id] });
    expect(tasks.map((x) => [x.id, x.status, x.position])).toEqual([
      [b.id, 'in_progress', 0],
      [a.id, 'todo', 0],
    ]);
    expect(statusChanged.map((c) => [c.before.status, c.after.status])).toEqual([['todo', 'in_progress']]);
    expect(() => t.reorder({ todo: [a.id, 'task_missing'] })).toThrow(/No task/);
    // The failed reorder changed nothing.
    expect(t.getTask(a.id)).toMatchObject({ status: 'todo', position: 0 });
  });
});
