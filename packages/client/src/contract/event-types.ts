/**
 * The names of every event type, without their schemas (events.ts maps each one to its payload
 * schema and must list exactly these): what the client needs at run time, zod-free.
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
  'run.steer_requested',
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
  'pairing.approved',
  'schedule.fired',
  'heartbeat.sent',
  'settings.changed',
  'system.notice',
  'runtime.quota',
  'approval.requested',
  'approval.decided',
  'approval.expired',
  'task.worktree_created',
  'task.worktree_failed',
  'task.checking',
  'task.checked',
  'task.feedback_sent',
  'task.rounds_exhausted',
  'task.merged',
  'task.worktree_removed',
] as const;

export type EventType = (typeof EVENT_TYPES)[number];

/** The SSE stream of every event (served outside the JSON route contract). */
export const EVENTS_PATH = '/api/events';
