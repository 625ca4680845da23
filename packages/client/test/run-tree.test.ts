/**
 * The run-tree builder: a simulated conversation (runs created, started, spawned, handed off,
 * progressing, paused, ended, cancelled, rejected) yields both its events and the run records the
 * daemon would store; folding the events must give the tree the records give, however the events
 * are duplicated, reordered or overlapped with a snapshot.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  applyRunEvent,
  applyRunEvents,
  emptyRunTree,
  flattenRunTree,
  mergeRunRecords,
  runTreeFromRecords,
  runTreeRecords,
  runTreeTotals,
  type RunNode,
  type RunTree,
  type TinyEvent,
} from '../src/index.ts';

type Step = { events: TinyEvent[]; records: RunNode[] };

/** Plays a conversation from random choices; returns what happened step by step. */
function simulate(choices: ReadonlyArray<readonly [number, number, number]>): Step[] {
  const records: RunNode[] = [];
  const steps: Step[] = [];
  let id = 0;
  let ts = 1_000;
  const envelope = (r: RunNode) => ({ conversationId: 'c1', runId: r.runId, parentRunId: r.parentRunId, depth: r.depth, agentId: r.agentId });
  const ev = (type: string, r: RunNode, data: object, at = ts): TinyEvent => ({ id: ++id, ts: at, type, ...envelope(r), data }) as TinyEvent;
  const create = (parent: RunNode | null, cause: string, status: RunNode['status']): RunNode => {
    const r: RunNode = {
      runId: `r${records.length}`,
      agentId: `a${records.length % 3}`,
      parentRunId: parent?.runId ?? null,
      depth: cause === 'spawn' ? parent!.depth + 1 : 0,
      cause,
      status,
      inputTokens: 0,
      outputTokens: 0,
      costUsd: 0,
      error: null,
      startedAt: status === 'running' ? ts : null,
      endedAt: status === 'rejected' ? ts : null,
      children: [],
    };
    records.push(r);
    return r;
  };
  for (const [kind, pick, extra] of choices) {
    ts += 1 + (extra % 5);
    const events: TinyEvent[] = [];
    const active = records.filter((r) => r.status === 'queued' || r.status === 'running');
    const running = records.filter((r) => r.status === 'running');
    const target = active[pick % Math.max(1, active.length)];
    const parent = running[pick % Math.max(1, running.length)];
    switch (kind % 8) {
      case 0: {
        // A new message: a root run.
        const r = create(null, 'user', 'queued');
        events.push(ev('run.queued', r, { cause: 'user', messageIds: [`m${r.runId}`] }));
        break;
      }
      case 1: {
        // A handoff from a running run: the child's run.queued, then agent.mention in the same commit.
        if (!parent) break;
        const r = create(parent, 'mention', 'queued');
        events.push(ev('run.queued', r, { cause: 'mention', messageIds: [`m${r.runId}`], from: parent.agentId, hop: 1 }));
        events.push(ev('agent.mention', parent, { teamId: 't', fromAgent: parent.agentId, toAgent: r.agentId, hop: 1, messageId: `m${r.runId}`, childRunId: r.runId }));
        break;
      }
      case 2: {
        // A sub-agent: created running (or refused: created rejected).
        if (!parent) break;
        if (extra % 4 === 0) {
          const r = create(parent, 'spawn', 'rejected');
          r.error = 'max depth';
          events.push(ev('run.rejected', r, { cause: 'spawn', messageIds: [], error: 'max depth' }));
          break;
        }
        const r = create(parent, 'spawn', 'running');
        events.push(ev('run.started', r, { cause: 'spawn', messageIds: [] }));
        events.push(ev('subagent.started', r, { name: r.agentId, depth: r.depth, maxDepth: 9, parentRunId: parent.runId, session: null }));
        break;
      }
      case 3: {
        const r = active.find((a) => a.status === 'queued');
        if (!r) break;
        r.status = 'running';
        r.startedAt = ts;
        events.push(ev('run.started', r, { cause: r.cause, messageIds: [] }));
        break;
      }
      case 4:
        if (parent) events.push(ev('run.progress', parent, { type: 'text', text: `working ${extra}`, turn: 1 }));
        break;
      case 5: {
        // The API's tree lists a run's accepted steering commands (its run.steered events) too.
        if (!parent) break;
        const command = extra % 2 === 0 ? 'pause' : 'resume';
        const steered = ev('run.steered', parent, { command, accepted: true, by: 'TinyOffice' });
        events.push(steered);
        parent.steering = [...(parent.steering ?? []), { id: steered.id, ts: steered.ts, command, by: 'TinyOffice' }];
        break;
      }
      default: {
        // An end: completed, failed or cancelled (a queued run can only be cancelled or refused).
        if (!target) break;
        const status = target.status === 'queued' ? (extra % 2 === 0 ? 'cancelled' : 'rejected') : (['completed', 'failed', 'cancelled'] as const)[extra % 3]!;
        Object.assign(target, { status, endedAt: ts, inputTokens: target.inputTokens + extra, outputTokens: extra * 2, costUsd: extra / 100 });
        const error = status === 'failed' ? `boom ${extra}` : status === 'rejected' ? 'over budget' : undefined;
        if (error) target.error = error;
        const totals = { inputTokens: target.inputTokens, outputTokens: target.outputTokens, costUsd: target.costUsd };
        events.push(ev(`run.${status}`, target, { cause: target.cause, ...totals, ...(error ? { error } : {}), ...(status === 'cancelled' ? { reason: 'user' } : {}) }));
        if (target.cause === 'spawn' && status !== 'rejected') {
          events.push(
            ev(`subagent.${status === 'completed' ? 'completed' : 'failed'}`, target, {
              name: target.agentId,
              depth: target.depth,
              parentRunId: target.parentRunId,
              status,
              ...totals,
              ...(error ? { error } : {}),
            }),
          );
        }
      }
    }
    steps.push({ events, records: records.map((r) => ({ ...r })) });
  }
  return steps;
}

const choices = fc.array(fc.tuple(fc.nat(7), fc.nat(50), fc.nat(20)), { maxLength: 80 });
const allEvents = (steps: Step[]): TinyEvent[] => steps.flatMap((s) => s.events);
const finalRecords = (steps: Step[]): RunNode[] => steps.at(-1)?.records ?? [];

/** Children order aside (it follows arrival), the same runs with the same fields under the same parents. */
function canonical(nodes: RunNode[], withoutSteering = false): RunNode[] {
  return nodes
    .map(({ steering, ...n }) => ({ ...n, ...(steering && !withoutSteering ? { steering } : {}), children: canonical(n.children, withoutSteering) }))
    .sort((a, b) => a.runId.localeCompare(b.runId));
}

describe('run tree', () => {
  it('events applied in order give the tree of the final run records', () => {
    fc.assert(
      fc.property(choices, (c) => {
        const steps = simulate(c);
        expect(runTreeRecords(applyRunEvents(emptyRunTree(), allEvents(steps)))).toEqual(runTreeRecords(runTreeFromRecords(finalRecords(steps))));
      }),
    );
  });

  it('one event at a time gives the same tree as a batch, and a duplicate changes nothing (the same object)', () => {
    fc.assert(
      fc.property(choices, fc.nat(), (c, seed) => {
        const events = allEvents(simulate(c));
        let tree = emptyRunTree();
        for (const [i, e] of events.entries()) {
          tree = applyRunEvent(tree, e);
          // Replaying any event seen so far is a no-op.
          const again = events[seed % (i + 1)]!;
          expect(applyRunEvent(tree, again)).toBe(tree);
        }
        expect(tree).toEqual(applyRunEvents(emptyRunTree(), events));
        expect(applyRunEvents(tree, events)).toBe(tree);
      }),
    );
  });

  it('events in any order give the same runs, statuses and totals (children order follows arrival)', () => {
    fc.assert(
      fc.property(
        choices.chain((c) => {
          const events = allEvents(simulate(c));
          return fc.tuple(fc.constant(c), fc.shuffledSubarray(events, { minLength: events.length, maxLength: events.length }));
        }),
        ([c, shuffled]) => {
          const steps = simulate(c);
          const tree = applyRunEvents(emptyRunTree(), shuffled);
          // A run.steered only changes a known run (it does not carry the run's cause): one that
          // arrives before its run is dropped, so steering entries are compared in order only.
          expect(canonical(runTreeRecords(tree), true)).toEqual(canonical(runTreeRecords(runTreeFromRecords(finalRecords(steps))), true));
          // Nothing is lost to a cycle or a dangling parent: every run is reachable from the roots.
          expect(flattenRunTree(tree)).toHaveLength(tree.nodes.size);
        },
      ),
    );
  });

  it('a snapshot taken mid-way merged over the events seen so far, then every event again, gives the final tree', () => {
    fc.assert(
      fc.property(choices, fc.nat(), fc.nat(), (c, a, b) => {
        const steps = simulate(c);
        if (steps.length === 0) return;
        // The page subscribes at step `seen`, the snapshot is read at step `read` >= `seen`, and the
        // stream then delivers everything from `seen` on (overlapping the snapshot).
        const seen = a % steps.length;
        const read = seen + (b % (steps.length - seen));
        let tree = applyRunEvents(
          emptyRunTree(),
          steps.slice(seen, read + 1).flatMap((s) => s.events),
        );
        tree = mergeRunRecords(tree, runTreeRecords(runTreeFromRecords(steps[read]!.records)));
        tree = applyRunEvents(
          tree,
          steps.slice(seen).flatMap((s) => s.events),
        );
        expect(canonical(runTreeRecords(tree))).toEqual(canonical(runTreeRecords(runTreeFromRecords(finalRecords(steps)))));
        // A stale snapshot merged late never moves a run backwards.
        expect(mergeRunRecords(tree, steps[seen]!.records)).toBe(tree);
      }),
    );
  });

  it('keeps live fields: the latest progress line, pause, the cancel reason; ended runs drop progress', () => {
    const ev = (id: number, type: string, data: object, runId = 'r1'): TinyEvent =>
      ({ id, ts: 100 + id, type, conversationId: 'c', runId, parentRunId: null, depth: 0, agentId: 'coder', data }) as TinyEvent;
    let tree = applyRunEvents(emptyRunTree(), [
      ev(1, 'run.queued', { cause: 'user', messageIds: ['m'] }),
      ev(2, 'run.started', { cause: 'user', messageIds: ['m'] }),
      ev(4, 'run.progress', { type: 'tool', name: 'grep', turn: 1 }),
      ev(3, 'run.progress', { type: 'text', text: 'older', turn: 1 }),
      ev(5, 'run.steered', { command: 'pause', accepted: true }),
    ]);
    expect(tree.nodes.get('r1')).toMatchObject({ status: 'running', progress: 'using grep', paused: true, startedAt: 102 });
    tree = applyRunEvent(tree, ev(6, 'run.cancelled', { cause: 'user', inputTokens: 1, outputTokens: 2, costUsd: 0.5, reason: 'user' }));
    expect(tree.nodes.get('r1')).toMatchObject({ status: 'cancelled', progress: null, paused: false, reason: 'user', endedAt: 106 });
    // A late start or progress does not revive it.
    expect(applyRunEvents(tree, [ev(2, 'run.started', { cause: 'user', messageIds: [] }), ev(7, 'run.progress', { type: 'status', message: 'x', turn: 1 })])).toBe(tree);
    expect(runTreeTotals(tree)).toEqual({ runs: 1, active: 0, failed: 0, maxDepth: 0, tokens: 3, costUsd: 0.5 });
  });

  it('a child seen before its parent is a root until the parent arrives; maxRuns keeps the first runs', () => {
    const ev = (id: number, runId: string, parentRunId: string | null): TinyEvent =>
      ({ id, ts: id, type: 'run.queued', conversationId: 'c', runId, parentRunId, depth: 0, agentId: 'a', data: { cause: 'mention', messageIds: [] } }) as TinyEvent;
    let tree = applyRunEvents(emptyRunTree(), [ev(2, 'child', 'root'), ev(3, 'other', null)]);
    expect(tree.roots).toEqual(['child', 'other']);
    const before = tree.nodes.get('other');
    tree = applyRunEvent(tree, ev(1, 'root', null));
    expect(tree.roots).toEqual(['other', 'root']);
    expect(tree.nodes.get('root')!.children).toEqual(['child']);
    // Unchanged nodes are shared, so memoised rows do not re-render.
    expect(tree.nodes.get('other')).toBe(before);
    expect(applyRunEvents(emptyRunTree(), [ev(1, 'a', null), ev(2, 'b', 'a'), ev(3, 'c', 'a')], { maxRuns: 2 }).nodes.size).toBe(2);
  });

  it('a change re-creates its node and its ancestors only', () => {
    const base = runTreeFromRecords([
      { runId: 'p', agentId: 'a', parentRunId: null, depth: 0, cause: 'user', status: 'running', inputTokens: 0, outputTokens: 0, costUsd: 0, error: null, startedAt: 1, endedAt: null, children: [] },
      { runId: 'c', agentId: 'b', parentRunId: 'p', depth: 1, cause: 'spawn', status: 'running', inputTokens: 0, outputTokens: 0, costUsd: 0, error: null, startedAt: 2, endedAt: null, children: [] },
      { runId: 's', agentId: 'b', parentRunId: 'p', depth: 1, cause: 'spawn', status: 'running', inputTokens: 0, outputTokens: 0, costUsd: 0, error: null, startedAt: 2, endedAt: null, children: [] },
    ]);
    const next: RunTree = applyRunEvent(base, {
      id: 9,
      ts: 9,
      type: 'run.progress',
      conversationId: 'x',
      runId: 'c',
      parentRunId: 'p',
      depth: 1,
      agentId: 'b',
      data: { type: 'status', message: 'reading', turn: 1 },
    });
    expect(next.nodes.get('c')).not.toBe(base.nodes.get('c'));
    expect(next.nodes.get('p')).not.toBe(base.nodes.get('p'));
    expect(next.nodes.get('s')).toBe(base.nodes.get('s'));
    expect(base.nodes.get('c')!.progress).toBeNull();
    // A new child leaves the older tree's parent as it was.
    const grown = applyRunEvent(next, { id: 10, ts: 10, type: 'run.queued', conversationId: 'x', runId: 'n', parentRunId: 'p', depth: 0, agentId: 'b', data: { cause: 'mention', messageIds: [] } });
    expect(grown.nodes.get('p')!.children).toEqual(['c', 's', 'n']);
    expect(base.nodes.get('p')!.children).toEqual(['c', 's']);
    expect(next.nodes.get('p')!.children).toEqual(['c', 's']);
  });
});
