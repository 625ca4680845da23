/**
 * A run's live activity in the run tree: tool calls matched to their results by id (or by name
 * when the runtime gives none), the latest plan, per-call usage summed; bounded, idempotent.
 */
import { describe, expect, it } from 'vitest';
import {
  applyRunEvent,
  applyRunEvents,
  currentToolCall,
  emptyRunTree,
  RUN_ACTIVITY_MAX_TOOLS,
  RUN_ACTIVITY_OUTPUT_CHARS,
  runProgressLine,
  runTreeRecords,
  toolCallLine,
  type TinyEvent,
} from '../src/index.ts';

const ev = (id: number, type: string, data: object, runId = 'r1'): TinyEvent =>
  ({ id, ts: 1000 + id, type, conversationId: 'c', runId, parentRunId: null, depth: 0, agentId: 'coder', data }) as TinyEvent;
const progress = (id: number, data: object, runId = 'r1'): TinyEvent => ev(id, 'run.progress', { turn: 1, ...data }, runId);
const started = [ev(1, 'run.queued', { cause: 'user', messageIds: ['m'] }), ev(2, 'run.started', { cause: 'user', messageIds: ['m'] })];

describe('run activity', () => {
  it('matches results to calls by id, keeps kind, title, output start and order', () => {
    const tree = applyRunEvents(emptyRunTree(), [
      ...started,
      progress(3, { type: 'tool', name: 'Bash', id: 'call-1', kind: 'command', title: 'npm   test\n--run' }),
      progress(4, { type: 'tool', name: 'Read', id: 'call-2', kind: 'file_read', title: 'src/a.ts' }),
      progress(5, { type: 'tool_result', id: 'call-2', ok: true, output: 'export const a = 1;' }),
      progress(6, { type: 'tool_result', name: 'Bash', id: 'call-1', ok: false, output: 'x'.repeat(5000) }),
    ]);
    const run = tree.nodes.get('r1')!;
    expect(run.activity.tools.map((c) => [c.id, c.name, c.kind, c.title, c.startedAt, c.endedAt, c.ok])).toEqual([
      ['call-1', 'Bash', 'command', 'npm test --run', 1003, 1006, false],
      ['call-2', 'Read', 'file_read', 'src/a.ts', 1004, 1005, true],
    ]);
    expect(run.activity.tools[0]!.output).toHaveLength(RUN_ACTIVITY_OUTPUT_CHARS);
    expect(run.activity.tools[1]!.output).toBe('export const a = 1;');
    expect(toolCallLine(run.activity.tools[0]!)).toBe('Bash: npm test --run (failed)');
    expect(currentToolCall(run)).toBeNull();
  });

  it('without ids, a result ends the latest open call of its name (else the latest open call)', () => {
    const tree = applyRunEvents(emptyRunTree(), [
      ...started,
      progress(3, { type: 'tool', name: 'grep' }),
      progress(4, { type: 'tool', name: 'edit' }),
      progress(5, { type: 'tool_result', name: 'grep', ok: true }),
    ]);
    let run = tree.nodes.get('r1')!;
    expect(run.activity.tools.map((c) => [c.id, c.ok])).toEqual([
      ['#3', true],
      ['#4', null],
    ]);
    expect(currentToolCall(run)?.name).toBe('edit');
    expect(toolCallLine(currentToolCall(run)!)).toBe('edit (running)');
    run = applyRunEvent(tree, progress(6, { type: 'tool_result', ok: true })).nodes.get('r1')!;
    expect(run.activity.tools[1]!.ok).toBe(true);
    // A result with no call known is kept as a call of its own.
    run = applyRunEvent(applyRunEvent(tree, progress(6, { type: 'tool_result', ok: true })), progress(7, { type: 'tool_result', id: 'lost', name: 'x', ok: false })).nodes.get('r1')!;
    expect(run.activity.tools.at(-1)).toMatchObject({ id: 'lost', name: 'x', ok: false, startedAt: 1007, endedAt: 1007 });
  });

  it('a call reported again with the same id while open is updated in place, not added', () => {
    const tree = applyRunEvents(emptyRunTree(), [
      ...started,
      progress(3, { type: 'tool', name: 'Bash', id: 'c1' }),
      progress(4, { type: 'tool', name: 'Bash', id: 'c1', kind: 'command', title: 'ls -la' }),
      progress(5, { type: 'tool_result', id: 'c1', ok: true }),
      progress(6, { type: 'tool', name: 'Bash', id: 'c1', title: 'again' }),
    ]);
    const tools = tree.nodes.get('r1')!.activity.tools;
    expect(tools.map((c) => [c.id, c.kind, c.title, c.startedAt, c.ok])).toEqual([
      ['c1', 'command', 'ls -la', 1003, true],
      ['c1', null, 'again', 1006, null],
    ]);
  });

  it('keeps the latest plan and sums per-call usage; the progress line follows', () => {
    const steps = [
      { text: 'read the code', status: 'completed' },
      { text: 'write the fix', status: 'in_progress' },
      { text: 'run the tests', status: 'pending' },
    ];
    let tree = applyRunEvents(emptyRunTree(), [
      ...started,
      progress(3, { type: 'plan', steps: [{ text: 'read the code', status: 'in_progress' }] }),
      progress(4, { type: 'usage', inputTokens: 100, outputTokens: 10, cacheReadTokens: 80, model: 'm1' }),
      progress(5, { type: 'plan', steps }),
      progress(6, { type: 'usage', inputTokens: 50, outputTokens: 5 }),
    ]);
    const run = tree.nodes.get('r1')!;
    expect(run.activity.plan).toEqual(steps);
    expect(run.activity.usage).toEqual({ calls: 2, inputTokens: 150, outputTokens: 15, cacheReadTokens: 80, model: 'm1' });
    expect(run.progress).toBe('model call: 50 in, 5 out');
    expect(runProgressLine({ type: 'plan', steps: steps as never, turn: 1 })).toBe('plan 1/3: write the fix');
    // Ending the run keeps the activity (history), drops the live line.
    tree = applyRunEvent(tree, ev(7, 'run.completed', { cause: 'user', inputTokens: 150, outputTokens: 15, costUsd: 0 }));
    expect(tree.nodes.get('r1')!.activity).toBe(run.activity);
    expect(tree.nodes.get('r1')!.progress).toBeNull();
    // The API's shape has no live fields.
    expect(runTreeRecords(tree)[0]).not.toHaveProperty('activity');
  });

  it('is idempotent: a replayed or older event changes nothing (same tree object)', () => {
    const events = [
      ...started,
      progress(3, { type: 'tool', name: 'Bash', id: 'a' }),
      progress(4, { type: 'usage', inputTokens: 1, outputTokens: 1 }),
      progress(5, { type: 'tool_result', id: 'a', ok: true }),
    ];
    const tree = applyRunEvents(emptyRunTree(), events);
    expect(applyRunEvents(tree, events)).toBe(tree);
    expect(applyRunEvent(tree, progress(4, { type: 'usage', inputTokens: 9, outputTokens: 9 }))).toBe(tree);
    // Progress of an unknown run creates nothing; other runs are untouched.
    expect(applyRunEvent(tree, progress(9, { type: 'tool', name: 'x' }, 'ghost'))).toBe(tree);
  });

  it('is bounded: the latest RUN_ACTIVITY_MAX_TOOLS calls, the count of dropped ones', () => {
    const many = Array.from({ length: RUN_ACTIVITY_MAX_TOOLS + 50 }, (_, i) => progress(3 + i, { type: 'tool', name: `t${i}`, id: `c${i}` }));
    const tree = applyRunEvents(emptyRunTree(), [...started, ...many]);
    const run = tree.nodes.get('r1')!;
    expect(run.activity.tools).toHaveLength(RUN_ACTIVITY_MAX_TOOLS);
    expect(run.activity.droppedTools).toBe(50);
    expect(run.activity.tools[0]!.name).toBe('t50');
    expect(currentToolCall(run)?.id).toBe(`c${RUN_ACTIVITY_MAX_TOOLS + 49}`);
  });
});
