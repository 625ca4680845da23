/** A task on the projects board (`/projects?project=…&task=…`): its project's board when known, else every task's. */
export function taskHref(taskId: string, projectId?: string | null): string {
  return `/projects?${new URLSearchParams({ ...(projectId ? { project: projectId } : {}), task: taskId })}`;
}
