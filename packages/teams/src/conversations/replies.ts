/**
 * Replies to the human. Idempotency keys are derived from (conversation, run), so a completion
 * replayed after a crash or a retried batch can never store the same reply twice.
 */
import type { ConversationRecord, OutboxInput, RunRecord } from '@tinyagi/core';

export type ReplyKind = 'reply' | 'aggregate' | 'note' | 'soft-limit' | 'system';

export function replyKey(conversationId: string, runId: string): string {
  return `reply:${conversationId}:${runId}`;
}

export function aggregateKey(conversationId: string): string {
  return `reply:${conversationId}:aggregate`;
}

export function noteKey(conversationId: string, what: string): string {
  return `note:${conversationId}:${what}`;
}

/** Runs whose answers are meant for the human (chat-room chatter and sub-agent answers are not). */
export function answersHuman(cause: RunRecord['cause']): boolean {
  return cause !== 'chatroom' && cause !== 'spawn';
}

/** The combined reply of an `aggregate` conversation: every human-facing answer, in order. */
export function aggregateText(runs: readonly RunRecord[]): string {
  const parts = runs.filter((r) => r.status === 'completed' && answersHuman(r.cause) && r.output !== null && r.output.trim() !== '').map((r) => `**@${r.agentId}**\n${r.output!.trim()}`);
  return parts.join('\n\n');
}

/** Outbox input addressed to the conversation's human. */
export function toHuman(
  conversation: ConversationRecord,
  input: { key: string; text: string; kind: ReplyKind; runId?: string | null; messageId?: string | null; agentId?: string | null; files?: string[] },
): OutboxInput {
  return {
    idempotencyKey: input.key,
    channel: conversation.channel,
    text: input.text,
    recipient: {
      senderId: conversation.senderId,
      sender: conversation.sender,
      ...(conversation.threadKey ? { threadId: conversation.threadKey } : {}),
    },
    conversationId: conversation.id,
    runId: input.runId ?? null,
    messageId: input.messageId ?? null,
    agentId: input.agentId ?? null,
    ...(input.files && input.files.length > 0 ? { files: input.files } : {}),
    meta: { kind: input.kind },
  };
}
