/**
 * Which node holds a task's disk (docs/git-tasks.md, "Several nodes"): with several nodes, every
 * step of a repository-bound task runs on the node that holds its repository or worktree, the
 * first of:
 * 1. the node recorded on the task when its worktree was made (`git.node`);
 * 2. the node the binding names (`repo.node`);
 * 3. the node the task's agent is placed on (`agents.<id>.node`; a team's: its leader's).
 * None of them: any node that sees the repository's path drives the task (one node, or a path
 * every machine shares). With one node (SQLite, or no node registry) everything is here.
 */
import type { ProjectRepo } from '@tinyagi/client/contract';
import { type Settings, TinyError } from '@tinyagi/core';
import type { TaskRecord } from '../core-internal.ts';

type Assigned = Pick<TaskRecord, 'assigneeAgent' | 'assigneeTeam'>;

/** The agent that works on the task: its assignee, or its team's leader. */
function workingAgent(settings: Settings, task: Assigned): string | undefined {
  return task.assigneeAgent ?? (task.assigneeTeam === null ? undefined : settings.teams?.[task.assigneeTeam]?.leader_agent);
}

/** The node the task's agent runs on, when it is placed on one. */
export function assigneeNode(settings: Settings, task: Assigned): string | undefined {
  const agent = workingAgent(settings, task);
  return agent ? settings.agents?.[agent]?.node : undefined;
}

/** The node that holds the task's disk by the rules above; undefined when none is named. */
export function diskNode(settings: Settings, task: TaskRecord, repo: ProjectRepo): string | undefined {
  return task.git?.node ?? repo.node ?? assigneeNode(settings, task);
}

/**
 * Refuses to make a task's worktree on node `here` for an agent that runs elsewhere: the agent
 * could not work in it. An agent placed on no node may run on any, so with a binding that names a
 * node the agent must be placed there.
 */
export function refuseAgentElsewhere(settings: Settings, task: TaskRecord, repo: ProjectRepo, here: string): void {
  if (repo.node === undefined) return;
  const agentNode = assigneeNode(settings, task);
  if (agentNode === here) return;
  const agent = workingAgent(settings, task) ?? '<agent>';
  const who = task.assigneeAgent ?? `${agent} (team ${task.assigneeTeam}'s leader)`;
  throw new TinyError(
    'INVALID_STATE',
    `The repository of task ${task.identifier ?? task.id} is on node ${here}, but its agent ${who} ${agentNode === undefined ? 'may run on any node' : `runs on node ${agentNode}`}: it could not work in the task's worktree.`,
    { hint: `Place the agent on node ${here} (its node setting: PATCH /api/agents/${agent} with {"node": "${here}"}), then move the task to In progress again.` },
  );
}
