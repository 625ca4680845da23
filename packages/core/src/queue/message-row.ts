/**
 * What the SQLite and PostgreSQL queue stores share about a message row: the mapping to a
 * QueueMessage (each store decodes its own JSON and boolean columns), the failure rules (what a
 * failed or expired message becomes, and the event that says so) and the small defaults.
 */
import type { EventInput } from '../events/types.ts';
import { backoffDelay } from './backoff.ts';
import type { BackoffPolicy, EnqueueInput, FailInput, FailOutcome, FailureKind, FailureReason, MessageKind, MessageStatus, QueueCounts, QueueMessage } from './types.ts';

/** The columns both backends store as the same scalar values. */
export interface MessageColumns {
  seq: number;
  id: string;
  kind: string;
  agent_id: string;
  team_id: QueueMessage['teamId'];
  conversation_id: string;
  parent_message_id: QueueMessage['parentMessageId'];
  parent_run_id: QueueMessage['parentRunId'];
  run_id: QueueMessage['runId'];
  depth: number;
  channel: string;
  sender: QueueMessage['sender'];
  sender_id: QueueMessage['senderId'];
  thread_key: QueueMessage['threadKey'];
  content: string;
  status: string;
  attempts: number;
  max_attempts: number;
  available_at: number;
  lease_owner: QueueMessage['leaseOwner'];
  lease_expires_at: QueueMessage['leaseExpiresAt'];
  last_error: QueueMessage['lastError'];
  last_failure: string | null;
  idempotency_key: QueueMessage['idempotencyKey'];
  created_at: number;
  updated_at: number;
  finished_at: QueueMessage['finishedAt'];
}

export function toQueueMessage(row: MessageColumns, decoded: Pick<QueueMessage, 'attachments' | 'meta' | 'cancelRequested'>): QueueMessage {
  return {
    seq: row.seq,
    id: row.id,
    kind: row.kind as MessageKind,
    agentId: row.agent_id,
    teamId: row.team_id,
    conversationId: row.conversation_id,
    parentMessageId: row.parent_message_id,
    parentRunId: row.parent_run_id,
    runId: row.run_id,
    depth: row.depth,
    channel: row.channel,
    sender: row.sender,
    senderId: row.sender_id,
    threadKey: row.thread_key,
    content: row.content,
    ...decoded,
    status: row.status as MessageStatus,
    attempts: row.attempts,
    maxAttempts: row.max_attempts,
    availableAt: row.available_at,
    leaseOwner: row.lease_owner,
    leaseExpiresAt: row.lease_expires_at,
    lastError: row.last_error,
    lastFailure: row.last_failure as FailureReason | null,
    idempotencyKey: row.idempotency_key,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    finishedAt: row.finished_at,
  };
}

export function defaultReason(kind: FailureKind): FailureReason {
  return kind === 'rate_limited' ? 'rate_limited' : kind === 'permanent' ? 'cannot_run' : 'failed';
}

export function emptyCounts(): QueueCounts {
  return { pending: 0, processing: 0, completed: 0, dead: 0, cancelled: 0 };
}

/** The `message.enqueued` event of a created message. */
export function enqueuedEvent(input: EnqueueInput, id: string): EventInput {
  return {
    type: 'message.enqueued',
    conversationId: input.conversationId,
    agentId: input.agentId,
    runId: input.runId ?? null,
    parentRunId: input.parentRunId ?? null,
    depth: input.depth ?? 0,
    data: { messageId: id, kind: input.kind, channel: input.channel, teamId: input.teamId ?? null },
  };
}

/** The columns the failure rules read (flags as 0/1 on SQLite, booleans on PostgreSQL). */
export type FailingRow = Pick<MessageColumns, 'id' | 'agent_id' | 'conversation_id' | 'run_id' | 'parent_run_id' | 'depth' | 'attempts' | 'max_attempts' | 'available_at' | 'last_error'> & {
  rate_limit_waits: number;
  cancel_requested: number | boolean;
  solo: number | boolean;
};

/** What a failed processing message becomes; the store writes it (and appends `event`, when there is one). */
export type Settlement =
  | { status: 'cancelled'; outcome: FailOutcome; lastError: string }
  | { status: 'dead'; outcome: FailOutcome; event: EventInput; reason: string; failure: FailureReason }
  | { status: 'pending'; outcome: FailOutcome; event: EventInput; waits: number; error: string; failure: FailureReason; solo: boolean };

/**
 * The failure rules (docs/queue.md): a message whose cancel was requested ends cancelled; a
 * rate-limit wait gives the attempt back (the provider refused, the agent did not fail) until
 * the waits run out; otherwise backoff with jitter until the attempts run out, then dead.
 * `isolate`: the message was part of a collected batch that failed, so it runs alone from now on.
 */
export function settleFailure(row: FailingRow, input: FailInput, now: number, isolate: boolean, backoff: BackoffPolicy, random: () => number): Settlement {
  if (row.cancel_requested) {
    return { status: 'cancelled', outcome: { id: row.id, status: 'cancelled', attempts: row.attempts, availableAt: row.available_at }, lastError: row.last_error ?? 'cancelled' };
  }
  let attempts = row.attempts;
  let waits = row.rate_limit_waits;
  let delay: number;
  if (input.kind === 'rate_limited' && waits < backoff.maxRateLimitWaits) {
    attempts = Math.max(0, attempts - 1);
    waits += 1;
    delay = Math.max(input.retryAfterMs ?? 0, backoffDelay(waits, backoff, random));
  } else {
    delay = Math.max(input.retryAfterMs ?? 0, backoffDelay(attempts, backoff, random));
  }
  const exhausted = input.kind === 'permanent' || (input.kind !== 'rate_limited' && attempts >= row.max_attempts) || (input.kind === 'rate_limited' && waits === row.rate_limit_waits);
  const failure = input.reason ?? defaultReason(input.kind);
  // Events say which attempt failed and why, so a retry is visible as one (`send --wait`, logs).
  const tree = { conversationId: row.conversation_id, agentId: row.agent_id, runId: row.run_id, parentRunId: row.parent_run_id, depth: row.depth };
  const counts = { attempts, maxAttempts: row.max_attempts, rateLimitWaits: waits, maxRateLimitWaits: backoff.maxRateLimitWaits };
  if (exhausted) {
    const gaveUp = input.kind === 'rate_limited' ? `still rate limited after ${waits} wait${waits === 1 ? '' : 's'}` : `gave up after ${attempts} attempt${attempts === 1 ? '' : 's'}`;
    const reason = input.kind === 'permanent' ? input.error : `${input.error} (${gaveUp})`;
    return {
      status: 'dead',
      outcome: { id: row.id, status: 'dead', attempts, availableAt: row.available_at },
      event: { type: 'queue.dead', ...tree, data: { messageId: row.id, reason, ...counts, kind: input.kind, failure } },
      reason,
      failure,
    };
  }
  return {
    status: 'pending',
    outcome: { id: row.id, status: 'pending', attempts, availableAt: now + delay },
    event: { type: 'queue.retry', ...tree, data: { messageId: row.id, error: input.error, ...counts, retryInMs: delay, kind: input.kind, failure } },
    waits,
    error: input.error,
    failure,
    solo: isolate || Boolean(row.solo),
  };
}

/**
 * Expired leases (rows in seq order) with what each is charged: which message of a collected
 * batch crashed the worker is unknown, so the first time no one is blamed (the attempt is given
 * back) and every message runs alone from now on (the next crash is charged to the one that
 * caused it; bounded: once per message). A batch shares owner, agent and lease expiry.
 * A takeover never dead-letters a message on its first attempt (max_attempts 1): its worker was
 * lost, the message did not fail, so the attempt is given back once; a second takeover in a row
 * (its last failure was one) is charged, so a message that kills its worker every time runs twice.
 */
export function chargeExpired<R extends FailingRow & { lease_owner: string | null; lease_expires_at: number | null; last_failure: string | null }>(rows: readonly R[]): R[] {
  const batchSize = new Map<string, number>();
  const batchKey = (r: R) => `${r.lease_owner}\u0000${r.agent_id}\u0000${r.lease_expires_at}`;
  for (const r of rows) batchSize.set(batchKey(r), (batchSize.get(batchKey(r)) ?? 0) + 1);
  const inBatch = (row: R): boolean => !row.solo && (batchSize.get(batchKey(row)) ?? 1) > 1;
  const firstAttemptLost = (row: R): boolean => row.attempts === 1 && row.attempts >= row.max_attempts && row.last_failure !== WORKER_LOST;
  return rows.map((row) => (inBatch(row) || firstAttemptLost(row) ? { ...row, attempts: Math.max(0, row.attempts - 1) } : row));
}

/** The failure reason of a lease taken over from a worker that is gone. */
const WORKER_LOST: FailureReason = 'worker_lost';

/** The failure recorded for an expired lease. */
/** The last error of a message a clean shutdown gave back (QueueStore.release). */
export const RELEASED = 'interrupted by a shutdown; runs again after the next start';

export function leaseLost(owner: string | null): FailInput {
  return { kind: 'retryable', reason: WORKER_LOST, error: `lease expired while processing (worker ${owner ?? '?'} stopped or crashed)` };
}
