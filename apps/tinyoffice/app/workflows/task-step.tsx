'use client';
/**
 * A task step's task in the step tree (docs/workflows.md, "Tasks and best of N"): its identifier,
 * linked to the task on the projects board, once known (the step's outcome says it; before that,
 * the task is read by the id the step journaled when it made it), the lines its branch changed
 * once it passed, and whether it won its best of N.
 */
import Link from 'next/link';
import { useEffect, useState } from 'react';
import type { Task, TaskOutcome, WorkflowStep } from '@tinyagi/client';
import { api } from '@/lib/api';
import { taskHref } from '@/lib/task-href';

/** The task read once by its id (its project for the link, its identifier before the outcome); null until read, or if it cannot be. */
function useTaskOf(taskId: string | null): Task | null {
  const [task, setTask] = useState<Task | null>(null);
  useEffect(() => {
    if (!taskId) return;
    let current = true;
    api()
      .getTask({ params: { id: taskId } })
      .then(
        (t) => current && setTask(t),
        // Deleted, or the daemon away: the link goes to every task's board, the outcome still names it.
        () => undefined,
      );
    return () => {
      current = false;
    };
  }, [taskId]);
  return task;
}

export function TaskStepFacts({ step, outcome, winner, name }: { step: WorkflowStep; outcome: TaskOutcome | null; winner: boolean; name: string }) {
  const taskId = outcome?.taskId ?? step.taskId;
  const task = useTaskOf(taskId);
  if (!taskId) return null;
  const identifier = outcome?.identifier || task?.identifier;
  return (
    <>
      {winner && (
        <span data-testid="task-winner" className="rounded-full border border-emerald-700 px-2 py-0.5 text-xs font-medium text-emerald-900 dark:border-emerald-400 dark:text-emerald-200">
          <span aria-hidden="true">★ </span>winner
        </span>
      )}
      <Link data-testid="task-link" className="font-mono text-xs underline" href={taskHref(taskId, task?.projectId)}>
        {identifier ?? 'task'}
        <span className="sr-only"> (the task of step {name})</span>
      </Link>
      {outcome?.outcome === 'passed' && (
        <span data-testid="task-lines" className="font-mono text-xs tabular-nums">
          <span aria-hidden="true">
            <span className="text-emerald-800 dark:text-emerald-300">+{outcome.additions}</span> <span className="text-red-800 dark:text-red-300">−{outcome.deletions}</span>
          </span>
          <span className="sr-only">
            {outcome.additions} lines added, {outcome.deletions} deleted
          </span>
        </span>
      )}
    </>
  );
}
