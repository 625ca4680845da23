/**
 * `tinyagi task list|show|comment|request-changes|sync|merge|worktrees`: the kanban's tasks from the
 * terminal, with what the daemon proved about a repository-bound task (docs/git-tasks.md): its
 * branch and worktree, the last Checking (each check's result and, for a failed one, its log's
 * tail), the rounds, the review comments, and the merge. `comment` comments on a task, or (with
 * `--file` and `--line`) on a line of its diff; `request-changes` is a person's review: the review
 * comments not sent before go to the task's owner and the task back to In progress. `merge` is a
 * person's decision: it asks the daemon to merge a task in Review into its project's base, which
 * then removes the worktree (on the forge, for a task with a pull request: `sync` reads that pull
 * request's failed check runs and review comments and sends the new ones to the owner). The
 * worktrees' commands and `check` are in task-worktrees.ts; `add`, `start`, `move`, `edit` and
 * `delete` in task-edit.ts. With several nodes, `show` says which node holds the worktree and a
 * person's step waiting for that node (docs/git-tasks.md, "Several nodes").
 */
import type { Command } from 'commander';
import {
  autoMergeRefusalOf,
  autoMergeRetryText,
  checkResultText,
  mergedByText,
  nodeStateOf,
  type NodeStatus,
  reviewPlaceText,
  ROUNDS_ANSWERED,
  stepWaitText,
  TASK_STEP_NAMES,
  type Comment,
  type Task,
  UNCHECKED_MERGE_WARNING,
  worktreeNodeText,
} from '@tinyagi/client';
import { MERGE_METHODS, TASK_STATUSES } from '@tinyagi/client/contract';
import { connect } from '../daemon/connection.ts';
import { usageError } from '../output/cli-error.ts';
import { formatDuration, formatTime, plural, printFields, printJson, printTable, println } from '../output/print.ts';
import { style } from '../output/style.ts';
import { choice, contextOf, parsePositiveInt, withJson } from './options.ts';
import { printTaskDiff, printTaskDiffStat } from './task-diff.ts';
import { resolveProject } from './project-ref.ts';
import { registerTaskEditCommands } from './task-edit.ts';
import { registerTaskWorktreeCommands } from './task-worktrees.ts';

const short = (sha: string | null | undefined): string => (sha ? sha.slice(0, 10) : '-');

/** The last Checking in a few words: `passed 2/2`, `failed: login exit 2`, `running`, `needs a person` (once answered, what the person decided). */
function checkingSummary(git: Task['git']): string {
  const check = git?.check;
  if (!check) return '-';
  if (check.state === 'running') return 'running';
  const failed = check.checks.filter((c) => !c.ok);
  const what = check.error ? check.error.message : failed.length > 0 ? failed.map((c) => `${c.name} ${checkResultText(c)}`).join(', ') : (check.missing[0] ?? '');
  if (check.state === 'passed') return `passed ${check.checks.length}/${check.checks.length}`;
  const decision = git?.roundsApproval?.decision;
  const word = check.state === 'failed' ? 'failed' : decision === undefined ? 'needs a person' : (ROUNDS_ANSWERED[decision] ?? `answered: ${decision}`);
  return `${word}${what ? `: ${what}` : ''}`;
}

function colouredStatus(task: Task): string {
  const label = task.status === 'done' && task.git?.merge ? 'merged' : task.status;
  if (task.status === 'checking') return style.yellow(label);
  if (task.status === 'review' || task.status === 'done') return style.green(label);
  return label;
}

/** The last `lines` lines of a log. */
function tailLines(log: string, lines: number): string[] {
  const all = log.replace(/\n+$/, '').split('\n');
  return all.slice(-lines);
}

/** Where a review comment sits: `src/login.ts:12`, `old.ts:3 (the base's line)`. */
function commentPlace(comment: Comment): string {
  return comment.anchor === null ? '-' : reviewPlaceText(comment.anchor);
}

function printReviewComments(comments: readonly Comment[]): void {
  const review = comments.filter((c) => c.anchor !== null);
  if (review.length === 0) return;
  println();
  println(style.bold(`Review comments: ${review.length} (${review.filter((c) => c.sentRound === null).length} not sent)`));
  printTable(
    ['LINE', 'FROM', 'SENT', 'COMMENT'],
    review.map((c) => [commentPlace(c), c.author, c.sentRound === null ? style.yellow('not sent') : `in round ${c.sentRound}`, c.content.split('\n')[0]!.slice(0, 60)]),
  );
}

/** The task's worktree: its folder and, with several nodes, the node that holds it (or a start waiting for that node). */
function worktreeText(git: NonNullable<Task['git']>, nodes: readonly NodeStatus[] | undefined): string {
  const node = worktreeNodeText(git, git.node === undefined || nodes === undefined ? undefined : nodeStateOf(nodes, git.node));
  // A merge removes the worktree (docs/git-tasks.md); the record keeps the folder it was.
  if (git.merge) return `removed at the merge (was ${git.worktreePath ?? '-'}${node ? ` ${node}` : ''})`;
  if (git.worktreePath === null) return node ?? '-';
  return `${git.worktreePath}${node ? ` ${node}` : ''}`;
}

/** `nodes`: the daemon's nodes (`GET /api/status`), read when the task names one (several nodes). */
function printTask(task: Task & { commentCount?: number }, logLines: number, comments: readonly Comment[] = [], nodes?: readonly NodeStatus[]): void {
  const git = task.git;
  printFields([
    ['task', `${task.identifier ?? task.id}${task.identifier ? style.dim(` (${task.id})`) : ''}`],
    ['title', task.title],
    ['status', colouredStatus(task)],
    ['assignee', task.assigneeAgent ? `@${task.assigneeAgent}` : task.assigneeTeam ? `#${task.assigneeTeam}` : '-'],
    ['conversation', task.conversationId ?? '-'],
    ...(git
      ? ([
          ['branch', git.branch ?? '-'],
          ['worktree', worktreeText(git, nodes)],
          ...(git.checkout === undefined || git.merge ? [] : ([['checkout', `${git.checkout.kind}${git.checkout.why ? ` (${git.checkout.why})` : ''}`]] as const)),
          ['head', short(git.headSha)],
          ...(git.merge ? [] : ([['worktree state', git.error ? style.red(`${git.state}: ${git.error.code}: ${git.error.message}`) : git.state]] as const)),
          ['rounds', String(git.rounds ?? 0)],
          ...(git.pullRequest ? ([['pull request', `#${git.pullRequest.number} ${git.pullRequest.url}`]] as const) : []),
        ] as const)
      : []),
    ['updated', formatTime(task.updatedAt)],
  ]);
  // A person's step recorded for the node that holds the task's disk (docs/git-tasks.md, "Several nodes").
  if (git?.request) println(style.yellow(`\n${stepWaitText(git.request, formatTime(git.request.requestedAt), nodes && nodeStateOf(nodes, git.request.node))}`));
  const check = git?.check;
  if (check) {
    println();
    println(style.bold(`Checking: ${checkingSummary(git)}`));
    printFields([
      ['commit', short(check.headSha)],
      ['commits', String(check.commits)],
      ['uncommitted', check.uncommitted.length > 0 ? check.uncommitted.join(', ') : 'none'],
      ['pushed', check.pushed === null ? '- (no remote)' : check.pushed ? 'yes' : 'no'],
      ['finished', formatTime(check.finishedAt)],
    ]);
    if (check.checks.length > 0) {
      println();
      printTable(
        ['CHECK', 'RESULT', 'TOOK', 'COMMAND'],
        check.checks.map((c) => [c.name, c.ok ? style.green(checkResultText(c)) : style.red(checkResultText(c)), formatDuration(c.durationMs), c.argv.join(' ')]),
      );
    }
    for (const c of check.checks.filter((r) => !r.ok && r.log !== '')) {
      println();
      println(style.dim(`The end of ${c.name}'s output${c.omittedBytes > 0 ? ` (${plural(c.omittedBytes, 'byte')} left out in the middle)` : ''}:`));
      for (const line of tailLines(c.log, logLines)) println(`  ${line}`);
    }
    if (check.missing.length > 0 && check.state !== 'passed') {
      println();
      println('What does not hold:');
      for (const m of check.missing) println(`  - ${m.split('\n')[0]}`);
    }
  }
  printReviewComments(comments);
  if (git?.merge) {
    println();
    println(
      `Merged ${git.merge.branch} into ${git.merge.baseRef} (${git.merge.method === 'ff' ? 'fast-forward' : 'merge commit'}) at ${formatTime(git.merge.mergedAt)} ${mergedByText(git.merge.by)}: ${short(git.merge.commit)}.`,
    );
  } else if (task.status === 'checking' && check?.state === 'needs_person' && git?.roundsApproval) {
    // A person is asked (the task_rounds approval, docs/git-tasks.md): how to answer from here.
    const id = git.roundsApproval.id;
    println(style.yellow(`\nWaits for a person after ${plural(git.rounds ?? 0, 'round')}: \`tinyagi rounds ${id} more [n]\`, \`take-over\` or \`stop\`.`));
  } else if (git?.roundsApproval?.decision && task.status !== 'checking') {
    const { decision, decidedBy } = git.roundsApproval;
    const what = decision === 'more_rounds' ? `more rounds (up to ${git.roundsLimit ?? '?'})` : decision === 'take_over' ? 'taken over' : 'stopped';
    println(style.dim(`\nAfter its rounds: ${what} by ${decidedBy ?? 'a person'}.`));
  }
  // While a step waits for its node, another is refused: nothing to suggest.
  if (!git?.merge && task.status === 'review' && git && !git.request) printReviewNext(task, comments);
}

/** A task in Review: a refused or withheld auto-merge with its reason, and how to merge it or send the review comments. */
function printReviewNext(task: Task, comments: readonly Comment[]): void {
  const ref = task.identifier ?? task.id;
  const unsent = comments.some((c) => c.anchor !== null && c.sentRound === null);
  const refused = autoMergeRefusalOf(task);
  if (refused) {
    println(style.red(`\nAuto-merge refused: ${refused.code}: ${refused.message}`));
    if (refused.hint) println(`  ${refused.hint}`);
    println(`  ${autoMergeRetryText(formatTime(refused.retryAt))}`);
  }
  const withheld = task.git?.autoMergeWithheld;
  if (withheld) println(style.yellow(`\nAuto-merge withheld: ${withheld.why}.`));
  println(style.dim(`\nMerge it with \`tinyagi task merge ${ref}\`${unsent ? `, or send the review comments with \`tinyagi task request-changes ${ref}\`` : ''}.`));
  if (task.git?.pullRequest) println(style.dim(`Read its pull request's check runs and review comments with \`tinyagi task sync ${ref}\`.`));
}

export function registerTaskCommands(program: Command): void {
  const task = program
    .command('task')
    .alias('tasks')
    .description("the kanban's tasks: add, start, move, edit, delete, list, show (branch, checks, rounds, review comments), comment, request-changes, merge, worktrees");

  withJson(
    task
      .command('list')
      .alias('ls')
      .description('tasks by status and position')
      .option('--project <id>', "only this project's (its id, prefix or name)")
      .option('--status <status>', `only tasks in this status (${TASK_STATUSES.join(', ')})`, choice(TASK_STATUSES))
      .option('--assignee <id>', 'only tasks assigned to this agent or team'),
  ).action(async (options: { project?: string; status?: (typeof TASK_STATUSES)[number]; assignee?: string; json?: boolean }, cmd: Command) => {
    const { client } = connect(contextOf(cmd));
    const projectId = options.project === undefined ? undefined : resolveProject(await client.listProjects(), options.project).id;
    const tasks = await client.listTasks({
      query: { ...(projectId ? { projectId } : {}), ...(options.status ? { status: options.status } : {}), ...(options.assignee ? { assignee: options.assignee } : {}) },
    });
    if (options.json) return printJson(tasks);
    printTable(
      ['TASK', 'STATUS', 'ASSIGNEE', 'BRANCH', 'CHECKING', 'TITLE'],
      tasks.map((t) => [
        t.identifier ?? t.id,
        colouredStatus(t),
        t.assigneeAgent ? `@${t.assigneeAgent}` : t.assigneeTeam ? `#${t.assigneeTeam}` : '-',
        t.git?.branch ?? '-',
        `${checkingSummary(t.git)}${autoMergeRefusalOf(t) ? style.red(', auto-merge refused') : ''}${t.git?.request ? style.yellow(`, ${TASK_STEP_NAMES[t.git.request.step]} waits for node ${t.git.request.node}`) : ''}`,
        t.title.slice(0, 50).replace(/\s+/g, ' '),
      ]),
      'No tasks.',
    );
  });

  withJson(
    task
      .command('show')
      .description("one task (by id or identifier such as WEB-3): its branch, worktree, the last Checking with each check's result and a failed check's output, the merge")
      .argument('<task>', 'task id or identifier')
      .option('--lines <n>', "how many lines of a failed check's output (default 20)", parsePositiveInt)
      .option('--diff', 'print its diff (branch against base) with the review comments under their lines as they are now')
      .option('--stat', 'print a summary of its diff per file: status, added and removed lines, review comments'),
  ).action(async (ref: string, options: { lines?: number; json?: boolean; diff?: boolean; stat?: boolean }, cmd: Command) => {
    const { client } = connect(contextOf(cmd));
    if (options.diff || options.stat) {
      if (options.diff && options.stat) throw usageError('Give --diff or --stat, not both.');
      // The diff first: the comments are then followed to a tip at least as new as the diff's.
      const diff = await client.getTaskDiff({ params: { id: ref } });
      const comments = (await client.listComments({ params: { id: ref } })).filter((c) => c.anchor !== null);
      if (options.json) return printJson({ diff, comments });
      return options.stat ? printTaskDiffStat(diff, comments) : printTaskDiff(diff, comments);
    }
    const found = await client.getTask({ params: { id: ref } });
    if (options.json) return printJson(found);
    // Whether the node holding its disk is up: asked only of a task that names one (several nodes).
    const nodes = found.git?.node !== undefined || found.git?.request !== undefined ? (await client.status()).nodes : undefined;
    printTask(found, options.lines ?? 20, found.commentCount > 0 ? await client.listComments({ params: { id: found.id } }) : [], nodes);
  });

  withJson(
    task
      .command('comment')
      .description('comment on a task; with --file and --line, a review comment on a line of its diff (a repository-bound task with a branch), sent to its owner by request-changes')
      .argument('<task>', 'task id or identifier')
      .argument('<text...>', 'the comment')
      .option('--file <path>', "a file of the task's diff (as the diff names it)")
      .option('--line <n>', "the line's number in the branch's file (with --old: in the base's)", parsePositiveInt)
      .option('--old', "the line number is the base's (a removed line)"),
  ).action(async (ref: string, words: string[], options: { file?: string; line?: number; old?: boolean; json?: boolean }, cmd: Command) => {
    if ((options.file === undefined) !== (options.line === undefined)) throw usageError('A review comment needs both --file and --line; without either, the comment is on the task as a whole.');
    if (options.old && options.file === undefined) throw usageError('--old is for a review comment: give --file and --line with it.');
    const anchor = options.file === undefined ? undefined : { path: options.file, line: options.line!, side: options.old ? ('old' as const) : ('new' as const) };
    const comment = await connect(contextOf(cmd)).client.addComment({ params: { id: ref }, body: { content: words.join(' '), ...(anchor ? { anchor } : {}) } });
    if (options.json) return printJson(comment);
    println(
      comment.anchor
        ? `Commented on ${ref} at ${commentPlace(comment)} (comment ${comment.id}, on commit ${short(comment.anchor.commitSha)}); \`tinyagi task request-changes ${ref}\` sends it to the task's owner.`
        : `Commented on ${ref} (comment ${comment.id}).`,
    );
  });

  withJson(
    task
      .command('request-changes')
      .description("a person's review of a task in review: its review comments not sent before (and the summary) go to its owner as one message, and the task goes back to in_progress")
      .argument('<task>', 'task id or identifier')
      .option('--summary <text>', 'a word on the whole review, kept as a comment and sent with the review comments'),
  ).action(async (ref: string, options: { summary?: string; json?: boolean }, cmd: Command) => {
    const result = await connect(contextOf(cmd)).client.requestChanges({ params: { id: ref }, body: options.summary === undefined ? {} : { summary: options.summary } });
    if (options.json) return printJson(result);
    const name = result.task.identifier ?? result.task.id;
    const owner = result.task.assigneeAgent ? `@${result.task.assigneeAgent}` : result.task.assigneeTeam ? `#${result.task.assigneeTeam}` : 'its owner';
    println(`Sent ${plural(result.sent.commentIds.length, 'comment')} to ${owner} (round ${result.sent.round}); ${name} is in progress again, in conversation ${result.sent.conversationId}.`);
  });

  withJson(
    task
      .command('sync')
      .description(
        "read a task's pull request on its project's forge (GitHub): opened if its passed checks left none; in review, its failed check runs and review comments not sent before go to its owner as one message (a round)",
      )
      .argument('<task>', 'task id or identifier'),
  ).action(async (ref: string, options: { json?: boolean }, cmd: Command) => {
    const result = await connect(contextOf(cmd)).client.syncTaskForge({ params: { id: ref } });
    if (options.json) return printJson(result);
    const name = result.task.identifier ?? result.task.id;
    println(`${name}: pull request #${result.pullRequest.number} ${result.pullRequest.url}, head ${short(result.headSha)}.`);
    printTable(
      ['CHECK RUN', 'STATUS', 'CONCLUSION'],
      result.checkRuns.map((r) => [r.name, r.status, r.conclusion === null ? '-' : r.conclusion === 'success' ? style.green(r.conclusion) : style.red(r.conclusion)]),
      'No check runs on its head yet.',
    );
    const owner = result.task.assigneeAgent ? `@${result.task.assigneeAgent}` : result.task.assigneeTeam ? `#${result.task.assigneeTeam}` : 'its owner';
    if (result.sent !== null)
      println(
        `Sent ${plural(result.newFailedChecks, 'failed check run')}, ${plural(result.newReviews, 'review')} and ${plural(result.newComments, 'review comment')} to ${owner} (round ${result.sent.round}); ${name} is in progress again.`,
      );
    else println(result.waiting ?? 'Nothing new to send.');
  });

  withJson(
    task
      .command('merge')
      .description(
        "merge a task in review into its project's base ref (a merge commit naming the task, or a fast-forward; on the forge for a task with a pull request), then remove its worktree; the task is done",
      )
      .argument('<task>', 'task id or identifier')
      .option('--method <method>', `${MERGE_METHODS.join(' or ')} (default merge: a merge commit)`, choice(MERGE_METHODS)),
  ).action(async (ref: string, options: { method?: (typeof MERGE_METHODS)[number]; json?: boolean }, cmd: Command) => {
    const { client } = connect(contextOf(cmd));
    // As TinyOffice's merge form warns: on stderr, so --json stays the answer alone.
    if ((await client.getTask({ params: { id: ref } })).git?.check?.state !== 'passed') process.stderr.write(`${style.yellow(`Warning: ${UNCHECKED_MERGE_WARNING}`)}\n`);
    const result = await client.mergeTask({ params: { id: ref }, body: options.method ? { method: options.method } : {} });
    if (options.json) return printJson(result);
    const { merge, worktree } = result;
    const name = result.task.identifier ?? result.task.id;
    const how = merge.method === 'ff' ? 'fast-forward' : 'merge commit';
    println(merge.created ? `Merged ${name} (${merge.branch}) into ${merge.baseRef}: ${short(merge.commit)} (${how}).` : `${name} (${merge.branch}) was in ${merge.baseRef} already: nothing merged.`);
    println(
      worktree.removed
        ? `Its worktree is removed${worktree.branchDeleted ? ' and its local branch deleted' : ''}; the task is done.`
        : `Its worktree was gone already${worktree.branchDeleted ? '; its local branch is deleted' : ''}; the task is done.`,
    );
  });

  registerTaskEditCommands(task);
  registerTaskWorktreeCommands(task);
}
