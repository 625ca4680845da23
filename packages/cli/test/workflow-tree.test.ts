/**
 * `workflow show`'s step tree (output/workflow-tree.ts), from step ids alone: each step under what
 * is before the last `/` of its id, a branch (`2:parallel[1]`) under its group (`2:parallel`), the
 * groups and branches with their steps' state and totals, a step with its agent, state, cost,
 * tokens, error and the first line of its output.
 */
import { describe, expect, it } from 'vitest';
import type { WorkflowStep } from '@tinyagi/client';
import { stepOutputLine as outputLine } from '@tinyagi/client';
import { stepTreeLines } from '../src/output/workflow-tree.ts';

function step(stepId: string, fields: Partial<WorkflowStep> = {}): WorkflowStep {
  const kind = fields.kind ?? (/(^|\/)\d+:agent$/.test(stepId) ? 'agent' : 'step');
  return {
    runId: 'wfr_1',
    stepId,
    kind,
    agentId: kind === 'agent' ? 'coder' : null,
    label: '',
    status: 'completed',
    conversationId: null,
    taskId: null,
    output: null,
    error: null,
    costUsd: 0,
    tokens: 0,
    startedAt: 0,
    endedAt: null,
    ...fields,
  };
}

describe('stepTreeLines', () => {
  it('shows each step with its state, agent, cost, tokens, error and the first line of its output; a group with its children’s state and totals', () => {
    const lines = stepTreeLines([
      step('1:agent', { agentId: 'writer', output: '\nDraft: the parser\nsecond line', costUsd: 0.0012, tokens: 340 }),
      step('2:parallel[0]/1:agent', { agentId: 'reviewer', output: { ok: true, notes: ['fine'] }, costUsd: 0.001, tokens: 100 }),
      step('2:parallel[1]/1:agent', { agentId: 'linter', status: 'failed', error: 'the reply did not match the schema\nat items[0]', tokens: 20 }),
      step('2:parallel[1]/count', { output: 3 }),
      step('3:map[0]/1:agent', { agentId: 'fixer', status: 'running' }),
    ]);
    expect(lines).toMatchInlineSnapshot(`
      [
        "✔ 1:agent  @writer  completed  $0.0012  340 tok  Draft: the parser",
        "✖ 2:parallel  failed  2/3 steps  $0.0010  120 tok",
        "├─ ✔ 2:parallel[0]  completed  1/1 steps  $0.0010  100 tok",
        "│  └─ ✔ 1:agent  @reviewer  completed  $0.0010  100 tok  {"ok":true,"notes":["fine"]}",
        "└─ ✖ 2:parallel[1]  failed  1/2 steps  20 tok",
        "   ├─ ✖ 1:agent  @linter  failed  20 tok  the reply did not match the schema",
        "   └─ ✔ count  step  completed  3",
        "● 3:map  running  0/1 steps",
        "└─ ● 3:map[0]  running  0/1 steps",
        "   └─ ● 1:agent  @fixer  running",
      ]
    `);
  });

  it('indents deeper levels under the line of their parent; a named step holds the steps its function ran', () => {
    expect(
      stepTreeLines([step('1:map[0]/1:parallel[0]/1:agent'), step('1:map[0]/1:parallel[1]/1:agent'), step('1:map[1]/1:agent'), step('review'), step('review/1:agent', { tokens: 5 })]),
    ).toMatchInlineSnapshot(`
      [
        "✔ 1:map  completed  3/3 steps",
        "├─ ✔ 1:map[0]  completed  2/2 steps",
        "│  └─ ✔ 1:parallel  completed  2/2 steps",
        "│     ├─ ✔ 1:parallel[0]  completed  1/1 steps",
        "│     │  └─ ✔ 1:agent  @coder  completed",
        "│     └─ ✔ 1:parallel[1]  completed  1/1 steps",
        "│        └─ ✔ 1:agent  @coder  completed",
        "└─ ✔ 1:map[1]  completed  1/1 steps",
        "   └─ ✔ 1:agent  @coder  completed",
        "✔ review  step  completed  5 tok",
        "└─ ✔ 1:agent  @coder  completed  5 tok",
      ]
    `);
  });
});

describe('outputLine', () => {
  it('is the first line that is not blank, cut with an ellipsis; nothing for no output', () => {
    expect(outputLine('  \n  hello  \nworld')).toBe('hello');
    expect(outputLine('x'.repeat(100), 10)).toBe(`${'x'.repeat(9)}…`);
    expect(outputLine(null)).toBe('');
    expect(outputLine(undefined)).toBe('');
    expect(outputLine(false)).toBe('false');
  });
});
