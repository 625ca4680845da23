import { describe, expect, it } from 'vitest';
import type { TaskStepRequest } from '../src/contract/git-tasks.ts';
import { nodeStateOf, stepWaitText, worktreeNodeText } from '../src/task-node-text.ts';

const merge: TaskStepRequest = { id: 'step_1', step: 'merge', node: 'wk1', args: {}, requestedAt: 1 };

describe('stepWaitText', () => {
  it('names the step and its node; says (down) and what happens next when the node is not live', () => {
    expect(stepWaitText(merge, '12:03')).toBe('Merge waits for node wk1 since 12:03.');
    expect(stepWaitText(merge, '12:03', 'live')).toBe('Merge waits for node wk1 since 12:03.');
    expect(stepWaitText(merge, '12:03', 'stopped')).toBe('Merge waits for node wk1 (down) since 12:03: it runs there when the node is back.');
    expect(stepWaitText({ ...merge, step: 'review' }, '12:03', 'absent')).toBe('Request for changes waits for node wk1 (down) since 12:03: it runs there when the node is back.');
  });
});

describe('worktreeNodeText', () => {
  it('is nothing without a node; the node of a worktree; a start that waits for its node', () => {
    expect(worktreeNodeText({ state: 'ready', worktreePath: '/w/WEB-1' })).toBeUndefined();
    expect(worktreeNodeText({ state: 'ready', worktreePath: '/w/WEB-1', node: 'wk1' }, 'stale')).toBe('on node wk1');
    expect(worktreeNodeText({ state: 'creating', worktreePath: null, node: 'wk1' }, 'live')).toBe('being made on node wk1');
    expect(worktreeNodeText({ state: 'creating', worktreePath: null, node: 'wk1' }, 'stale')).toBe('waits for node wk1 (down): made there when the node is back');
  });
});

describe('nodeStateOf', () => {
  it("is the listed node's state, absent when it is not listed", () => {
    const nodes = [
      { name: 'api', state: 'live' as const },
      { name: 'wk1', state: 'stopped' as const },
    ];
    expect([nodeStateOf(nodes, 'api'), nodeStateOf(nodes, 'wk1'), nodeStateOf(nodes, 'wk9')]).toEqual(['live', 'stopped', 'absent']);
  });
});
