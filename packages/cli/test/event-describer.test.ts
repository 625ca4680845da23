/**
 * The stateful progress lines of `send --wait` and `chat` (createEventDescriber): a result named
 * after its call by id (per run), a call or plan reported again unchanged said once, bounded.
 */
import { describe, expect, it } from 'vitest';
import type { EventView } from '@tinyagi/client';
import { createEventDescriber } from '../src/conversation-watch.ts';

let id = 0;
const progress = (data: object, runId = 'r1', agentId = 'coder'): EventView =>
  ({ id: ++id, ts: id, type: 'run.progress', conversationId: 'c', runId, parentRunId: null, depth: 0, agentId, data: { turn: 1, ...data } }) as EventView;

describe('createEventDescriber', () => {
  it('names a result after its call by id, in its own run; an unknown one by its name', () => {
    const describe = createEventDescriber();
    expect(describe(progress({ type: 'tool', name: 'Bash', id: 'a', title: 'npm   test' }))).toBe('@coder: Bash: npm test');
    expect(describe(progress({ type: 'tool', name: 'Read', id: 'a' }, 'r2', 'reviewer'))).toBe('@reviewer: using Read');
    expect(describe(progress({ type: 'tool_result', id: 'a', ok: false, output: '\n\nError: boom\nstack' }))).toBe('@coder: Bash: npm test failed: Error: boom');
    expect(describe(progress({ type: 'tool_result', id: 'a', ok: true }, 'r2', 'reviewer'))).toBe('@reviewer: Read done');
    // Already answered: the id is forgotten, the result is named as it names itself.
    expect(describe(progress({ type: 'tool_result', id: 'a', name: 'Bash', ok: true }))).toBe('@coder: Bash done');
    expect(describe(progress({ type: 'tool_result', ok: true }))).toBe('@coder: tool done');
  });

  it("a message's failed run is a bare line (the daemon's reply says why); a sub-agent's says its error", () => {
    const describe = createEventDescriber();
    const failed = (cause: string, agentId: string): EventView =>
      ({ id: ++id, ts: id, type: 'run.failed', conversationId: 'c', runId: `r-${agentId}`, parentRunId: null, depth: 0, agentId, data: { cause, error: 'it broke.' } }) as unknown as EventView;
    expect(describe(failed('message', 'coder'))).toBe('@coder failed');
    expect(describe(failed('spawn', 'helper'))).toBe('@helper failed: it broke.');
  });

  it('a call or plan reported again unchanged is said once; a changed one again; usage and text say nothing', () => {
    const describe = createEventDescriber();
    const steps = [
      { text: 'a', status: 'in_progress' },
      { text: 'b', status: 'pending' },
    ];
    expect(describe(progress({ type: 'plan', steps }))).toBe('@coder: plan 0/2: a');
    expect(describe(progress({ type: 'plan', steps }))).toBeUndefined();
    expect(describe(progress({ type: 'plan', steps: [{ text: 'a', status: 'completed' }, steps[1]] }))).toBe('@coder: plan 1/2: b');
    expect(describe(progress({ type: 'tool', name: 'Bash', id: 'x' }))).toBe('@coder: using Bash');
    expect(describe(progress({ type: 'tool', name: 'Bash', id: 'x' }))).toBeUndefined();
    expect(describe(progress({ type: 'tool', name: 'Bash', id: 'x', title: 'ls' }))).toBe('@coder: Bash: ls');
    expect(describe(progress({ type: 'usage', inputTokens: 1, outputTokens: 1 }))).toBeUndefined();
    expect(describe(progress({ type: 'text', text: 'hello' }))).toBeUndefined();
  });
});
