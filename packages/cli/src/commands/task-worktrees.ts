/**
 * `tinyagi task worktrees|remove-worktree|check`: a repository-bound project's task worktrees by
 * task identifier with their state (ready, missing, abandoned, orphaned: docs/git-tasks.md,
 * "Worktrees"), the removal of one (refused while it holds work that is nowhere else, unless
 * `--force`, which says what it lost), and a person's request to check a task again (its branch
 * moved since its checks). Each asks the daemon's task flow through the API.
 */
import type { Command } from 'commander';
import type { ProjectWorktree, RetentionReport, WorktreeState } from '@tinyagi/client';
import { connect } from '../daemon/connection.ts';
import { usageError } from '../output/cli-error.ts';
import { formatDuration, formatTime, printJson, printTable, println } from '../output/print.ts';
import { style } from '../output/style.ts';
import { contextOf, withJson } from './options.ts';
import { resolveProject } from './project-ref.ts';

const STATE_TEXT: Record<WorktreeState, (text: string) => string> = {
  ready: (t) => t,
  missing: (t) => style.yellow(`${t} (made again at the task's next step)`),
  abandoned: (t) => style.yellow(t),
  orphaned: (t) => style.yellow(`${t} (task deleted)`),
};

async function boundProject(cmd: Command, ref: string) {
  const { client } = connect(contextOf(cmd));
  const project = resolveProject(await client.listProjects(), ref);
  if (project.repo === null) throw usageError(`The project ${project.prefix} (${project.name}) is not bound to a repository: it has no worktrees.`);
  return { client, project };
}

/** The last retention sweep: when, what it removed and what it kept, each with why. */
function printRetention(report: RetentionReport | null): void {
  println();
  if (report === null) {
    println('Retention: not swept since the daemon started (--sweep sweeps now).');
    return;
  }
  const mb = (bytes: number) => `${Math.round(bytes / 1024 / 1024)} MB`;
  const budget = report.policy.diskBudgetMb === null ? '' : `, ${mb(report.bytesAfter)} of ${report.policy.diskBudgetMb} MB`;
  println(`Retention: swept ${formatTime(report.at)}${report.node ? ` on ${report.node}` : ''}: removed ${report.removed.length}, kept ${report.kept.length}${budget}.`);
  for (const r of report.removed) println(`  removed ${r.identifier ?? r.branch ?? r.path}: ${r.reason}`);
  for (const k of report.kept) println(`  kept ${k.identifier ?? (k.kind === 'branch' ? k.branch : k.path)}: ${k.atRisk ? style.yellow(k.reason) : k.reason}`);
  for (const e of report.errors) println(style.yellow(`  ${e}`));
}

export function registerTaskWorktreeCommands(task: Command): void {
  withJson(
    task
      .command('worktrees')
      .description(
        "a repository-bound project's task worktrees by task, with their state (ready, missing, abandoned, orphaned) and whether each could be removed, then what the last retention sweep removed and kept (docs/git-tasks.md, Retention)",
      )
      .argument('<project>', 'project id, prefix or name')
      .option('--sweep', "apply the project's retention policy now (nothing with uncommitted or unmerged-and-unpushed work is removed)"),
  ).action(async (ref: string, options: { json?: boolean; sweep?: boolean }, cmd: Command) => {
    const { client, project } = await boundProject(cmd, ref);
    const swept = options.sweep ? await client.sweepProjectRetention({ params: { id: project.id } }) : undefined;
    const worktrees: ProjectWorktree[] = await client.listProjectWorktrees({ params: { id: project.id } });
    const retention = swept ?? (await client.getProjectRetention({ params: { id: project.id } }));
    if (options.json) return printJson(options.sweep ? { worktrees, retention } : worktrees);
    printTable(
      ['TASK', 'STATE', 'BRANCH', 'IDLE', 'REMOVABLE', 'WORKTREE'],
      worktrees.map((w) => [
        w.identifier ?? w.taskId ?? '-',
        STATE_TEXT[w.state](w.state),
        w.branch ?? '-',
        w.state === 'missing' ? '-' : formatDuration(w.idleMs),
        w.removal === null ? '-' : w.removal.safe ? 'yes' : `no: ${w.removal.reason ?? 'unsafe'}`,
        w.path,
      ]),
      `No task worktrees in ${project.prefix}.`,
    );
    printRetention(retention);
  });

  withJson(
    task
      .command('remove-worktree')
      .description(
        "remove one of a project's task worktrees (by the name `task worktrees` lists, or its path): refused while it has uncommitted changes or commits merged and pushed nowhere, unless --force (which loses the uncommitted files; the branch keeps its commits)",
      )
      .argument('<project>', 'project id, prefix or name')
      .argument('<worktree>', "the worktree's name as `task worktrees` lists it (its task's identifier WEB-3, or an orphaned one's task id) or its path")
      .option('--force', 'remove it even with work that is nowhere else: its uncommitted files are lost'),
  ).action(async (ref: string, which: string, options: { force?: boolean; json?: boolean }, cmd: Command) => {
    const { client, project } = await boundProject(cmd, ref);
    const listed = await client.listProjectWorktrees({ params: { id: project.id } });
    // By the name `task worktrees` lists: its task's identifier, or its task id once the task is deleted (orphaned); or its path.
    const found = listed.find((w) => w.identifier === which || w.taskId === which || w.path === which);
    if (found === undefined) throw usageError(`No worktree of ${project.prefix} is "${which}": tinyagi task worktrees ${project.prefix} lists them.`);
    const removed = await client.removeProjectWorktree({ params: { id: project.id }, body: { path: found.path, ...(options.force ? { force: true } : {}) } });
    if (options.json) return printJson(removed);
    if (!removed.removed) return println(`The worktree ${found.path} was gone already; git's entry is pruned.`);
    println(`Removed the worktree ${found.path}${removed.branchDeleted ? ` and its merged branch ${found.branch}` : found.branch ? `; its branch ${found.branch} is kept` : ''}.`);
    if (removed.lost.length > 0) println(style.yellow(`Lost ${removed.lost.length} uncommitted file(s): ${removed.lost.join(', ')}`));
  });

  withJson(
    task
      .command('check')
      .description('check a repository-bound task again (its branch moved since its checks, or a check was fixed): it moves to checking and the daemon proves its branch as it is now')
      .argument('<task>', 'task id or identifier'),
  ).action(async (ref: string, options: { json?: boolean }, cmd: Command) => {
    const checking = await connect(contextOf(cmd)).client.checkTask({ params: { id: ref } });
    if (options.json) return printJson(checking);
    println(`${checking.identifier ?? checking.id} is being checked: tinyagi task show ${checking.identifier ?? checking.id} says the result.`);
  });
}
