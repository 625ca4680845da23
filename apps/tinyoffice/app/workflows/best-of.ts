/**
 * What the step tree shows of task steps (docs/workflows.md, "Tasks and best of N"): a task step's
 * outcome from its output, and a `wf.bestOf` call as one group. A bestOf is not journaled itself:
 * its steps are `<id>/1:parallel[i]/1:task` (one task per agent), then `<id>/diffs` and
 * `<id>/judge` when a judge picks, `<id>/set-aside` and `<id>/merge`. Its group is shown with the
 * candidates' task steps straight under it, and its winner marked when the run's result or the
 * steps say which it is; otherwise nothing is marked. Pure.
 */
import type { BestOfResult, TaskOutcome, WorkflowStep, WorkflowTreeNode } from '@tinyagi/client';

/** A task step's output when it is a task's outcome (a completed task step's). */
export function taskOutcomeOf(step: WorkflowStep | null): TaskOutcome | null {
  const out = step?.kind === 'task' && step.status === 'completed' ? (step.output as Partial<TaskOutcome> | null) : null;
  return out && typeof out.taskId === 'string' && (out.outcome === 'passed' || out.outcome === 'failed') ? (out as TaskOutcome) : null;
}

export interface BestOfGroup {
  /** How many agents were given the task. */
  size: number;
  /** Each agent's task step, in the order of `agents`. */
  candidates: WorkflowTreeNode[];
  /** The group's other steps (diffs, judge, set-aside, merge), in the order they started. */
  rest: WorkflowTreeNode[];
  /** The winner's task id, when the run's result or the steps tell it. */
  winner: string | null;
}

/** parallel, map and pipeline calls are always `<n>:<kind>`; any other group of the tree is a bestOf. */
const PLAIN_GROUP = /^\d+:(parallel|map|pipeline)$/;

/** The bestOf a group of the tree is, or null when it is not one. `result`: the run's result (null before it completed). */
export function bestOfGroup(node: WorkflowTreeNode, result: unknown): BestOfGroup | null {
  if (node.kind !== 'group' || PLAIN_GROUP.test(node.name)) return null;
  const tasks = node.children.find((c) => c.id === `${node.id}/1:parallel`);
  if (!tasks) return null;
  const candidates = tasks.children.flatMap((branch) => branch.children.filter((c) => c.id === `${branch.id}/1:task` && c.step?.kind === 'task'));
  if (candidates.length === 0) return null;
  const rest = node.children.filter((c) => c !== tasks);
  const steps = candidates.map((c) => c.step!);
  const judge = rest.find((c) => c.id === `${node.id}/judge`)?.step ?? null;
  return { size: tasks.children.length, candidates, rest, winner: winnerOf(steps, judge, result) };
}

/**
 * The winner's task id: the run's result's winner when the result is a bestOf's and names one of
 * these tasks; else, once every task ended, the only one that passed, or the judge's pick among
 * those that passed (in the order of agents, as the judge read them). Null when none of these
 * says (several passed and no judge: the smallest change wins, which the result says).
 */
function winnerOf(steps: readonly WorkflowStep[], judge: WorkflowStep | null, result: unknown): string | null {
  const named = (result as Partial<BestOfResult> | null)?.winner?.taskId;
  if (typeof named === 'string' && steps.some((s) => s.taskId === named)) return named;
  const outcomes = steps.map(taskOutcomeOf);
  if (outcomes.some((o) => o === null)) return null;
  const passed = outcomes.filter((o) => o?.outcome === 'passed') as TaskOutcome[];
  if (passed.length === 1) return passed[0]!.taskId;
  const pick = judge?.status === 'completed' ? judge.output : null;
  return passed.length > 1 && typeof pick === 'number' ? (passed[pick] ?? passed[0]!).taskId : null;
}
