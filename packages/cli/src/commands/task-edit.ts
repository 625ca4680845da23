/**
 * `tinyagi task add|start|move|edit|delete`: the task loop from the terminal, as the kanban does
 * it through the API. `add` makes a task (in a project, assigned to an agent or a team); `start`
 * moves it to in_progress, which sends it to its assignee (in a repository-bound project, in its
 * own worktree: docs/git-tasks.md); `move` puts it in any status; `edit` changes its title,
 * description or assignee; `delete` removes it and its comments (a task whose worktree is on disk
 * needs `--keep-worktree` or `--remove-worktree`). A task is named by its identifier (WEB-3) or id.
 */
import type { Command } from 'commander';
import type { Task } from '@tinyagi/client';
import { TASK_STATUSES, type TaskStatus } from '@tinyagi/client/contract';
import { connect } from '../daemon/connection.ts';
import { CliError, usageError } from '../output/cli-error.ts';
import { printJson, println } from '../output/print.ts';
import { choice, contextOf, withJson } from './options.ts';
import { resolveProject } from './project-ref.ts';

const nameOf = (task: Task): string => task.identifier ?? task.id;
const assigneeOf = (task: Task): string | null => (task.assigneeAgent ? `@${task.assigneeAgent}` : task.assigneeTeam ? `#${task.assigneeTeam}` : null);

/** What moving to a status did, in a few words. */
function movedText(task: Task): string {
  const owner = assigneeOf(task);
  const name = nameOf(task);
  if (task.status !== 'in_progress') return `${name} is in ${task.status}.`;
  if (!owner) return `${name} is in progress (no assignee: nobody is sent it).`;
  return task.conversationId
    ? `${name} is in progress: sent to ${owner} (conversation ${task.conversationId}).`
    : `${name} is in progress: it goes to ${owner} once its worktree is ready${task.git?.node ? ` on node ${task.git.node}` : ''}.`;
}

/** Prints the move; a task in progress whose worktree step failed was sent to nobody: a failure (exit 1) naming the step's error and how to start it again. */
function printMoved(task: Task): void {
  const error = task.status === 'in_progress' && task.git?.state === 'failed' ? task.git.error : null;
  const owner = assigneeOf(task);
  if (error && owner) {
    const name = nameOf(task);
    throw new CliError('FAILED', `${name} is in progress, but nothing was sent to ${owner}: its worktree step failed: ${error.code}: ${error.message}`, {
      hint: `Once that is fixed, start it again: \`tinyagi task move ${name} todo\`, then \`tinyagi task start ${name}\`.`,
    });
  }
  println(movedText(task));
}

/** `--agent`/`--team`: one of them. */
function assigneeBody(options: { agent?: string; team?: string }): { assigneeAgent?: string; assigneeTeam?: string } {
  if (options.agent !== undefined && options.team !== undefined) throw usageError('Give --agent or --team, not both: a task has one assignee.');
  return { ...(options.agent !== undefined ? { assigneeAgent: options.agent.replace(/^@/, '') } : {}), ...(options.team !== undefined ? { assigneeTeam: options.team.replace(/^#/, '') } : {}) };
}

export function registerTaskEditCommands(task: Command): void {
  withJson(
    task
      .command('add')
      .description('add a task (in backlog unless --status); a task added in_progress with an assignee is sent to it at once')
      .argument('<title>', "the task's title")
      .option('--project <project>', 'its project (id, prefix or name); in a repository-bound project it gets its own branch and worktree when started')
      .option('--agent <agent>', 'assign it to this agent')
      .option('--team <team>', 'assign it to this team (its leader gets it)')
      .option('--description <text>', 'what is to be done (the assignee reads it)')
      .option('--status <status>', `where it starts (${TASK_STATUSES.join(', ')}; default backlog)`, choice(TASK_STATUSES)),
  ).action(async (title: string, options: { project?: string; agent?: string; team?: string; description?: string; status?: TaskStatus; json?: boolean }, cmd: Command) => {
    if (title.trim() === '') throw usageError('A task needs a title.');
    const assignee = assigneeBody(options);
    const { client } = connect(contextOf(cmd));
    const projectId = options.project === undefined ? undefined : resolveProject(await client.listProjects(), options.project).id;
    const created = await client.createTask({
      body: {
        title,
        ...assignee,
        ...(projectId ? { projectId } : {}),
        ...(options.description !== undefined ? { description: options.description } : {}),
        ...(options.status ? { status: options.status } : {}),
      },
    });
    if (options.json) return printJson(created);
    const owner = assigneeOf(created);
    println(`Added ${nameOf(created)} (${created.status}${owner ? `, ${owner}` : ''}): ${created.title}`);
    if (created.status === 'in_progress') printMoved(created);
    else if (owner) println(`Start it with \`tinyagi task start ${nameOf(created)}\`.`);
  });

  withJson(
    task
      .command('start')
      .description('move a task to in_progress: it is sent to its assignee (in a repository-bound project, to work in its own worktree)')
      .argument('<task>', 'task id or identifier'),
  ).action(async (ref: string, options: { json?: boolean }, cmd: Command) => {
    const { client } = connect(contextOf(cmd));
    const found = await client.getTask({ params: { id: ref } });
    if (!assigneeOf(found))
      throw usageError(`${nameOf(found)} has no assignee: nobody would be sent it.`, `Assign it first: \`tinyagi task edit ${nameOf(found)} --agent <agent>\` (or --team <team>).`);
    if (found.status === 'in_progress') throw usageError(`${nameOf(found)} is in progress already.`, `\`tinyagi task show ${nameOf(found)}\` says where it is.`);
    const moved = await client.patchTask({ params: { id: found.id }, body: { status: 'in_progress' } });
    if (options.json) return printJson(moved);
    printMoved(moved);
  });

  withJson(
    task
      .command('move')
      .description('move a task to a status; moving an assigned task to in_progress sends it to its assignee')
      .argument('<task>', 'task id or identifier')
      .argument('<status>', TASK_STATUSES.join(', '), choice(TASK_STATUSES)),
  ).action(async (ref: string, status: TaskStatus, options: { json?: boolean }, cmd: Command) => {
    const moved = await connect(contextOf(cmd)).client.patchTask({ params: { id: ref }, body: { status } });
    if (options.json) return printJson(moved);
    printMoved(moved);
  });

  withJson(
    task
      .command('edit')
      .description("change a task's title, description or assignee")
      .argument('<task>', 'task id or identifier')
      .option('--title <title>', 'its new title')
      .option('--description <text>', 'its new description')
      .option('--agent <agent>', 'assign it to this agent')
      .option('--team <team>', 'assign it to this team')
      .option('--unassign', 'leave it without an assignee'),
  ).action(async (ref: string, options: { title?: string; description?: string; agent?: string; team?: string; unassign?: boolean; json?: boolean }, cmd: Command) => {
    const assignee = assigneeBody(options);
    if (options.unassign && Object.keys(assignee).length > 0) throw usageError('Give --unassign or an assignee (--agent, --team), not both.');
    if (options.title !== undefined && options.title.trim() === '') throw usageError('A task needs a title: --title is empty.');
    const body = {
      ...(options.title !== undefined ? { title: options.title } : {}),
      ...(options.description !== undefined ? { description: options.description } : {}),
      ...(assignee.assigneeAgent !== undefined ? { assigneeAgent: assignee.assigneeAgent, assigneeTeam: null } : {}),
      ...(assignee.assigneeTeam !== undefined ? { assigneeTeam: assignee.assigneeTeam, assigneeAgent: null } : {}),
      ...(options.unassign ? { assigneeAgent: null, assigneeTeam: null } : {}),
    };
    if (Object.keys(body).length === 0) throw usageError('Nothing to change: give --title, --description, --agent, --team or --unassign.');
    const edited = await connect(contextOf(cmd)).client.patchTask({ params: { id: ref }, body });
    if (options.json) return printJson(edited);
    println(`${nameOf(edited)}: ${edited.title} (${edited.status}, ${assigneeOf(edited) ?? 'no assignee'}).`);
  });

  withJson(
    task
      .command('delete')
      .alias('rm')
      .description('delete a task and its comments; a task whose worktree is on disk needs --keep-worktree or --remove-worktree')
      .argument('<task>', 'task id or identifier')
      .option('--keep-worktree', 'keep its worktree on disk (listed as orphaned by `tinyagi task worktrees` until removed)')
      .option('--remove-worktree', 'remove its worktree too (refused while it holds work that is nowhere else, unless --force)')
      .option('--force', 'with --remove-worktree: remove it even so (its uncommitted files are lost; the branch keeps its commits)'),
  ).action(async (ref: string, options: { keepWorktree?: boolean; removeWorktree?: boolean; force?: boolean; json?: boolean }, cmd: Command) => {
    if (options.keepWorktree && options.removeWorktree) throw usageError('Give --keep-worktree or --remove-worktree, not both.');
    if (options.force && !options.removeWorktree) throw usageError('--force is for --remove-worktree.');
    const worktree = options.keepWorktree ? 'keep' : options.removeWorktree ? 'remove' : undefined;
    const result = await connect(contextOf(cmd)).client.deleteTask({ params: { id: ref }, query: { ...(worktree ? { worktree } : {}), ...(options.force ? { force: true } : {}) } });
    if (options.json) return printJson(result);
    const removed = result.worktree;
    println(`Deleted ${ref}${worktree === 'keep' ? '; its worktree is kept (orphaned)' : removed?.removed ? '; its worktree is removed' : ''}.`);
    if (removed && removed.lost.length > 0) println(`Lost with it (uncommitted): ${removed.lost.join(', ')}.`);
  });
}
