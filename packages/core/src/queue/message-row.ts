/**
 * What the SQLite and PostgreSQL queue stores share about a message row: the mapping to a
 * QueueMessage (each store decodes its own JSON and boolean columns) and the small defaults.
 */
import type { FailureKind, FailureReason, MessageKind, MessageStatus, QueueCounts, QueueMessage } from './types.ts';

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
