/**
 * Outbox, schedules, tasks and pairing on PostgreSQL with two nodes (two `PgStores`, two pools)
 * on one schema, racing each other: what a single SQLite process never has to survive.
 */
import { pgTestDatabase } from '@tinyagi/test-kit/pg';
import { describe, expect, it } from 'vitest';
import type { PgStores } from '../src/compose/pg-stores.ts';
import { pgNodes } from './pg-nodes.ts';

const db = await pgTestDatabase();
const { twoNodes } = pgNodes(db, 'nd');

describe.skipIf(db.skip !== undefined)('PostgreSQL stores shared by two nodes', () => {
  it('two nodes claiming one outbox channel never get the same row, and together get every row once', async () => {
    const [a, b] = await twoNodes();
    const ids: string[] = [];
    for (let i = 0; i < 150; i++) ids.push((await a.outbox.enqueue({ idempotencyKey: `k${i}`, channel: 'telegram', text: `r${i}` })).row.id);
    const claimed: string[] = [];
    // Three delivery loops per node, each claiming small batches until the channel is empty.
    const deliverer = async (node: PgStores, owner: string) => {
      for (;;) {
        const batch = await node.outbox.claim({ channel: 'telegram', owner, limit: 4 });
        if (batch.length === 0) return;
        expect(batch.every((r) => r.leaseOwner === owner && r.attempts === 1)).toBe(true);
        claimed.push(...batch.map((r) => r.id));
      }
    };
    await Promise.all([a, b].flatMap((node, n) => [0, 1, 2].map((k) => deliverer(node, `n${n}-${k}`))));
    expect(claimed).toHaveLength(ids.length);
    expect(new Set(claimed)).toEqual(new Set(ids));
    expect((await b.outbox.counts()).delivering).toBe(150);
  });

  it('two nodes storing the same reply at once store it once', async () => {
    const [a, b] = await twoNodes();
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? a : b).outbox.enqueue({ idempotencyKey: 'same', channel: 'discord', text: 'x' })));
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(new Set(results.map((r) => r.row.id)).size).toBe(1);
    expect((await a.events.readSince(0, { types: ['outbox.enqueued'] })).length).toBe(1);
  });

  it('a due run that both nodes fire is recorded once (one schedule.fired) and the schedule moves on once', async () => {
    const [a, b] = await twoNodes();
    const created = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        a.schedules.create({
          label: `s${i}`,
          agentId: 'a',
          teamId: null,
          message: 'go',
          cron: '* * * * *',
          timezone: 'UTC',
          runAt: null,
          enabled: true,
          missedPolicy: 'run-once',
          channel: 'schedule',
          senderId: '',
          nextRunAt: 1000,
        }),
      ),
    );
    // What each node's scheduler does: read what is due, then record the firing of that run.
    const fire = async (node: PgStores) => {
      for (const s of await node.schedules.due(1500)) await node.schedules.markFired(s.id, 1500, 61_000, { dueAt: s.nextRunAt!, messageId: `m-${s.id}` });
    };
    await Promise.all([fire(a), fire(b), fire(a), fire(b)]);
    const fired = await a.events.readSince(0, { types: ['schedule.fired'] });
    expect(fired.map((e) => e.data.scheduleId).sort()).toEqual(created.map((s) => s.id).sort());
    expect((await b.schedules.list()).every((s) => s.nextRunAt === 61_000 && s.lastFiredAt === 1500)).toBe(true);
  });

  it('two nodes creating tasks at once never give out one identifier; labels and prefixes stay unique', async () => {
    const [a, b] = await twoNodes();
    const project = await a.tasks.createProject({ name: 'Website' });
    const made = await Promise.all(Array.from({ length: 24 }, (_, i) => (i % 2 === 0 ? a : b).tasks.createTask({ title: `t${i}`, status: 'todo', ...(i % 3 === 0 ? { projectId: project.id } : {}) })));
    const identifiers = made.map((t) => t.identifier);
    expect(new Set(identifiers).size).toBe(24);
    expect(identifiers.filter((x) => x?.startsWith('T-')).sort()).toEqual(Array.from({ length: 16 }, (_, i) => `T-${i + 1}`).sort());
    expect(identifiers.filter((x) => x?.startsWith('WEB-')).sort()).toEqual(Array.from({ length: 8 }, (_, i) => `WEB-${i + 1}`).sort());
    // New tasks went to the end of the column one after another: no two share a position.
    expect(new Set(made.map((t) => t.position)).size).toBe(24);
    const projects = await Promise.allSettled([a.tasks.createProject({ name: 'Ops' }), b.tasks.createProject({ name: 'Ops' }), a.tasks.createProject({ name: 'Ops' })]);
    expect(projects.map((p) => (p.status === 'fulfilled' ? p.value.prefix : 'refused')).sort()).toEqual(['OPS', 'OPS2', 'OPS3']);
    const labels = await Promise.allSettled(
      [a, b, a, b].map((node) =>
        node.schedules.create({
          label: 'nightly',
          agentId: 'a',
          teamId: null,
          message: 'go',
          cron: null,
          timezone: 'UTC',
          runAt: 5000,
          enabled: true,
          missedPolicy: 'run-once',
          channel: 'schedule',
          senderId: '',
          nextRunAt: 5000,
        }),
      ),
    );
    expect(labels.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
  });

  it("a task's hold is one process's at a time: the other node is refused at once, another task or hold is not, and it is free again after", async () => {
    const [a, b] = await twoNodes();
    const task = await a.tasks.createTask({ title: 'held' });
    const other = await a.tasks.createTask({ title: 'free' });
    let release!: () => void;
    const holding = new Promise<void>((resolve) => (release = resolve));
    let inside!: () => void;
    const entered = new Promise<void>((resolve) => (inside = resolve));
    const first = a.tasks.holdTask(task.id, 'forge', async () => {
      inside();
      await holding;
      return 'a';
    });
    await entered;
    expect(await b.tasks.holdTask(task.id, 'forge', async () => 'b')).toEqual({ held: false });
    expect(await b.tasks.holdTask(other.id, 'forge', async () => 'b')).toEqual({ held: true, value: 'b' });
    expect(await b.tasks.holdTask(task.id, 'merge', async () => 'b')).toEqual({ held: true, value: 'b' });
    release();
    expect(await first).toEqual({ held: true, value: 'a' });
    expect(await b.tasks.holdTask(task.id, 'forge', async () => 'b')).toEqual({ held: true, value: 'b' });
    // A failing holder frees it too.
    await expect(a.tasks.holdTask(task.id, 'forge', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await b.tasks.holdTask(task.id, 'forge', async () => 'b')).toEqual({ held: true, value: 'b' });
  });

  it('a chat-room post committed late is not skipped by a reader paging with a cursor on the other node', async () => {
    const [a, b] = await twoNodes();
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let posted = false;
    const slow = a.transaction(async (tx) => {
      await tx.stores.chatroom.post({ teamId: 'dev', fromAgent: 'a', content: 'slow' });
      posted = true;
      await gate;
    });
    try {
      await expect.poll(() => posted).toBe(true);
      const fast = Promise.resolve(b.chatroom.post({ teamId: 'dev', fromAgent: 'b', content: 'fast' }));
      // Another room is not held up by the open post.
      await b.chatroom.post({ teamId: 'ops', fromAgent: 'b', content: 'other room' });
      const seen: string[] = [];
      let cursor = 0;
      const page = async () => {
        const posts = await b.chatroom.list('dev', { afterId: cursor });
        seen.push(...posts.map((p) => p.content));
        cursor = posts.at(-1)?.id ?? cursor;
      };
      await page();
      release();
      await slow;
      await fast;
      await page();
      expect(seen).toEqual(['slow', 'fast']);
    } finally {
      release();
    }
  });

  it('a sender asking on two nodes at once gets one pending request with one code; a code approves once', async () => {
    const [a, b] = await twoNodes();
    const asks = await Promise.all(Array.from({ length: 6 }, (_, i) => (i % 2 === 0 ? a : b).pairings.request({ channel: 'telegram', senderId: '42', sender: 'Ann' })));
    expect(new Set(asks.map((r) => r.code)).size).toBe(1);
    expect(asks.filter((r) => r.created)).toHaveLength(1);
    const approvals = await Promise.allSettled([a.pairings.approve(asks[0]!.code!), b.pairings.approve(asks[0]!.code!)]);
    expect(approvals.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect((await a.events.readSince(0)).map((e) => e.type)).toEqual(['pairing.requested', 'pairing.approved']);
  });
});
