/**
 * Approval requests (`approvals` table, docs/approvals.md): what an agent asked to do, for which
 * run and session, when it expires, and how it was answered. The approval desk (@tinyagi/teams)
 * creates and decides them; the stores only keep them. A decision is written only while the
 * request is pending (`decide` returns undefined otherwise), so the first answer wins across
 * processes and nodes.
 */
import type { ApprovalDecision, ApprovalKind, ApprovalStatus } from '@tinyagi/client/contract';
import type { ApprovalRow } from '../storage/rows.ts';
import type { Awaitable } from '../storage/transaction.ts';
import { approvalGroupKey } from './group-key.ts';

export interface ApprovalRecord {
  id: string;
  kind: ApprovalKind;
  status: ApprovalStatus;
  /** The agent that asks; a `task_rounds` request's is the task's owner (assignee agent or team), a `workflow_budget` one's its run's starter. */
  agentId: string;
  /** Null for a run-less request (`task_rounds`, `workflow_budget`). */
  runId: string | null;
  conversationId: string | null;
  sessionKey: string | null;
  /** The task a `task_rounds` request is about. */
  taskId?: string;
  tool: string;
  /** The tool's input, secrets masked (JSON). */
  input: unknown;
  summary: string;
  requestedAt: number;
  /** Null: it waits until answered (`task_rounds`, `workflow_budget`). */
  expiresAt: number | null;
  decidedAt: number | null;
  decidedBy: string | null;
  decision: ApprovalDecision | null;
  reason: string | null;
  answer: string | null;
  /** What it asks, as one key (group-key.ts): requests with the same key may be answered together. */
  groupKey: string;
  /** Set when a person answered it together with others in one request: the same id on each. */
  batchId?: string;
}

export type ApprovalInput = Pick<ApprovalRecord, 'id' | 'kind' | 'agentId' | 'runId' | 'conversationId' | 'sessionKey' | 'taskId' | 'tool' | 'input' | 'summary' | 'requestedAt' | 'expiresAt'>;

export interface ApprovalOutcome {
  status: Exclude<ApprovalStatus, 'pending'>;
  decision: ApprovalDecision | null;
  decidedBy: string;
  reason: string | null;
  /** A question's answer. */
  answer?: string | null;
  decidedAt: number;
  /** Answered together with others in one request (the same id on each). */
  batchId?: string;
}

export interface ApprovalFilter {
  status?: ApprovalStatus | undefined;
  kind?: ApprovalKind | undefined;
  agentId?: string | undefined;
  conversationId?: string | undefined;
  taskId?: string | undefined;
  /** Requests of conversations that came in through this channel (a channel process's view). */
  channel?: string | undefined;
  limit?: number | undefined;
}

export interface ApprovalStoreApi {
  create(input: ApprovalInput): Awaitable<ApprovalRecord>;
  /**
   * Creates the request unless one with its id exists (then returns that one, `created: false`):
   * a step that records the id before it asks, run again after a crash, asks once.
   */
  createOnce(input: ApprovalInput): Awaitable<{ record: ApprovalRecord; created: boolean }>;
  get(id: string): Awaitable<ApprovalRecord | undefined>;
  /** Newest first. */
  list(filter?: ApprovalFilter): Awaitable<ApprovalRecord[]>;
  /** Writes the outcome if the request is still pending; undefined when it was already decided (the first answer won). */
  decide(id: string, outcome: ApprovalOutcome): Awaitable<ApprovalRecord | undefined>;
}

/** @internal Row mapping shared by the SQLite and PostgreSQL stores. */
export function toApproval(row: ApprovalRow): ApprovalRecord {
  let input: unknown = null;
  try {
    input = JSON.parse(row.input);
  } catch {
    input = row.input;
  }
  return {
    id: row.id,
    kind: row.kind as ApprovalKind,
    status: row.status as ApprovalStatus,
    agentId: row.agent_id,
    runId: row.run_id,
    conversationId: row.conversation_id,
    sessionKey: row.session_key,
    ...(row.task_id === null ? {} : { taskId: row.task_id }),
    tool: row.tool,
    input,
    summary: row.summary,
    requestedAt: Number(row.requested_at),
    expiresAt: row.expires_at === null ? null : Number(row.expires_at),
    decidedAt: row.decided_at === null ? null : Number(row.decided_at),
    decidedBy: row.decided_by,
    decision: row.decision as ApprovalDecision | null,
    reason: row.reason,
    answer: row.answer,
    groupKey: approvalGroupKey({ kind: row.kind as ApprovalKind, tool: row.tool, input, summary: row.summary }),
    ...(row.batch_id === null ? {} : { batchId: row.batch_id }),
  };
}
