/**
 * Following one workflow run through the event stream (`workflow.changed` and `workflow.step` of
 * that run) until it stops: completed, failed, cancelled or paused. Used by `workflow run --wait`
 * and `workflow resume --wait`. A dropped stream is resumed after the last event it delivered, so
 * a daemon restart is waited through (the run goes on after it, replayed from its journal); a local
 * daemon gone for good ends the wait after a few seconds (stream-connection.ts) instead of at its timeout.
 */
import type { ApiClient, EventOf, WorkflowRunDetail, WorkflowRunStatus } from '@tinyagi/client';
import { CliError } from './output/cli-error.ts';
import { watchConnection } from './stream-connection.ts';

export type WorkflowEvent = EventOf<'workflow.changed' | 'workflow.step'>;

/** The states a run stops in: the wait ends there (a paused run waits for `workflow resume`). */
const STOPPED: ReadonlySet<WorkflowRunStatus> = new Set(['completed', 'failed', 'cancelled', 'paused']);

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
  const events = client.subscribe({ types: ['workflow.changed', 'workflow.step'], lastEventId: options.afterEventId, signal: abort.signal });
  const connection = watchConnection(events, abort, options);
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
    connection.stop();
    abort.abort();
  }
  if (stopped) return client.getWorkflowRun({ params: { id: runId } });
  const follow = `follow it with \`tinyagi workflow show ${runId}\``;
  if (connection.gone()) {
    throw new CliError('DAEMON_NOT_RUNNING', `The daemon stopped before workflow run ${runId} finished.`, { hint: `The run goes on at the next \`tinyagi start\`: ${follow}.` });
  }
  const waited = `${Math.round((options.timeoutMs ?? 0) / 1000)} s`;
  const lostAt = connection.lostAt();
  if (lostAt !== undefined) {
    throw new CliError('TIMEOUT', `Workflow run ${runId} did not stop within ${waited}: the daemon has not answered for the last ${Math.round((Date.now() - lostAt) / 1000)} s.`, {
      hint: `Is it running? \`tinyagi status\`. The run goes on when it starts again: ${follow}.`,
    });
  }
  throw new CliError('TIMEOUT', `Workflow run ${runId} did not stop within ${waited}.`, { hint: `It goes on in the daemon: ${follow}.` });
}
