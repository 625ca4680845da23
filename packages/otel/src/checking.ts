/**
 * A task's Checking (docs/git-tasks.md) as spans: `check_task {identifier}` from the Checking's
 * start to its end as the task records them, and a child `execute_check {name}` per check from its
 * process's start to its end. Recorded when the observers hear `taskChecked` (the step ended), so
 * every time is the recorded one, not the moment the observer heard of it.
 *
 * Where the spans go is the caller's (trace-observer.ts): the trace of the conversation the task
 * works in, under the span of the run that said done; a Checking resumed at start (no run) is a
 * root span in that trace; a task in no conversation gets a trace of its own (ids.ts).
 *
 * A check's argv is the project's binding (a person's setting, not what an agent said): recorded
 * always, masked. Its log is output, recorded only with `captureContent`, as a tool's result is.
 */
import { type Attributes, type SpanContext, SpanStatusCode } from '@opentelemetry/api';
import type { RandomIdGenerator } from '@opentelemetry/sdk-trace';
import type { TaskCheckedEvent } from '@tinyagi/core';
import { checkingSpanIdOf } from './ids.ts';
import { maskCut, maskText } from './mask.ts';
import { CHECKING, CICD, ERROR_TYPE, GEN_AI, PROCESS, TINYAGI, VCS } from './semconv.ts';
import type { SpanRecorder } from './span-recorder.ts';

type CheckResult = TaskCheckedEvent['check']['checks'][number];

/** The end of a check's log kept on its span (with `captureContent`). */
const LOG_TAIL_MAX = 8192;

export interface CheckingPlace {
  traceId: string;
  sampled: boolean;
  /** The run that said done (its span, here or derived); none: the Checking is a root span. */
  parent: SpanContext | undefined;
}

/** How a check ended, in the words of the task page and the feedback message. */
function ending(check: CheckResult): string {
  if (check.timedOut) return `timed out after ${Math.round((check.timeoutMs ?? check.durationMs) / 1000)} s`;
  if (check.spawnError !== undefined) return `could not start (${check.spawnError})`;
  return check.exitCode !== null ? `exited with code ${check.exitCode}` : `was ended by ${check.signal ?? 'a signal'}`;
}

/** `cicd.pipeline.task.run.result` of a check. */
function runResult(check: CheckResult): 'success' | 'failure' | 'timeout' | 'error' {
  if (check.ok) return 'success';
  if (check.timedOut) return 'timeout';
  return check.spawnError !== undefined ? 'error' : 'failure';
}

/** `error.type` of a failed check: how it failed, low in cardinality (the exit code is its own attribute). */
function checkErrorType(check: CheckResult): string {
  if (check.timedOut) return 'timeout';
  if (check.spawnError !== undefined) return 'spawn_error';
  return check.exitCode !== null ? 'exit_code' : 'signal';
}

/** The last `max` characters of a log, masked (a secret across the cut is masked before cutting). */
function logTail(log: string, max: number): string {
  if (log.length <= max) return maskText(log);
  const masked = maskText(log.slice(-(max + 512)));
  return `…${masked.slice(-max)}`;
}

function checkAttributes(check: CheckResult, captureContent: boolean): Attributes {
  const attributes: Attributes = {
    [TINYAGI.checkName]: check.name,
    [CICD.taskName]: check.name,
    [PROCESS.commandArgs]: check.argv.map((arg) => maskCut(arg, 1000)),
    [TINYAGI.checkTimedOut]: check.timedOut,
    [CICD.taskRunResult]: runResult(check),
  };
  if (check.exitCode !== null) attributes[PROCESS.exitCode] = check.exitCode;
  if (check.signal !== null) attributes[TINYAGI.checkSignal] = check.signal;
  if (check.timeoutMs !== undefined) attributes[TINYAGI.checkTimeoutMs] = check.timeoutMs;
  if (!check.ok) attributes[ERROR_TYPE] = checkErrorType(check);
  if (captureContent && check.log) attributes[TINYAGI.checkLogTail] = logTail(check.log, LOG_TAIL_MAX);
  return attributes;
}

/** Records the Checking's span and its checks' spans at `place` (each ended at once: they are in the past). */
export function recordChecking(recorder: SpanRecorder, random: RandomIdGenerator, event: TaskCheckedEvent, place: CheckingPlace, captureContent: boolean): void {
  const { check } = event;
  const attributes: Attributes = {
    [TINYAGI.taskId]: event.taskId,
    [TINYAGI.taskIdentifier]: event.identifier,
    [TINYAGI.projectId]: event.projectId,
    [TINYAGI.taskRound]: event.round,
    [TINYAGI.checkingOutcome]: event.outcome,
    [TINYAGI.checkingMissing]: check.missing.map((sentence) => maskCut(sentence, 1000)),
    [TINYAGI.checkingCommits]: check.commits,
    [CICD.pipelineResult]: event.outcome === 'passed' ? 'success' : check.error ? 'error' : 'failure',
  };
  if (check.headSha) attributes[VCS.refHeadRevision] = check.headSha;
  if (event.branch) attributes[VCS.refHeadName] = event.branch;
  if (check.pushed !== null) attributes[TINYAGI.checkingPushed] = check.pushed;
  if (event.conversationId) attributes[GEN_AI.conversationId] = event.conversationId;
  if (event.runId) attributes[TINYAGI.runId] = event.runId;
  // A failure to collect the facts names its code (GIT_FAILED, …); otherwise the outcome.
  if (event.outcome !== 'passed') attributes[ERROR_TYPE] = check.error?.code ?? event.outcome;
  const span = recorder.start({
    name: `${CHECKING.checkTask} ${event.identifier}`,
    traceId: place.traceId,
    spanId: checkingSpanIdOf(event.taskId, check.startedAt),
    parent: place.parent,
    sampled: place.sampled,
    attributes,
    startTime: check.startedAt,
  });
  const parent = span.spanContext();
  check.checks.forEach((result, i) => {
    const startTime = event.checkStartedAt[i] ?? check.startedAt;
    const child = recorder.start({
      name: `${CHECKING.executeCheck} ${result.name}`,
      traceId: place.traceId,
      spanId: random.generateSpanId(),
      parent,
      sampled: place.sampled,
      attributes: checkAttributes(result, captureContent),
      startTime,
    });
    if (!result.ok) child.setStatus({ code: SpanStatusCode.ERROR, message: maskCut(`${result.name} ${ending(result)}`, 2000) });
    child.end(startTime + result.durationMs);
  });
  if (event.outcome !== 'passed') span.setStatus({ code: SpanStatusCode.ERROR, message: maskCut(check.missing.join(' '), 2000) });
  span.end(check.finishedAt ?? Date.now());
}
