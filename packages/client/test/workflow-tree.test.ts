/** A workflow run's step tree, from step ids as the engine gives them (docs/workflows.md). */
import { describe, expect, it } from 'vitest';
import { parentStepId, workflowStepTree, type WorkflowStep, type WorkflowTreeNode } from '../src/index.ts';

let started = 0;
function step(stepId: string, status: WorkflowStep['status'] = 'completed', costUsd = 0, tokens = 0): WorkflowStep {
  return {
    runId: 'w1',
    stepId,
    kind: stepId.endsWith(':agent') ? 'agent' : 'step',
    agentId: stepId.endsWith(':agent') ? 'coder' : null,
    label: stepId,
    status,
    conversationId: null,
    taskId: null,
    output: null,
    error: status === 'failed' ? 'it broke' : null,
    costUsd,
    tokens,
    startedAt: ++started,
    endedAt: status === 'running' ? null : started,
  };
}

/** The tree as `id kind status steps/completed cost tokens`, indented by level. */
function shape(nodes: readonly WorkflowTreeNode[], level = 0): string[] {
  return nodes.flatMap((n) => [
    `${'  '.repeat(level)}${n.name} ${n.kind} ${n.totals.status} ${n.totals.completed}/${n.totals.steps} $${n.totals.costUsd} ${n.totals.tokens}`,
    ...shape(n.children, level + 1),
  ]);
}

describe('parentStepId', () => {
  it('a branch sits under its group, anything else under what is before its last slash', () => {
    expect(parentStepId('2:parallel[1]/1:agent')).toBe('2:parallel[1]');
    expect(parentStepId('2:parallel[1]')).toBe('2:parallel');
    expect(parentStepId('2:parallel')).toBeNull();
    expect(parentStepId('2:parallel[1]/3:map[0]')).toBe('2:parallel[1]/3:map');
    expect(parentStepId('2:parallel[1]/3:map')).toBe('2:parallel[1]');
    expect(parentStepId('review')).toBeNull();
  });
});

describe('workflowStepTree', () => {
  it('makes the groups and branches the ids name, orders branches by index, and sums their steps', () => {
    const tree = workflowStepTree([
      step('1:agent', 'completed', 0.5, 100),
      // Branch 1 started first: the tree still lists branch 0 first.
      step('2:parallel[1]/1:agent', 'running', 0.25, 10),
      step('2:parallel[0]/1:agent', 'failed', 0.125, 20),
      step('2:parallel[0]/2:map[0]/1:agent', 'completed', 0, 5),
    ]);
    expect(shape(tree)).toEqual([
      '1:agent step completed 1/1 $0.5 100',
      '2:parallel group running 1/3 $0.375 35',
      '  2:parallel[0] branch failed 1/2 $0.125 25',
      '    1:agent step failed 0/1 $0.125 20',
      '    2:map group completed 1/1 $0 5',
      '      2:map[0] branch completed 1/1 $0 5',
      '        1:agent step completed 1/1 $0 5',
      '  2:parallel[1] branch running 0/1 $0.25 10',
      '    1:agent step running 0/1 $0.25 10',
    ]);
  });

  it('a step whose function ran steps of its own holds them, and keeps its own step', () => {
    const [outer] = workflowStepTree([step('3:prepare', 'completed', 0, 1), step('3:prepare/1:agent', 'completed', 0, 2)]);
    expect(outer?.step?.stepId).toBe('3:prepare');
    expect(outer?.kind).toBe('step');
    expect(shape([outer!])).toEqual(['3:prepare step completed 2/2 $0 3', '  1:agent step completed 1/1 $0 2']);
  });

  it('no steps, no tree', () => {
    expect(workflowStepTree([])).toEqual([]);
  });
});
