/**
 * Row types derived from the drizzle schema (`schema.ts`): the shape `SELECT *` returns through
 * better-sqlite3, keyed by the SQL column names, so the stores' mappers are checked against the
 * schema instead of hand-written row interfaces. Types only: importing this loads nothing.
 */
import type * as tables from './schema.ts';

interface ColumnShape {
  _: { name: string; data: unknown; notNull: boolean };
}

/** One row of a table as the driver returns it (snake_case keys; null where the column allows it). */
export type RowOf<T extends { _: { columns: Record<string, ColumnShape> } }> = {
  [K in keyof T['_']['columns'] as T['_']['columns'][K]['_']['name']]: T['_']['columns'][K]['_']['notNull'] extends true ? T['_']['columns'][K]['_']['data'] : T['_']['columns'][K]['_']['data'] | null;
};

export type MessageRow = RowOf<typeof tables.messages>;
export type OutboxTableRow = RowOf<typeof tables.outbox>;
export type ConversationRow = RowOf<typeof tables.conversations>;
export type RunRow = RowOf<typeof tables.runs>;
export type EventRow = RowOf<typeof tables.events>;
export type AgentSessionRow = RowOf<typeof tables.agentSessions>;
export type RunSteeringRow = RowOf<typeof tables.runSteering>;
export type AgentMessageRow = RowOf<typeof tables.agentMessages>;
export type ChatroomRow = RowOf<typeof tables.chatroomMessages>;
export type SenderDefaultRow = RowOf<typeof tables.senderDefaults>;
export type PairingRow = RowOf<typeof tables.pairings>;
export type ScheduleRow = RowOf<typeof tables.schedules>;
export type ProjectRow = RowOf<typeof tables.projects>;
export type TaskRow = RowOf<typeof tables.tasks>;
export type TaskCommentRow = RowOf<typeof tables.taskComments>;
export type QuotaHoldRow = RowOf<typeof tables.quotaHolds>;
export type ApprovalRow = RowOf<typeof tables.approvals>;
export type MemoryEntryRow = RowOf<typeof tables.memoryEntries>;
export type MemoryInjectionRow = RowOf<typeof tables.memoryInjections>;
export type WorkflowRunRow = RowOf<typeof tables.workflowRuns>;
export type WorkflowStepRow = RowOf<typeof tables.workflowSteps>;
