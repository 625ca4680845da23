/**
 * Following one conversation through the event stream until it completes: used by
 * `send --wait` and `chat`. Replies are collected from `outbox.enqueued` events and, at the end,
 * from the outbox itself (so a reply is never missed, and never shown twice).
 */
import { planLine, type ApiClient, type ConversationTree, type EventView, type FailureReason, type OutboxView, type RunNode } from '@tinyagi/client';
import { clause } from '@tinyagi/core';
import { CliError } from './output/cli-error.ts';
import { watchConnection } from './stream-connection.ts';

export interface Reply {
  id: string;
  agentId: string | null;
  text: string;
}

/** What to say of a conversation whose handoff a guard holds for the person's decision. */
export const DECISION_HINT = 'waits for your decision: a guard held work back. Go on with `tinyagi send continue` (limits raised), or end it with `tinyagi send stop`.';

/** `awaiting_decision`: it ended its work, but a guard held some back until the person says `continue` or `stop`. */
export type ConversationOutcome = 'completed' | 'awaiting_decision' | 'stopped' | 'cancelled' | 'failed';

export interface WatchResult {
  conversationId: string;
  outcome: ConversationOutcome;
  replies: Reply[];
  /** Why it did not complete normally (guard, failure, cancel). */
  reason?: string;
  /** A reply already said why it failed (the daemon's note of a run that could not answer): the outcome points at it instead of saying it again. */
  toldInReply?: boolean;
}

export interface WatchOptions {
  conversationId: string;
  /** Events after this id are considered (take `status().lastEventId` before sending). */
  afterEventId: number;
  timeoutMs: number;
  onEvent?: (event: EventView) => void;
  onReply?: (reply: Reply) => void;
  /** Stops waiting (Ctrl-C in `tinyagi chat`): rejects with INTERRUPTED; the work goes on in the daemon. */
  signal?: AbortSignal;
  /** The event stream to the daemon dropped (`lost`: it is retried) or came back. */
  onConnection?: (change: 'lost' | 'back') => void;
  /**
   * True when the daemon is known to be gone for good (a local home with no live daemon): while
   * the stream is down, the wait then ends after a few seconds (stream-connection.ts) instead of at its timeout. A
   * restart comes back well within that; a daemon reached by URL cannot be checked.
   */
  daemonGone?: () => boolean;
}

const TERMINAL_RUN_FAILURES = new Set(['failed', 'cancelled', 'rejected']);

export async function watchConversation(client: ApiClient, options: WatchOptions): Promise<WatchResult> {
  const replies = new Map<string, Reply>();
  const addReply = (reply: Reply): void => {
    if (replies.has(reply.id)) return;
    replies.set(reply.id, reply);
    options.onReply?.(reply);
  };
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), options.timeoutMs);
  const interrupt = (): void => abort.abort();
  options.signal?.addEventListener('abort', interrupt, { once: true });
  let completed = false;
  const events = client.subscribe({ conversation: options.conversationId, lastEventId: options.afterEventId, signal: abort.signal });
  const connection = watchConnection(events, abort, options);
  try {
    for await (const event of events) {
      options.onEvent?.(event);
      if (event.type === 'outbox.enqueued') addReply({ id: event.data.outboxId, agentId: event.agentId, text: event.data.text });
      if (event.type === 'conversation.completed') {
        completed = true;
        break;
      }
    }
  } finally {
    clearTimeout(timer);
    connection.stop();
    options.signal?.removeEventListener('abort', interrupt);
    abort.abort();
  }
  if (!completed && connection.gone()) {
    throw new CliError('DAEMON_NOT_RUNNING', `The daemon stopped before conversation ${options.conversationId} finished.`, {
      hint: `What was not done waits in the queue and goes on at the next \`tinyagi start\`; follow it then with \`tinyagi conversation show ${options.conversationId}\`.`,
    });
  }
  if (!completed && options.signal?.aborted) {
    throw new CliError('INTERRUPTED', `Stopped waiting for conversation ${options.conversationId}.`, {
      hint: `The work goes on in the daemon: cancel it with \`tinyagi cancel ${options.conversationId}\`, or follow it with \`tinyagi conversation show ${options.conversationId}\`.`,
    });
  }
  const lostAt = connection.lostAt();
  if (!completed && lostAt !== undefined) {
    throw new CliError(
      'TIMEOUT',
      `No final reply within ${Math.round(options.timeoutMs / 1000)} s: the daemon has not answered for the last ${Math.round((Date.now() - lostAt) / 1000)} s (conversation ${options.conversationId}).`,
      {
        hint: `Is it running? \`tinyagi status\`. The message is kept in the queue and runs when the daemon starts again; follow it then with \`tinyagi conversation show ${options.conversationId}\`.`,
      },
    );
  }
  if (!completed) {
    throw new CliError('TIMEOUT', `No final reply within ${Math.round(options.timeoutMs / 1000)} s (conversation ${options.conversationId}).`, {
      hint: `The work goes on in the daemon; follow it with \`tinyagi conversation show ${options.conversationId}\`.`,
    });
  }
  const stored: OutboxView[] = await client.listOutbox({ query: { conversationId: options.conversationId, limit: 1000 } });
  for (const row of stored) addReply({ id: row.id, agentId: row.agentId, text: row.text });

  const tree = await client.getConversation({ params: { id: options.conversationId } });
  const root = tree.roots[0];
  const status = tree.conversation.status;
  let outcome: ConversationOutcome = status === 'active' ? 'completed' : status;
  let reason = tree.conversation.stopReason ?? undefined;
  if (outcome === 'completed' && root !== undefined && TERMINAL_RUN_FAILURES.has(root.status)) {
    outcome = 'failed';
    reason ??= root.error ?? `the run of ${root.agentId} ${root.status}`;
  }
  if (outcome === 'completed' && tree.conversation.awaitingDecision) outcome = 'awaiting_decision';
  const told = outcome === 'failed' && failureToldInReply(tree, [...replies.values()]);
  return { conversationId: options.conversationId, outcome, replies: [...replies.values()], ...(reason !== undefined ? { reason } : {}), ...(told ? { toldInReply: true } : {}) };
}

/** A reply says the error of a run of the tree that failed. */
function failureToldInReply(tree: ConversationTree, replies: Reply[]): boolean {
  const errors: string[] = [];
  const walk = (run: RunNode): void => {
    if (run.status === 'failed' && run.error) errors.push(clause(run.error));
    run.children.forEach(walk);
  };
  tree.roots.forEach(walk);
  return errors.some((error) => error !== '' && replies.some((reply) => reply.text.includes(error)));
}

/** One human-readable line for a progress event, or undefined for events not worth showing. */
export function describeEvent(event: EventView): string | undefined {
  const agent = event.agentId ?? 'agent';
  switch (event.type) {
    case 'run.started':
      return `@${agent} is working${event.depth ? ` (depth ${event.depth})` : ''}…`;
    case 'run.progress': {
      const progress = event.data;
      if (progress.type === 'tool') return `@${agent}: ${progress.title ? `${progress.name}: ${oneLine(progress.title, 100)}` : `using ${progress.name}`}`;
      if (progress.type === 'tool_result') return `@${agent}: ${toolResultLine(progress.name ?? 'tool', progress)}`;
      if (progress.type === 'status') return `@${agent}: ${progress.message}`;
      if (progress.type === 'plan') return `@${agent}: ${planLine(progress.steps)}`;
      return undefined;
    }
    case 'agent.mention':
      return `@${event.data.fromAgent} → @${event.data.toAgent}`;
    case 'subagent.started':
      // The event belongs to the child run: its agent is the one called.
      return `sub-agent @${event.data.name} started (depth ${event.data.depth})`;
    case 'run.failed':
      return `@${agent} failed: ${event.data.error ?? 'unknown error'}`;
    case 'queue.retry': {
      const { data } = event;
      const why = failureLabel(data.failure);
      // A rate-limit wait gives its attempt back: count the waits instead.
      if (data.kind === 'rate_limited') return `@${agent}: ${why}, retrying in ${formatWait(data.retryInMs)} (wait ${data.rateLimitWaits}/${data.maxRateLimitWaits}, no attempt used)`;
      return `@${agent}: attempt ${data.attempts}/${data.maxAttempts} failed (${why}), retrying in ${formatWait(data.retryInMs)}`;
    }
    case 'queue.dead':
      return `@${agent}: gave up (${failureLabel(event.data.failure)}) after attempt ${event.data.attempts}/${event.data.maxAttempts}`;
    case 'run.cancelled':
      return `@${agent} was cancelled`;
    case 'guard.rejected':
      return `guard stopped a handoff: ${event.data.message}`;
    case 'budget.warning':
      return `budget warning: ${event.data.limitName} at ${formatAmount(event.data.limitName, event.data.used)} of ${formatAmount(event.data.limitName, event.data.limit)} (${Math.round((event.data.used / event.data.limit) * 100)}%)`;
    default:
      return undefined;
  }
}

type ProgressData = Extract<EventView, { type: 'run.progress' }>['data'];
type ToolResultData = Extract<ProgressData, { type: 'tool_result' }>;

function oneLine(text: string, max: number): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/** `Bash done` / `Bash failed: <the output's first line>`. */
function toolResultLine(what: string, result: Pick<ToolResultData, 'ok' | 'output'>): string {
  if (result.ok) return `${what} done`;
  const first = result.output?.split('\n').find((l) => l.trim() !== '');
  return `${what} failed${first ? `: ${oneLine(first, 100)}` : ''}`;
}

/** How many calls a describer remembers (to name a result that names only its call id). */
const DESCRIBER_CALLS = 500;

/**
 * describeEvent with memory, for one watch (`send --wait`, `chat`): a tool result that carries
 * only its call's id is named after the call (`Bash: npm test failed: …`), and a plan is printed
 * only when it changed. Bounded: the last DESCRIBER_CALLS calls and one plan per run.
 */
export function createEventDescriber(): (event: EventView) => string | undefined {
  const calls = new Map<string, string>();
  const plans = new Map<string, string>();
  return (event) => {
    // The run of a message (not a sub-agent's) that fails is told to the person by the daemon's
    // reply, with its reason and how to retry: the line says only that it failed.
    if (event.type === 'run.failed' && event.data.cause !== 'spawn') return `@${event.agentId ?? 'agent'} failed`;
    if (event.type !== 'run.progress') return describeEvent(event);
    const progress = event.data;
    const agent = event.agentId ?? 'agent';
    const run = event.runId ?? '';
    if (progress.type === 'tool' && progress.id) {
      const key = `${run} ${progress.id}`;
      const label = progress.title ? `${progress.name}: ${oneLine(progress.title, 60)}` : progress.name;
      // The same call reported again, unchanged (a runtime updating it as it streams): said once.
      if (calls.get(key) === label) return undefined;
      calls.set(key, label);
      if (calls.size > DESCRIBER_CALLS) calls.delete(calls.keys().next().value!);
    }
    if (progress.type === 'tool_result') {
      const key = `${run} ${progress.id ?? ''}`;
      const known = progress.id ? calls.get(key) : undefined;
      calls.delete(key);
      return `@${agent}: ${toolResultLine(known ?? progress.name ?? 'tool', progress)}`;
    }
    if (progress.type === 'plan') {
      const shape = JSON.stringify(progress.steps);
      if (plans.get(run) === shape) return undefined;
      plans.delete(run);
      plans.set(run, shape);
      if (plans.size > 100) plans.delete(plans.keys().next().value!);
    }
    return describeEvent(event);
  };
}

const FAILURE_LABELS: Record<FailureReason, string> = {
  rate_limited: 'rate limited',
  timed_out: 'timed out',
  crashed: 'crashed',
  worker_lost: 'the worker stopped',
  cannot_run: 'cannot run',
  failed: 'failed',
};

/** A classified failure reason in words. */
export function failureLabel(reason: FailureReason | null | undefined): string {
  return reason ? FAILURE_LABELS[reason] : 'failed';
}

/** Budget amounts: dollars for `*_usd` limits, token counts otherwise. */
function formatAmount(limitName: string, value: number): string {
  return limitName.endsWith('_usd') ? `$${value.toFixed(2)}` : String(value);
}

function formatWait(ms: number): string {
  const s = Math.max(1, Math.round(ms / 1000));
  return s < 120 ? `${s} s` : `${Math.round(s / 60)} min`;
}

/** How a conversation that did not simply complete ended, in one sentence (`send --wait` fails with it, `chat` prints it). */
export function outcomeLine(result: WatchResult): string {
  if (result.outcome === 'awaiting_decision') return `The conversation ${DECISION_HINT}`;
  if (result.toldInReply) return `The conversation ${result.outcome}: the reply above says why.`;
  // Reasons are often sentences already ("…: scripted permanent failure."): one full stop, not two.
  const reason = result.reason === undefined ? undefined : clause(result.reason);
  return `The conversation ${result.outcome}${reason ? `: ${reason}` : ''}.`;
}
