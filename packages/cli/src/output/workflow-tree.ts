/**
 * A workflow run's steps as indented text (`workflow show`), over the client's tree built from the
 * step ids (`workflowStepTree`: a branch `2:parallel[1]` under its group `2:parallel`, a step
 * under what is before the last `/` of its id). A group or branch shows its steps' state and totals;
 * a step its agent (or its kind, for the program's own `step`), state, cost, tokens, error and the
 * first line of its output:
 *
 *   ✔ 1:agent  @writer  completed  $0.0012  340 tok  Draft: the parser…
 *   ● 2:parallel  running  1/2 steps  $0.0010  120 tok
 *   ├─ ✔ 2:parallel[0]  completed  1/1 steps  $0.0010  120 tok
 *   │  └─ ✔ 1:agent  @reviewer  completed  $0.0010  120 tok  Looks right.
 *   └─ ● 2:parallel[1]  running  0/1 steps
 *      └─ ● 1:agent  @linter  running
 */
import { stepOutputLine, workflowStepTree, type WorkflowStep, type WorkflowStepStatus, type WorkflowTreeNode } from '@tinyagi/client';
import { style } from './style.ts';

const MARK: Record<WorkflowStepStatus, string> = { completed: style.green('✔'), running: style.cyan('●'), failed: style.red('✖') };

export function formatUsd(usd: number): string {
  return `$${usd.toFixed(4)}`;
}

/** One node's line, without the tree's prefix. */
function nodeLine(node: WorkflowTreeNode): string {
  const { status, steps, completed, costUsd, tokens } = node.totals;
  const step = node.step;
  const error = step?.error?.split('\n').find((l) => l.trim() !== '') ?? '';
  const output = step ? stepOutputLine(step.output) : '';
  const parts = [
    `${MARK[status]} ${style.bold(node.name)}`,
    step === null ? '' : step.agentId !== null ? `@${step.agentId}` : style.dim(step.kind),
    status,
    step === null ? `${completed}/${steps} steps` : '',
    costUsd > 0 ? formatUsd(costUsd) : '',
    tokens > 0 ? `${tokens} tok` : '',
    error === '' ? '' : style.red(error),
    output === '' ? '' : style.dim(output),
  ];
  return parts.filter((p) => p !== '').join('  ');
}

/** The tree's lines: top-level nodes flush left, each child under its parent with `├─`/`└─`. */
export function stepTreeLines(steps: readonly WorkflowStep[]): string[] {
  const lines: string[] = [];
  const walk = (node: WorkflowTreeNode, prefix: string, last: boolean, top: boolean): void => {
    lines.push(`${prefix}${top ? '' : last ? '└─ ' : '├─ '}${nodeLine(node)}`);
    const childPrefix = top ? prefix : `${prefix}${last ? '   ' : '│  '}`;
    for (const [i, child] of node.children.entries()) walk(child, childPrefix, i === node.children.length - 1, false);
  };
  for (const root of workflowStepTree(steps)) walk(root, '', true, true);
  return lines;
}
