/** A task's assignee as one select value: `agent:<id>`, `team:<id>` or '' (nobody). */
import type { Task } from '@tinyagi/client';

export function assigneeValue(task: Pick<Task, 'assigneeAgent' | 'assigneeTeam'>): string {
  return task.assigneeAgent ? `agent:${task.assigneeAgent}` : task.assigneeTeam ? `team:${task.assigneeTeam}` : '';
}

export function assigneeBody(value: string): { assigneeAgent: string | null; assigneeTeam: string | null } {
  if (value.startsWith('agent:')) return { assigneeAgent: value.slice(6), assigneeTeam: null };
  if (value.startsWith('team:')) return { assigneeAgent: null, assigneeTeam: value.slice(5) };
  return { assigneeAgent: null, assigneeTeam: null };
}

export function AssigneeOptions({ agents, teams }: { agents: string[]; teams: string[] }) {
  return (
    <>
      <option value="">Nobody</option>
      <optgroup label="Agents">
        {agents.map((a) => (
          <option key={a} value={`agent:${a}`}>
            @{a}
          </option>
        ))}
      </optgroup>
      <optgroup label="Teams">
        {teams.map((t) => (
          <option key={t} value={`team:${t}`}>
            #{t}
          </option>
        ))}
      </optgroup>
    </>
  );
}
