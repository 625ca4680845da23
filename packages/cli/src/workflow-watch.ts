/**
 * Following one workflow run through the event stream (`workflow.changed` and `workflow.step` of
 * that run) until it stops: completed, failed, cancelled or paused. Used by `workflow run --wait`
 * and `workflow resume --wait`. A dropped stream is resumed after the last event it delivered, so
 * a daemon restart is waited through (the run goes on after it, replayed from its journal); a local
 * daemon gone for good ends the wait after DAEMON_GONE_MS instead of at its timeout.
 */
import type { ApiClient, EventOf, WorkflowRunDetail, WorkflowRunStatus } from '@tinyagi/client';
import { CliError } from './output/cli-error.ts';

export type WorkflowEvent = EventOf<'workflow.changed' | 'workflow.step'>;

/** The states a run stops in: the wait ends there (a paused run waits for `workflow resume`). */
const STOPPED: ReadonlySet<WorkflowRunStatus> = new Set(['completed', 'failed', 'cancelled', 'paused']);

/** How long the daemon must stay gone, the stream down, before the wait says it stopped. */
const DAEMON_GONE_MS = 5000;

export interface WorkflowWatchOptions {
  runId: string;
  /** Events after this id are read (take `status().lastEventId` before starting or resuming the run). */
  afterEventId: number;
  /** Give up after this long (none: wait as long as the run goes on). */
  timeoutMs?: number;
  /** Each event of this run, in order. */
  onEvent?: (event: WorkflowEvent) => void;
  /** The stream dropped (`lost`: it is retried) or came back. */
  onConnection?: (change: 'lost' | 'back') => void;
  /** True when this home's daemon is known to be gone (see conversation-watch.ts). */
  daemonGone?: () => boolean;
}

/** Waits until the run stops, then returns it with its steps as the daemon has them. */
export async function watchWorkflowRun(client: ApiClient, options: WorkflowWatchOptions): Promise<WorkflowRunDetail> {
  const { runId } = options;
  const abort = new AbortController();
  const timer = options.timeoutMs === undefined ? undefined : setTimeout(() => abort.abort(), options.timeoutMs);
  let lostAt: number | undefined;
  const gone = options.daemonGone ? daemonGoneCheck(options.daemonGone, () => lostAt !== undefined, abort) : undefined;
  const events = client.subscribe({ types: ['workflow.changed', 'workflow.step'], lastEventId: options.afterEventId, signal: abort.signal });
  events.onStateChange((state) => {
    if (state === 'reconnecting' && lostAt === undefined) {
      lostAt = Date.now();
      options.onConnection?.('lost');
    } else if (state === 'open' && lostAt !== undefined) {
      lostAt = undefined;
      options.onConnection?.('back');
    }
  });
  let stopped = false;
  try {
    for await (const event of events) {
      if (event.data.runId !== runId) continue;
      options.onEvent?.(event);
      if (event.type === 'workflow.changed' && STOPPED.has(event.data.status)) {
        stopped = true;
        break;
      }
    }
  } finally {
    clearTimeout(timer);
    gone?.stop();
    abort.abort();
  }
  if (stopped) return client.getWorkflowRun({ params: { id: runId } });
  const follow = `follow it with \`tinyagi workflow show ${runId}\``;
  if (gone?.fired()) {
    throw new CliError('DAEMON_NOT_RUNNING', `The daemon stopped before workflow run ${runId} finished.`, { hint: `The run goes on at the next \`tinyagi start\`: ${follow}.` });
  }
  const waited = `${Math.round((options.timeoutMs ?? 0) / 1000)} s`;
  if (lostAt !== undefined) {
    throw new CliError('TIMEOUT', `Workflow run ${runId} did not stop within ${waited}: the daemon has not answered for the last ${Math.round((Date.now() - lostAt) / 1000)} s.`, {
      hint: `Is it running? \`tinyagi status\`. The run goes on when it starts again: ${follow}.`,
    });
  }
  throw new CliError('TIMEOUT', `Workflow run ${runId} did not stop within ${waited}.`, { hint: `It goes on in the daemon: ${follow}.` });
}

/** Aborts the wait once `down()` (the stream is down) and `gone()` have held for DAEMON_GONE_MS. */
function daemonGoneCheck(gone: () => boolean, down: () => boolean, abort: AbortController): { stop(): void; fired(): boolean } {
  let since: number | undefined;
  let fired = false;
  const check = setInterval(() => {
    if (!down() || !gone()) {
      since = undefined;
      return;
    }
    since ??= Date.now();
    if (Date.now() - since >= DAEMON_GONE_MS) {
      fired = true;
      abort.abort();
    }
  }, 500);
  return { stop: () => clearInterval(check), fired: () => fired };
}
