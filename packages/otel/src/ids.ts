/**
 * Trace and span ids derived from TinyAGI's own ids, so that every process that touches a
 * conversation (the daemon, a worker node on the same PostgreSQL database, the daemon after a
 * restart) puts its spans in the same trace and under the same parents without sharing any state:
 *
 * - trace id = the first 16 bytes of SHA-256("tinyagi.conversation:" + conversation id)
 * - a run's `invoke_agent` span id = the first 8 bytes of SHA-256("tinyagi.run:" + run id)
 * - a team conversation's `invoke_workflow` span id = the same of "tinyagi.workflow:" + the id of
 *   the run that opened it
 * - a task's Checking (`check_task`): span id = the same of "tinyagi.checking:" + task id + ":" +
 *   the Checking's start (epoch ms, `task.git.check.startedAt`); a Checking in no conversation is
 *   a trace of its own, whose id is the first 16 bytes of that hash
 *
 * (All-zero ids are invalid in W3C trace context; SHA-256 gives one with probability 2^-64, in
 * which case the last byte is set to 1.)
 */
import { hash } from 'node:crypto';

function hexId(input: string, bytes: number): string {
  // The one-shot hash: about a sixth of createHash().update().digest()'s cost under the daemon's V8 flags.
  const hex = hash('sha256', input, 'hex').slice(0, bytes * 2);
  return /^0+$/.test(hex) ? `${hex.slice(0, -2)}01` : hex;
}

/** The trace id of a conversation (32 lower-case hex digits). */
export function traceIdOf(conversationId: string): string {
  return hexId(`tinyagi.conversation:${conversationId}`, 16);
}

/** The span id of a run's `invoke_agent` span (16 lower-case hex digits). */
export function runSpanIdOf(runId: string): string {
  return hexId(`tinyagi.run:${runId}`, 8);
}

/** The span id of the `invoke_workflow` span opened by this run. */
export function workflowSpanIdOf(runId: string): string {
  return hexId(`tinyagi.workflow:${runId}`, 8);
}

/** The span id of a task's Checking that started at `startedAt` (epoch ms, as `task.git.check.startedAt` records it). */
export function checkingSpanIdOf(taskId: string, startedAt: number): string {
  return hexId(`tinyagi.checking:${taskId}:${startedAt}`, 8);
}

/** The trace id of a task's Checking in no conversation (a trace of its own). */
export function checkingTraceIdOf(taskId: string, startedAt: number): string {
  return hexId(`tinyagi.checking:${taskId}:${startedAt}`, 16);
}
