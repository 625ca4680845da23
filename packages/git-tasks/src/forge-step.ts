/**
 * The forge's steps of a repository-bound task (docs/git-tasks-design.md, "The forge"),
 * for a project whose binding has a `forge` (which requires a `remote`). Contract:
 * - `openTaskPullRequest`, after a passed Checking (the branch is pushed: "pushed" is one of its
 *   facts): the forge's open pull request for the task's branch into the base's branch is found or
 *   opened (never two), recorded on `task.git.pullRequest`, and `task.pull_request_opened`
 *   appended (`created` false when it was found).
 * - `syncTaskForge`, for a task in Review with a pull request: the failed check runs of the pull
 *   request's head, its review comments, and the bodies of its reviews that ask for changes or
 *   comment, not sent before (`task.git.forgeSent`: `check:<id>`, `review:<id>`,
 *   `comment:<id>`) go to the owner as one request for changes (review-step.ts: a round, the task
 *   back to In progress). A review comment is stored as the task's review comment anchored on its
 *   file and line (`github:<login>` its author; the base's side for GitHub's LEFT); the failed
 *   checks and the reviews' bodies are the request's summary. Nothing new, or checks still running with none failed: nothing
 *   is sent. The comments and the summary (marked with the coming round) are stored, then all that
 *   was taken is recorded, then the message is sent keyed by the round and those comments' ids: a
 *   failed send or a crash after the record leaves the summary marked with a round not counted (or
 *   GitHub's comments stored unsent), and the next read finishes that round first under the same
 *   key; a crash before the record leaves comments stored, which the next read matches one for one
 *   (author, text, anchor) instead of storing again (nothing twice, nothing lost). The
 *   caller holds the task for the read (one process at a time: the tasks store's `holdTask`).
 * - Rounds: failed check runs are counted against the task's limit (`roundsLimit`, else the
 *   binding's `maxRounds`). Only failed runs new and the limit reached: nothing is sent, the task
 *   stays in Review and a person is asked (the `task_rounds` request, recorded then made once, as
 *   the Checking does); its `more_rounds` raises the limit (rounds-step.ts) and the next read sends
 *   them. A person's review or review comment is sent past the limit (a person's decision), the
 *   waiting runs with it, and a pending request is withdrawn.
 * - `runTaskForgeMerge`, the person's merge of a task with a pull request: the forge merges it with
 *   the head it must have (the commit the Checking passed; a newer push is refused, INVALID_STATE),
 *   the base is fetched from the remote, and the merge is proved by ancestry (the task's tip in the
 *   remote's base) before it is recorded and the worktree removed, as for a local merge.
 */
import type { MergedBy, TaskGit, TaskMerge, TaskPullRequest } from '@tinyagi/client/contract';
import { type ApprovalStoreApi, type TaskRecord, type TaskStoreApi, TinyError } from './core.ts';
import { refuseUncommitted } from './branch-state.ts';
import type { Forge, ForgeCheckRun, ForgeReview } from './forge.ts';
import { forgeTitle } from './forge-kind.ts';
import { git, isAncestor, resolveCommit } from './git.ts';
import { ensureRepository, resolveProjectRepo, taskWorktreePath } from './project-repo.ts';
import { runTaskReview, type TaskReviewInput, type TaskReviewResult } from './review-step.ts';
import { requestRoundsApproval, roundsApprovalId } from './rounds-request.ts';
import type { TaskStepBase } from './task-step.ts';
import { finishTaskMerge } from './merge-step.ts';

/** The conclusions of a check run that are feedback: the run did not pass. */
const FAILED = new Set(['failure', 'timed_out', 'cancelled', 'action_required', 'startup_failure', 'stale']);
const TEXT_TAIL = 4000;

function need<T>(value: T | undefined | null, message: string, hint: string): T {
  if (value === undefined || value === null) throw new TinyError('INVALID_STATE', message, { hint });
  return value;
}

/** The base's branch on the forge: `origin/main` → `main`. */
export function forgeBaseBranch(baseRef: string, remote: string): string {
  return baseRef.startsWith(`${remote}/`) ? baseRef.slice(remote.length + 1) : baseRef.replace(/^refs\/heads\//, '');
}

export interface OpenPullRequestInput extends TaskStepBase {
  forge: Forge;
  tasks: Pick<TaskStoreApi, 'getTask' | 'setTaskGit'>;
  /** Where a person reads the task (TinyOffice's page), put in the pull request's body. */
  taskUrl?: string;
}

export async function openTaskPullRequest(input: OpenPullRequestInput): Promise<{ task: TaskRecord; pullRequest: TaskPullRequest; created: boolean }> {
  const task = (await input.tasks.getTask(input.task.id)) ?? input.task;
  const identifier = task.identifier ?? task.id;
  const remote = need(input.repo.remote, `Project ${input.projectId} has a forge but no remote.`, 'Set the binding\'s remote (e.g. "origin").');
  const git0 = need(task.git, `Task ${identifier} has no worktree.`, 'Move it to In progress first.');
  const head = need(git0.branch, `Task ${identifier} has no branch.`, 'Move it to In progress first.');
  const base = forgeBaseBranch(input.repo.baseRef, remote);
  const body = [
    `TinyAGI task **${identifier}**: ${task.title}`,
    ...(input.taskUrl === undefined ? [] : [input.taskUrl]),
    'Opened when its checks passed. Failed check runs and review comments here go back to the agent that owns the task; merge it from TinyAGI (`tinyagi task merge`) so the worktree is removed after the merge is proved.',
  ].join('\n\n');
  const { pullRequest, created } = await input.forge.ensurePullRequest({ head, base, title: `${identifier}: ${task.title}`, body });
  const record: TaskPullRequest = {
    number: pullRequest.number,
    url: pullRequest.url,
    headRef: head,
    baseRef: base,
    openedAt: git0.pullRequest?.number === pullRequest.number ? git0.pullRequest.openedAt : Date.now(),
  };
  const after = await input.tasks.setTaskGit(task.id, { ...git0, pullRequest: record, updatedAt: Date.now() });
  if (git0.pullRequest?.number !== pullRequest.number || created) {
    await input.events.append({
      type: 'task.pull_request_opened',
      data: { taskId: task.id, identifier, projectId: input.projectId, number: record.number, url: record.url, headRef: head, baseRef: base, created },
    });
  }
  return { task: after ?? task, pullRequest: record, created };
}

export interface ForgeSyncInput extends TaskStepBase {
  forge: Forge;
  tasks: TaskReviewInput['tasks'] & Pick<TaskStoreApi, 'getTask'>;
  /** Where the `task_rounds` request is made when the failed check runs come after the task's last round. */
  approvals: Pick<ApprovalStoreApi, 'createOnce' | 'get' | 'decide'>;
  send: TaskReviewInput['send'];
}

export interface ForgeSyncResult {
  task: TaskRecord;
  /** The request for changes this sync made (null: nothing new to send). */
  sent: TaskReviewResult['sent'] | null;
  /** What the forge has now: the pull request's head, its check runs, and how many comments were new. */
  headSha: string;
  checkRuns: Array<Pick<ForgeCheckRun, 'id' | 'name' | 'status' | 'conclusion' | 'url'>>;
  newComments: number;
  /** Reviews with a body that ask for changes or comment. */
  newReviews: number;
  newFailedChecks: number;
  /** Why nothing was sent when something was new (the task not in Review, or a person asked after its last round). */
  waiting?: string;
  /** The `task_rounds` request the failed check runs wait on (their rounds are at the task's limit). */
  roundsApprovalId?: string;
}

/** One failed check run as the owner reads it: its name, conclusion, title, summary, and the text's tail; `on` names the forge ("GitHub"). */
export function checkRunText(run: ForgeCheckRun, on: string): string {
  const text = run.text ?? '';
  const tail = text.length > TEXT_TAIL ? `…${text.slice(-TEXT_TAIL)}` : text;
  return [
    `The check run "${run.name}" on ${on} ended ${run.conclusion ?? run.status}${run.title ? `: ${run.title}` : ''}.${run.url ? ` ${run.url}` : ''}`,
    ...(run.summary ? [run.summary] : []),
    ...(tail ? [tail] : []),
  ].join('\n');
}

/** A review as the owner reads it: who, its verdict, its body; `on` names the forge. */
export function reviewText(review: ForgeReview, on: string): string {
  return `${review.author} ${review.state === 'CHANGES_REQUESTED' ? 'requested changes' : 'commented'} on ${on} (${review.url}):\n${review.body.trim()}`;
}

export async function syncTaskForge(input: ForgeSyncInput): Promise<ForgeSyncResult> {
  const task = (await input.tasks.getTask(input.task.id)) ?? input.task;
  const identifier = task.identifier ?? task.id;
  const gitState = need(task.git, `Task ${identifier} has no worktree.`, 'Move it to In progress first.');
  const pr = need(gitState.pullRequest, `Task ${identifier} has no pull request.`, 'A pull request is opened when its checks pass on a project with a forge.');
  const remote = await input.forge.getPullRequest(pr.number);
  const runs = await input.forge.listCheckRuns(remote.headSha);
  const comments = await input.forge.listReviewComments(pr.number);
  const reviews = await input.forge.listReviews(pr.number);
  const sentBefore = new Set(gitState.forgeSent ?? []);
  const failed = runs.filter((r) => r.status === 'completed' && r.conclusion !== null && FAILED.has(r.conclusion) && !sentBefore.has(`check:${r.id}`));
  const fresh = comments.filter((c) => !sentBefore.has(`comment:${c.id}`));
  // A review's line comments come as comments; its body is feedback when it asks for changes or comments (an approval asks nothing).
  const asking = reviews.filter((r) => (r.state === 'CHANGES_REQUESTED' || r.state === 'COMMENTED') && r.body.trim() !== '' && !sentBefore.has(`review:${r.id}`));
  const result = {
    headSha: remote.headSha,
    checkRuns: runs.map((r) => ({ id: r.id, name: r.name, status: r.status, conclusion: r.conclusion, url: r.url })),
    newComments: fresh.length,
    newReviews: asking.length,
    newFailedChecks: failed.length,
  };
  if (task.status !== 'review') {
    const anything = failed.length > 0 || fresh.length > 0 || asking.length > 0;
    return { task, sent: null, ...result, ...(anything ? { waiting: `Task ${identifier} is in ${task.status}: the forge's feedback is sent once it is back in review.` } : {}) };
  }

  // The forge's people are named by its kind (`github:ann`), its summary by the kind alone; its title is what the owner reads ("on GitHub").
  const on = forgeTitle(input.repo.forge);
  const forgeName = input.repo.forge?.kind ?? 'forge';
  // The forge's review comments already stored (a crash after storing them and before recording them): matched, one for one, never stored twice.
  const before = await input.tasks.listComments(task.id);
  const round = (gitState.rounds ?? 0) + 1;
  const commentKey = (author: string, content: string, a: { path: string; line: number; side: string; commitSha: string | null }): string =>
    JSON.stringify([author, content, a.path, a.line, a.side, a.commitSha]);
  const storedBefore = new Map<string, number>();
  for (const c of before)
    if (c.anchor !== null && c.author.startsWith(`${forgeName}:`)) storedBefore.set(commentKey(c.author, c.content, c.anchor), (storedBefore.get(commentKey(c.author, c.content, c.anchor)) ?? 0) + 1);
  const matched: typeof fresh = [];
  const unstored: typeof fresh = [];
  for (const c of fresh) {
    const key = c.line === null ? undefined : commentKey(`${forgeName}:${c.author}`, c.body, { path: c.path, line: c.line, side: c.side === 'LEFT' ? 'old' : 'new', commitSha: c.commitId });
    const left = key === undefined ? 0 : (storedBefore.get(key) ?? 0);
    if (key !== undefined && left > 0) {
      storedBefore.set(key, left - 1);
      matched.push(c);
    } else unstored.push(c);
  }
  const recordMatched = async (): Promise<TaskGit> => {
    if (matched.length === 0) return gitState;
    return (await input.tasks.setTaskGit(task.id, { ...gitState, forgeSent: [...(gitState.forgeSent ?? []), ...matched.map((c) => `comment:${c.id}`)], updatedAt: Date.now() })).git ?? gitState;
  };

  // A round a crash or a failed send interrupted (its summary, or GitHub's comments, stored and not sent): finished first, under the same key
  // (the queue returns the message if it went); what is new in this read waits for the next one, so the round's comments stay the same.
  const summaryBefore = before.find((c) => c.anchor === null && c.author === forgeName && c.sentRound === round);
  if (summaryBefore !== undefined || before.some((c) => c.anchor !== null && c.author.startsWith(`${forgeName}:`) && c.sentRound === null)) {
    const git1 = await recordMatched();
    const reviewed = await runTaskReview({
      ...input,
      intro: introOf(pr.number, '', on),
      task: { ...task, git: git1 },
      summary: summaryBefore === undefined ? undefined : { author: summaryBefore.author, content: summaryBefore.content },
    });
    return { task: (await input.tasks.getTask(task.id)) ?? reviewed.task, sent: reviewed.sent, ...result };
  }
  if (failed.length === 0 && unstored.length === 0 && asking.length === 0) {
    await recordMatched();
    return { task: (await input.tasks.getTask(task.id)) ?? task, sent: null, ...result };
  }

  // Failed check runs are counted against the task's rounds, as the Checking's are; a person's review on GitHub is a person's decision: sent and counted, never stopped.
  const rounds = gitState.rounds ?? 0;
  const limit = gitState.roundsLimit ?? input.repo.maxRounds;
  const asked = gitState.roundsApproval;
  if (unstored.length === 0 && asking.length === 0 && rounds >= limit) return holdForPerson(input, { ...task, git: await recordMatched() }, failed, result);

  // The comments become the task's review comments, and the summary is stored as sent in the coming
  // round, before what was taken is recorded: the record and the message's key (the round and the
  // comments' ids) come from the same stored rows, so a crash or a second read never sends twice.
  const unplaced: string[] = [];
  for (const c of unstored) {
    const author = `${forgeName}:${c.author}`;
    if (c.line === null) unplaced.push(`${author} on ${c.path} (${on} no longer places it on a line): ${c.body}`);
    else await input.tasks.addComment(task.id, { author, content: c.body, anchor: { path: c.path, line: c.line, side: c.side === 'LEFT' ? 'old' : 'new', commitSha: c.commitId } });
  }
  const summaryParts = [...failed.map((r) => checkRunText(r, on)), ...asking.map((r) => reviewText(r, on)), ...unplaced];
  const summary =
    summaryParts.length === 0 ? undefined : { author: forgeName, content: `From the pull request ${pr.url} (it follows the branch: push what you commit):\n\n${summaryParts.join('\n\n')}` };
  if (summary !== undefined) await input.tasks.addComment(task.id, { ...summary, sentRound: round });
  const taken = [...(gitState.forgeSent ?? []), ...fresh.map((c) => `comment:${c.id}`), ...failed.map((r) => `check:${r.id}`), ...asking.map((r) => `review:${r.id}`)];
  const recorded: TaskGit = { ...gitState, forgeSent: taken, updatedAt: Date.now() };
  await input.tasks.setTaskGit(task.id, recorded);
  const what = [
    ...(failed.length === 0 ? [] : [failed.length === 1 ? 'a failed check run' : `${failed.length} failed check runs`]),
    ...(asking.length === 0 ? [] : [asking.length === 1 ? 'a review' : `${asking.length} reviews`]),
    ...(unstored.length === 0 ? [] : [unstored.length === 1 ? 'a review comment' : `${unstored.length} review comments`]),
  ].join(' and ');
  const reviewed = await runTaskReview({ ...input, intro: introOf(pr.number, what, on), task: { ...task, git: recorded }, summary });
  // A person's review sent while the failed runs waited for a person: the request has nothing left to decide.
  if (asked !== undefined && asked.decision === undefined) await withdrawForgeRequest(input, asked.id, `a person asked for changes on ${on}, and the failed check runs went with it`);
  return { task: (await input.tasks.getTask(task.id)) ?? reviewed.task, sent: reviewed.sent, ...result };
}

const introOf =
  (number: number, what: string, on: string) =>
  (round: number): string =>
    `Its pull request #${number} on ${on} asks for changes (round ${round})${what === '' ? '' : `: ${what}`}.`;

type SyncFacts = Omit<ForgeSyncResult, 'task' | 'sent' | 'waiting' | 'roundsApprovalId'>;

/**
 * The failed check runs came after the task's last round: nothing is sent, and a person is asked
 * (the `task_rounds` request, its id recorded on the task before it is made, as the Checking does;
 * made once, also across a crash: the next read makes it). The task waits in Review; its answer
 * (rounds-step.ts) raises the limit, and the next read sends what was held back.
 */
async function holdForPerson(input: ForgeSyncInput, task: TaskRecord, failed: ForgeCheckRun[], facts: SyncFacts): Promise<ForgeSyncResult> {
  const identifier = task.identifier ?? task.id;
  const git0 = task.git as TaskGit;
  const rounds = git0.rounds ?? 0;
  let asked = git0.roundsApproval;
  // Pending (recorded and not answered) is waited on; a request withdrawn or answered before is followed by a new one.
  const existing = asked !== undefined && asked.decision === undefined ? await input.approvals.get(asked.id) : undefined;
  const waits = asked !== undefined && asked.decision === undefined && (existing === undefined || existing.status === 'pending' || existing.status === 'answered');
  let current = task;
  if (!waits || asked === undefined) {
    asked = { id: roundsApprovalId(task.id, rounds, asked?.id), requestedAt: Date.now() };
    current = await input.tasks.setTaskGit(task.id, { ...git0, roundsApproval: asked, updatedAt: Date.now() });
  }
  const missing = failed.map((r) => `The check run "${r.name}" on ${forgeTitle(input.repo.forge)} ended ${r.conclusion ?? r.status}.`);
  await requestRoundsApproval({ approvals: input.approvals, events: input.events, projectId: input.projectId, repo: input.repo }, current, missing);
  return {
    task: current,
    sent: null,
    ...facts,
    roundsApprovalId: asked.id,
    waiting: `Task ${identifier} is at its limit of ${git0.roundsLimit ?? input.repo.maxRounds} rounds: its pull request's failed check runs wait for a person's answer (task_rounds ${asked.id}: more rounds, take over or stop).`,
  };
}

async function withdrawForgeRequest(input: ForgeSyncInput, id: string, reason: string): Promise<void> {
  const done = await input.approvals.decide(id, { status: 'cancelled', decision: null, decidedBy: input.repo.forge?.kind ?? 'forge', reason, decidedAt: Date.now() });
  if (done) await input.events.append({ type: 'approval.decided', conversationId: done.conversationId, agentId: done.agentId, data: { approval: done } });
}

export interface ForgeMergeInput extends TaskStepBase {
  forge: Forge;
  tasks: Pick<TaskStoreApi, 'setTaskGit' | 'updateTask'>;
  /** Who merges: a person (default) or the binding's auto-merge (`autoMerge`; recorded and announced). */
  by?: MergedBy;
}

export async function runTaskForgeMerge(input: ForgeMergeInput): Promise<{ task: TaskRecord; merge: TaskMerge & { created: boolean }; worktree: { removed: boolean; branchDeleted: boolean } }> {
  const { task, tasks, events } = input;
  const identifier = task.identifier ?? task.id;
  if (task.status !== 'review') {
    throw new TinyError('INVALID_STATE', `Task ${identifier} is in ${task.status}, not review: only a task in review is merged.`, {
      hint: 'Merge it once its checks have passed and it is in review.',
    });
  }
  const gitState = need(task.git, `Task ${identifier} has no worktree.`, 'Move it to In progress first.');
  const pr = need(gitState.pullRequest, `Task ${identifier} has no pull request.`, 'It is opened when its checks pass.');
  const remote = need(input.repo.remote, `Project ${input.projectId} has a forge but no remote.`, 'Set the binding\'s remote (e.g. "origin").');
  const ctx = resolveProjectRepo(input.repo, { projectId: input.projectId, home: input.home });
  await ensureRepository(ctx);
  const ref = { id: task.id, identifier, title: task.title, branch: task.git?.branch ?? null };
  const branch = gitState.branch ?? pr.headRef;
  const remoteBase = `refs/remotes/${remote}/${pr.baseRef}`;

  let merge: TaskMerge & { created: boolean };
  const recorded = gitState.merge;
  if (recorded !== undefined) {
    merge = { ...recorded, created: false };
  } else {
    const checked = gitState.check?.state === 'passed' ? gitState.check.headSha : null;
    const tip = checked ?? (await resolveCommit(ctx.repoDir, `refs/heads/${branch}`));
    if (tip === undefined || tip === null) throw new TinyError('INVALID_STATE', `Task ${identifier}'s branch ${branch} is gone.`, { hint: 'Move it to In progress to make it again.' });
    // What is merged is what was committed and checked: uncommitted work in the worktree would also stop its removal after the merge.
    await refuseUncommitted(ctx, gitState.worktreePath ?? taskWorktreePath(ctx, ref), identifier);
    const state = await input.forge.getPullRequest(pr.number);
    let commit: string;
    let created = true;
    if (state.merged) {
      // Merged on the forge by a person (or by a run a crash interrupted): proved below like any other.
      commit = state.mergeCommitSha ?? tip;
      created = false;
    } else {
      const merged = await input.forge.mergePullRequest({ number: pr.number, sha: tip, method: 'merge', title: `Merge task ${identifier}: ${task.title} (#${pr.number})` });
      commit = merged.sha;
    }
    await git(['fetch', '--quiet', remote, `+refs/heads/${pr.baseRef}:${remoteBase}`], { cwd: ctx.repoDir });
    const base = await resolveCommit(ctx.repoDir, remoteBase);
    if (base === undefined || !(await isAncestor(ctx.repoDir, tip, base))) {
      throw new TinyError(
        'INVALID_STATE',
        `${forgeTitle(input.repo.forge)} reported pull request #${pr.number} merged, but ${remote}/${pr.baseRef} does not contain ${tip.slice(0, 12)}; nothing was removed.`,
        {
          details: { tip, base: base ?? null, commit },
          hint: `Look at the pull request on ${forgeTitle(input.repo.forge)} (a squash or rebase merge rewrites the commits); merge again once the base holds them.`,
        },
      );
    }
    const by = input.by ?? 'person';
    merge = { method: 'merge', branch, baseRef: `${remote}/${pr.baseRef}`, tip, commit, mergedAt: Date.now(), by, created };
    const { created: _created, ...record } = merge;
    await tasks.setTaskGit(task.id, { ...gitState, merge: record, updatedAt: Date.now() });
    await events.append({ type: 'task.merged', data: { taskId: task.id, identifier, projectId: input.projectId, method: 'merge', branch, baseRef: merge.baseRef, tip, commit, created, by } });
  }
  return finishTaskMerge(input, ctx, ref, gitState.worktreePath ?? taskWorktreePath(ctx, ref), merge);
}
