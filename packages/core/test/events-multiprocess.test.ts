/**
 * The event bus across connections: events another process writes into the same file are
 * published too, exactly once and in id order — also when they interleave with local ones.
 * Two connections to one file in one test process behave like two processes for SQLite.
 */
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { waitFor } from '@tinyagi/test-kit';
import { openDatabase, type TinyDatabase } from '../src/storage/database.ts';
import { EventLog } from '../src/events/sqlite-log.ts';
import type { EventOf } from '../src/events/types.ts';

let dir: string;
const open: TinyDatabase[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tinyagi-events-mp-'));
});
afterEach(() => {
  for (const db of open.splice(0)) db.close();
  rmSync(dir, { recursive: true, force: true });
});

function connect(): TinyDatabase {
  const db = openDatabase({ path: join(dir, 'e.db') });
  open.push(db);
  return db;
}

describe('events written by another process', () => {
  it('are published by the poll when nothing is committed locally, and history is not replayed live', async () => {
    const there = new EventLog(connect(), { tailMs: 0 });
    there.append({ type: 'system.notice', data: { n: 'before' } });
    const here = new EventLog(connect(), { tailMs: 20 });
    const seen: Array<EventOf<'system.notice'>> = [];
    here.subscribe((e) => e.type === 'system.notice' && seen.push(e));
    there.append({ type: 'system.notice', data: { n: 'after' } });
    await waitFor(() => seen.length === 1, 5000, 'the foreign event');
    await new Promise((r) => setTimeout(r, 100));
    expect(seen.map((e) => e.data.n)).toEqual(['after']);
  });

  it('interleaved with local events: every event once, in id order', async () => {
    const local = new EventLog(connect(), { tailMs: 20 });
    const foreign = new EventLog(connect(), { tailMs: 0 });
    const seen: Array<EventOf<'system.notice'>> = [];
    local.subscribe((e) => e.type === 'system.notice' && seen.push(e));
    foreign.append({ type: 'system.notice', data: { n: 'f1' } });
    foreign.append({ type: 'system.notice', data: { n: 'f2' } });
    // A local commit right after: the foreign events (lower ids) must go out first.
    local.append({ type: 'system.notice', data: { n: 'l1' } });
    // emit() is written on the next turn, so f3 (written now) gets the lower id.
    local.emit({ type: 'system.notice', data: { n: 'l2' } });
    foreign.append({ type: 'system.notice', data: { n: 'f3' } });
    await waitFor(() => seen.length === 5, 5000, 'five events');
    await new Promise((r) => setTimeout(r, 100)); // a few more polls: nothing twice
    expect(seen.map((e) => e.data.n)).toEqual(['f1', 'f2', 'l1', 'f3', 'l2']);
    expect(seen.map((e) => e.id)).toEqual([...seen.map((e) => e.id)].sort((a, b) => a - b));
  });

  it('from a real second process', async () => {
    const log = new EventLog(connect(), { tailMs: 20 });
    const seen: Array<EventOf<'system.notice'>> = [];
    log.subscribe((e) => e.type === 'system.notice' && seen.push(e));
    const child = fork(join(import.meta.dirname, 'fixtures/events-proc.ts'), [join(dir, 'e.db'), '25'], { execArgv: ['--conditions=tinyagi-source'], stdio: 'ignore' });
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(0);
    await waitFor(() => seen.length === 25, 5000, '25 events from the child');
    expect(seen.map((e) => e.data.i)).toEqual(Array.from({ length: 25 }, (_, i) => i));
  });
});

describe('events committed by a subscriber', () => {
  it('reach every other subscriber after the event being handled, in id order', () => {
    const log = new EventLog(connect());
    // The first subscriber reacts to one event by committing two more (as the orchestrator does on queue.dead).
    log.subscribe((e) => {
      if (e.type !== 'system.notice' || e.data.where !== 'dead letter') return;
      log.append({ type: 'system.notice', data: { where: 'run failed' } });
      log.append({ type: 'system.notice', data: { where: 'conversation completed' } });
    });
    const seen: EventOf<'system.notice'>[] = [];
    log.subscribe((e) => {
      if (e.type === 'system.notice') seen.push(e);
    });
    log.append({ type: 'system.notice', data: { where: 'dead letter' } });
    expect(seen.map((e) => e.data.where)).toEqual(['dead letter', 'run failed', 'conversation completed']);
    expect(seen.map((e) => e.id)).toEqual([...seen.map((e) => e.id)].sort((a, b) => a - b));
  });
});
