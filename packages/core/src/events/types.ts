/**
 * Every event the system emits. The names are the public contract of the SSE stream
 * (docs/api.md maps the reference's names onto these).
 */
export const EVENT_TYPES = [
  'message.received',
  'message.enqueued',
  'run.queued',
  'run.started',
  'run.progress',
  'run.completed',
  'run.failed',
  'run.cancelled',
  'run.rejected',
  'run.steered',
  'agent.mention',
  'chatroom.message',
  'subagent.started',
  'subagent.completed',
  'subagent.failed',
  'subagent.rejected',
  'subagent.reused',
  'guard.rejected',
  'budget.warning',
  'budget.exceeded',
  'conversation.started',
  'conversation.completed',
  'outbox.enqueued',
  'outbox.delivered',
  'outbox.failed',
  'outbox.expired',
  'queue.retry',
  'queue.dead',
  'channel.status',
  'pairing.requested',
  'schedule.fired',
  'heartbeat.sent',
  'settings.changed',
  'system.notice',
] as const;

export type EventType = (typeof EVENT_TYPES)[number];

/** What a producer hands to the bus. Tree fields are present wherever they apply. */
export interface EventInput {
  type: EventType;
  conversationId?: string | null;
  runId?: string | null;
  parentRunId?: string | null;
  depth?: number | null;
  agentId?: string | null;
  data?: Record<string, unknown>;
}

/** A stored event: `id` increases strictly and is the SSE event id. */
export interface TinyEvent {
  id: number;
  ts: number;
  type: EventType;
  conversationId: string | null;
  runId: string | null;
  parentRunId: string | null;
  depth: number | null;
  agentId: string | null;
  data: Record<string, unknown>;
}
