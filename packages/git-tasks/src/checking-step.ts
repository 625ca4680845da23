/**
 * The Checking step of a repository-bound task (docs/git-tasks.md): what the daemon runs after
 * the agent that owns the task said it is done and the task was moved to `checking`. Contract:
 * - `task.git.check` records `running` before any work, then `passed`, `failed` or
 *   `needs_person`, with every check's result (name, argv, exit code or timeout, duration, the
 *   bounded log, the fingerprint of a failure) and the commit they are about.
 * - All facts hold (commits beyond the base, a clean worktree, every check, pushed when a remote
 *   is set): the task moves to `review`.
 * - A fact fails: the round is counted (`task.git.rounds`) and a message goes to the task's owner:
 *   the failures not sent before (by fingerprint, `task.git.feedbackSent`) in full, those sent before
 *   in one sentence each, never their log again. Its idempotency key is derived from the new
 *   fingerprints (or, with none, from the round), so the step run again after a crash finds the
 *   message it sent instead of sending another; then the task moves back to `in_progress`. There is
 *   always a message: a task sent back in silence would wait in In progress with nobody on it.
 * - A check that could not start (its process not made, exit 126 or 127: `couldNotStart`) is no
 *   round and nothing is sent: the task stays in `checking` as `needs_person` with `error.code`
 *   `CHECK_NOT_STARTED` and the reason (the check's environment, and the sandbox when it ran
 *   confined), and waits for a person to fix it and check again; no `task_rounds` request.
 * - After `maxRounds` rounds (the task's `roundsLimit` once a person gave it more) the task stays
 *   in `checking` as `needs_person` and a person is asked: a `task_rounds` approval, its id
 *   recorded on the task before it is made (rounds-step.ts: made once, also across a crash).
 * - Restartable: a `running` check is run again whole; a `failed` or `passed` check whose move did
 *   not happen is finished without running anything (`finishTaskChecking`).
 * The message itself is sent by the caller (`send`: the daemon's orchestrator), so core loads
 * nothing of teams.
 */
import { createHash } from 'node:crypto';
import type { TaskCheck, TaskCheckResult, TaskGit } from '@tinyagi/client/contract';
import { type ApprovalStoreApi, errorMessage, isTinyError, type TaskCheckedEvent, type TaskRecord, type TaskStoreApi } from './core.ts';
import { failureFingerprint } from './checks.ts';
import { factFailures, type TaskFailure } from './done-facts/index.ts';
import { collectDoneFacts, type DoneFacts } from './facts.ts';
import { resolveProjectRepo, taskWorktreePath } from './project-repo.ts';
import { requestRoundsApproval, roundsApprovalId } from './rounds-request.ts';
import type { TaskOwnerSend, TaskStepBase } from './task-step.ts';

export interface TaskCheckingInput extends TaskStepBase {
  tasks: Pick<TaskStoreApi, 'setTaskGit' | 'updateTask' | 'mustGetTask'>;
  /** Where the `task_rounds` request is made after the last round. */
  approvals: Pick<ApprovalStoreApi, 'createOnce'>;
  /** Sends the feedback to the task's owner (idempotent on the key); returns the conversation it started. */
  send: TaskOwnerSend;
  signal?: AbortSignal;
  /** The run whose "done" started this Checking, and its conversation (absent when resumed at start). */
  saidBy?: { runId: string; conversationId: string };
  /** Told once the Checking is recorded and the task moved: the daemon's observers' `taskChecked` (its trace export). Must not throw. */
  onChecked?: (event: TaskCheckedEvent) => void;
}

const sha = (text: string): string => createHash('sha256').update(text).digest('hex').slice(0, 32);

/** The failures of a Checking recorded on the task (what a person's `more_rounds` sends): the same fingerprints `runTaskChecking` gave them. */
export function recordedFailures(check: TaskCheck, branch: string | null, baseRef: string): TaskFailure[] {
  if (check.error !== null) {
    const text = `The daemon could not check the task: ${check.error.message}`;
    return [{ fingerprint: sha(`error\0${check.error.code}\0${check.error.message}`), text, summary: text }];
  }
  return factFailures({
    branch: branch ?? '(unknown)',
    baseRef,
    headSha: check.headSha ?? '',
    commits: check.commits,
    uncommitted: check.uncommitted,
    worktreeFilesCommitted: check.worktreeFilesCommitted ?? [],
    checks: check.checks,
    push: check.pushed === null ? undefined : { pushed: check.pushed },
  });
}

/**
 * The owner's message of a round: each failure not sent before in full (its log tail), and each
 * one sent before in one sentence, so the same log never goes twice but the owner always hears that
 * the task came back (without a message nobody would work on it).
 */
function feedbackMessage(task: TaskRecord, fresh: TaskFailure[], repeated: TaskFailure[], round: number, maxRounds: number, worktreePath: string): string {
  const title = task.identifier ? `${task.identifier}: ${task.title}` : task.title;
  const count = fresh.length + repeated.length;
  return [
    `[task:${task.id}] ${title} is not done yet (round ${round} of ${maxRounds}): the daemon checked your work and ${count === 1 ? 'this does not hold' : 'these do not hold'}.`,
    ...fresh.map((f) => f.text),
    ...(repeated.length === 0 ? [] : [`${fresh.length === 0 ? 'The same as' : 'Still as'} in an earlier message of this task (its output is there): ${repeated.map((f) => f.summary).join(' ')}`]),
    `Fix it in the worktree ${worktreePath}, commit, and say the task is done again.`,
  ].join('\n\n');
}

function resultOf(check: DoneFacts['checks'][number], timeoutMs: number | undefined, worktreePath: string): TaskCheckResult {
  const result: TaskCheckResult = {
    name: check.name,
    argv: check.argv,
    exitCode: check.exitCode,
    signal: check.signal,
    timedOut: check.timedOut,
    ok: check.ok,
    durationMs: check.durationMs,
    log: check.log,
    omittedBytes: check.omittedBytes,
    excerpt: check.excerpt,
  };
  if (timeoutMs !== undefined) result.timeoutMs = timeoutMs;
  if (check.spawnError !== undefined) result.spawnError = check.spawnError;
  if (!check.ok) result.fingerprint = failureFingerprint(check, worktreePath);
  return result;
}

/** The error code of a Checking that waits for a person because a check could not start (next-step: no rounds request). */
export const CHECK_NOT_STARTED = 'CHECK_NOT_STARTED';

/** A check that never ran: its process could not be made, or the shell or the sandbox could not run its command (126: not executable or a file it needs missing; 127: not found). */
export function couldNotStart(check: Pick<TaskCheckResult, 'ok' | 'spawnError' | 'exitCode' | 'timedOut'>): boolean {
  return !check.ok && !check.timedOut && (check.spawnError !== undefined || check.exitCode === 126 || check.exitCode === 127);
}

function lastLines(text: string, count: number, maxChars: number): string {
  const lines = text.trimEnd().split('\n').slice(-count).join('\n');
  return lines.length <= maxChars ? lines : `…${lines.slice(-maxChars)}`;
}

/** Why the task waits for a person: which checks could not start, how, where (the sandbox), and what to do. */
function notStartedMessage(checks: TaskCheckResult[], identifier: string, confined: boolean): string {
  const each = checks.map((c) => {
    const how = c.spawnError !== undefined ? c.spawnError : `exit ${c.exitCode}${c.exitCode === 127 ? ': command not found' : ': not executable, or a file it needs is missing'}`;
    const output = lastLines(c.excerpt ?? c.log, 5, 600);
    return `The check "${c.name}" (\`${c.argv.join(' ')}\`) could not start (${how})${output === '' ? '' : `; its output ends: ${output}`}.`;
  });
  const where = confined
    ? " This is the check's environment, not the agent's work: the check ran inside the agent's sandbox, where folders the sandbox hides (the temp folder, the home's hidden folders, TinyAGI's home) do not exist, so a command, a --link target or a file it needs there is missing."
    : " This is the check's environment, not the agent's work: the command or a file it needs is missing on this machine.";
  return `${each.join(' ')}${where} No round was counted. Fix it, then check again (tinyagi task check ${identifier}, or Check again in TinyOffice).`;
}

export type TaskCheckingResult = { outcome: 'passed' | 'failed' | 'needs_person'; task: TaskRecord; sent?: { conversationId: string; messageId: string; fingerprints: string[] } };

/** Runs the step for a task in `checking` (docs/git-tasks.md). */
export async function runTaskChecking(input: TaskCheckingInput): Promise<TaskCheckingResult> {
  const { tasks, events, task } = input;
  const identifier = task.identifier ?? task.id;
  const git: TaskGit = task.git ?? { state: 'ready', branch: null, worktreePath: null, headSha: null, error: null, updatedAt: Date.now() };
  const startedAt = Date.now();
  const running: TaskCheck = { state: 'running', headSha: null, startedAt, finishedAt: null, commits: 0, uncommitted: [], pushed: null, checks: [], missing: [], error: null };
  await tasks.setTaskGit(task.id, { ...git, check: running, updatedAt: Date.now() });
  const ctx = resolveProjectRepo(input.repo, { projectId: input.projectId, home: input.home });
  const ref = { id: task.id, identifier, title: task.title, branch: task.git?.branch ?? null };
  const worktreePath = git.worktreePath ?? taskWorktreePath(ctx, ref);

  let check: TaskCheck;
  let failures: TaskFailure[];
  let checkStartedAt: number[] = [];
  try {
    const facts = await collectDoneFacts(ctx, ref, {
      env: input.env,
      worktreePath,
      ...(input.signal === undefined ? {} : { signal: input.signal }),
      ...(input.wrap === undefined ? {} : { wrap: input.wrap }),
    });
    checkStartedAt = facts.checks.map((c) => c.startedAt);
    const timeouts = new Map(ctx.repo.checks.map((c) => [c.name, c.timeoutMs]));
    const checks = facts.checks.map((c) => resultOf(c, timeouts.get(c.name), worktreePath));
    failures = factFailures({ ...facts, baseRef: ctx.repo.baseRef, commits: facts.commits.length, checks });
    check = {
      state: failures.length === 0 ? 'passed' : 'failed',
      headSha: facts.headSha,
      startedAt,
      finishedAt: Date.now(),
      commits: facts.commits.length,
      uncommitted: facts.uncommitted,
      ...(facts.worktreeFilesCommitted.length > 0 ? { worktreeFilesCommitted: facts.worktreeFilesCommitted } : {}),
      pushed: facts.push === undefined ? null : facts.push.pushed,
      checks,
      missing: failures.map((f) => f.summary),
      error: null,
    };
  } catch (err) {
    const code = isTinyError(err) ? err.code : 'INTERNAL';
    const message = isTinyError(err) && err.hint ? `${err.message} ${err.hint}` : errorMessage(err);
    const text = `The daemon could not check the task: ${message}`;
    failures = [{ fingerprint: sha(`error\0${code}\0${message}`), text, summary: text }];
    check = { ...running, state: 'failed', finishedAt: Date.now(), missing: [message], error: { code, message } };
  }
  await events.append({
    type: 'task.checked',
    data: {
      taskId: task.id,
      identifier,
      projectId: input.projectId,
      headSha: check.headSha,
      passed: check.state === 'passed',
      missing: check.missing,
      checks: check.checks.map((c) => ({ name: c.name, ok: c.ok, exitCode: c.exitCode, timedOut: c.timedOut, durationMs: c.durationMs })),
    },
  });

  const rounds = git.rounds ?? 0;
  // A check that could not start is its environment's failure, not the agent's: no round, a person is asked.
  const notStarted = check.error === null ? check.checks.filter(couldNotStart) : [];
  if (notStarted.length > 0) {
    const message = notStartedMessage(notStarted, identifier, input.wrap !== undefined);
    check = { ...check, state: 'needs_person', missing: [message], error: { code: CHECK_NOT_STARTED, message } };
  }
  const told = <R extends TaskCheckingResult>(result: R): R => {
    const conversationId = input.saidBy?.conversationId ?? task.conversationId;
    input.onChecked?.({
      taskId: task.id,
      identifier,
      projectId: input.projectId,
      outcome: result.outcome,
      round: rounds,
      branch: git.branch,
      check,
      checkStartedAt,
      conversationId,
      ...(input.saidBy ? { runId: input.saidBy.runId } : {}),
    });
    return result;
  };
  if (check.state === 'passed') {
    await tasks.setTaskGit(task.id, { ...git, check, headSha: check.headSha, updatedAt: Date.now() });
    return told({ outcome: 'passed', task: await finishTaskChecking(tasks, task.id) });
  }
  if (notStarted.length > 0) {
    const recorded = await tasks.setTaskGit(task.id, { ...git, check, ...(check.headSha === null ? {} : { headSha: check.headSha }), updatedAt: Date.now() });
    return told({ outcome: 'needs_person', task: recorded });
  }
  if (rounds >= (git.roundsLimit ?? input.repo.maxRounds)) {
    check = { ...check, state: 'needs_person' };
    // The request's id first, with the state: a crash before the request is made leaves the id, and the next start makes it (once).
    const id = roundsApprovalId(task.id, rounds, git.roundsApproval?.id);
    const recorded = await tasks.setTaskGit(task.id, { ...git, check, roundsApproval: { id, requestedAt: Date.now() }, updatedAt: Date.now() });
    await requestRoundsApproval({ approvals: input.approvals, events, projectId: input.projectId, repo: input.repo }, recorded);
    return told({ outcome: 'needs_person', task: recorded });
  }
  return told(await sendRoundFeedback(input, task, git, check, failures, worktreePath));
}

/**
 * A round: the failures not sent before go to the owner in full, those sent before in one sentence,
 * the round is counted with the check, and the task moves back to `in_progress` with the message's
 * conversation. `extra` is recorded with the round (a person's `more_rounds`: the new limit and the answer).
 */
export async function sendRoundFeedback(
  input: Pick<TaskCheckingInput, 'tasks' | 'events' | 'send' | 'projectId' | 'repo'>,
  task: TaskRecord,
  git: TaskGit,
  check: TaskCheck,
  failures: TaskFailure[],
  worktreePath: string,
  extra: Partial<TaskGit> = {},
): Promise<TaskCheckingResult> {
  const { tasks, events } = input;
  const identifier = task.identifier ?? task.id;
  const rounds = git.rounds ?? 0;
  const round = rounds + 1;
  const sentBefore = new Set(git.feedbackSent ?? []);
  const fresh = failures.filter((f) => !sentBefore.has(f.fingerprint));
  const repeated = failures.filter((f) => sentBefore.has(f.fingerprint));
  // Fresh failures: the key is theirs, so after a crash the same unsent failures give the same key and
  // the queue returns the message sent before. Only repeats: the key is the round's (one reminder each).
  const fingerprints = fresh.map((f) => f.fingerprint);
  const key = fresh.length > 0 ? `task:${task.id}:feedback:${sha([...fingerprints].sort().join('\0'))}` : `task:${task.id}:feedback-round:${round}`;
  const limit = extra.roundsLimit ?? git.roundsLimit ?? input.repo.maxRounds;
  const { created, ...message } = await input.send(feedbackMessage(task, fresh, repeated, round, limit, worktreePath), key, worktreePath);
  const sent: NonNullable<TaskCheckingResult['sent']> = { ...message, fingerprints };
  // A duplicate (the step run again after a crash) was announced when it was sent.
  // (A reminder of failures sent before carries no fingerprint of its own.)
  if (created) await events.append({ type: 'task.feedback_sent', data: { taskId: task.id, identifier, projectId: input.projectId, round, fingerprints, ...message } });
  await tasks.setTaskGit(task.id, {
    ...git,
    ...extra,
    check: { ...check, state: 'failed' },
    rounds: round,
    feedbackSent: [...sentBefore, ...fingerprints],
    ...(check.headSha === null ? {} : { headSha: check.headSha }),
    updatedAt: Date.now(),
  });
  const after = await finishTaskChecking(tasks, task.id, sent.conversationId);
  return { outcome: 'failed', task: after, sent };
}

/**
 * Moves a task in `checking` where its recorded check says: `passed` to review, `failed` back to
 * in_progress (with the feedback's conversation). Anything else, or a task a person moved
 * meanwhile, is left as it is.
 */
export async function finishTaskChecking(tasks: Pick<TaskStoreApi, 'updateTask' | 'mustGetTask'>, taskId: string, conversationId?: string): Promise<TaskRecord> {
  const task = await tasks.mustGetTask(taskId);
  if (task.status !== 'checking') return task;
  const state = task.git?.check?.state;
  if (state === 'passed') return (await tasks.updateTask(task.id, { status: 'review' })).after;
  if (state === 'failed') return (await tasks.updateTask(task.id, { status: 'in_progress', ...(conversationId === undefined ? {} : { conversationId }) })).after;
  return task;
}
