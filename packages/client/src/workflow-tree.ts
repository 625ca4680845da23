/**
 * A workflow run's steps as a tree, built from their ids alone (docs/workflows.md), for every
 * surface that shows one: a step id says where the call is in the program, `/` between a branch
 * and what ran inside it. The parent of `2:parallel[1]/1:agent` is the branch `2:parallel[1]`,
 * whose parent is the group `2:parallel`. Groups and branches are not journaled steps: they are
 * made here, with their steps' totals. Pure and types only.
 */
import type { WorkflowStep, WorkflowStepStatus } from './contract/workflows.ts';

export interface WorkflowTreeNode {
  /** The step id, or the id a group or branch has in its steps' ids. */
  id: string;
  /** The id's last part: `1:agent`, `2:parallel`, `2:parallel[1]`, or a name the program gave. */
  name: string;
  /** `group`: a parallel, map or pipeline call; `branch`: one of its branches; `step`: a journaled step. */
  kind: 'group' | 'branch' | 'step';
  /** The journaled step (a step may hold steps too, when its function called the context). */
  step: WorkflowStep | null;
  children: WorkflowTreeNode[];
  /** The node's own step and every step under it. */
  totals: { status: WorkflowStepStatus; steps: number; completed: number; costUsd: number; tokens: number };
}

const BRANCH = /\[(\d+)\]$/;

/** The id a step id sits under: a branch's group (`2:parallel[1]` → `2:parallel`), else what is before its last `/`; null at the top. */
export function parentStepId(id: string): string | null {
  const branch = BRANCH.exec(id);
  if (branch) return id.slice(0, branch.index);
  const slash = id.lastIndexOf('/');
  return slash === -1 ? null : id.slice(0, slash);
}

/** The steps' tree, each level in the order its first step started (a group's branches by index). */
export function workflowStepTree(steps: readonly WorkflowStep[]): WorkflowTreeNode[] {
  const nodes = new Map<string, WorkflowTreeNode>();
  const roots: WorkflowTreeNode[] = [];
  const nodeOf = (id: string): WorkflowTreeNode => {
    const known = nodes.get(id);
    if (known) return known;
    const node: WorkflowTreeNode = { id, name: id.slice(id.lastIndexOf('/') + 1), kind: 'group', step: null, children: [], totals: emptyTotals() };
    nodes.set(id, node);
    const parent = parentStepId(id);
    if (parent === null) roots.push(node);
    else nodeOf(parent).children.push(node);
    return node;
  };
  for (const step of steps) {
    const node = nodeOf(step.stepId);
    node.step = step;
    node.kind = 'step';
  }
  for (const node of nodes.values()) if (node.kind === 'group' && BRANCH.test(node.id)) node.kind = 'branch';
  for (const root of roots) total(root);
  return roots;
}

const emptyTotals = (): WorkflowTreeNode['totals'] => ({ status: 'completed', steps: 0, completed: 0, costUsd: 0, tokens: 0 });

/** Orders the branches and sums the steps under a node: running while any runs, else failed if any failed. */
function total(node: WorkflowTreeNode): WorkflowTreeNode['totals'] {
  node.children.sort((a, b) => branchIndex(a) - branchIndex(b));
  const t = emptyTotals();
  const add = (status: WorkflowStepStatus, steps: number, completed: number, costUsd: number, tokens: number) => {
    t.steps += steps;
    t.completed += completed;
    t.costUsd += costUsd;
    t.tokens += tokens;
    if (status === 'running' || (status === 'failed' && t.status !== 'running')) t.status = status;
  };
  if (node.step) add(node.step.status, 1, node.step.status === 'completed' ? 1 : 0, node.step.costUsd, node.step.tokens);
  for (const child of node.children) {
    const c = total(child);
    add(c.status, c.steps, c.completed, c.costUsd, c.tokens);
  }
  node.totals = t;
  return t;
}

/** A branch's index, to order a group's branches; 0 for anything else (the sort is stable: start order stays). */
function branchIndex(node: WorkflowTreeNode): number {
  const m = BRANCH.exec(node.id);
  return m ? Number(m[1]) : 0;
}

/** The first non-blank line of a step's output or error (text as it is, anything else as JSON), cut to `max` with `…`: what a one-line view of a step shows. */
export function stepOutputLine(value: unknown, max = 80): string {
  if (value === null || value === undefined) return '';
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? '');
  const line = (text.split('\n').find((l) => l.trim() !== '') ?? '').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}
