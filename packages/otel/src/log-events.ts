/**
 * Facts the observer seam does not carry but the event log does: approvals (`approval.requested`,
 * `approval.decided`, `approval.expired`: a tool call or an `ask_human` question waiting for a
 * person) and budget warnings. The daemon feeds its event log to the exports
 * (`watchEvents(stores.events)`), which on PostgreSQL delivers every node's events: the trace only
 * annotates runs whose span is open in this process, and the metrics count a decision only where
 * its run runs, so nothing is counted twice across nodes.
 */
import type { Attributes } from '@opentelemetry/api';
import { cut, maskText, maskValue } from './mask.ts';
import { GEN_AI, TINYAGI } from './semconv.ts';

/** An event of the log as this package reads it (`TinyEvent` of @tinyagi/client's contract, structurally). */
export interface LogEvent {
  type: string;
  ts: number;
  runId: string | null;
  conversationId: string | null;
  agentId: string | null;
  data: unknown;
}

/** The event log as this package subscribes to it (core's `stores.events`). */
export interface EventLogLike {
  subscribe(listener: (event: LogEvent) => void): () => void;
}

/** The approval record an `approval.*` event carries (`data.approval`). */
export interface ApprovalLike {
  id: string;
  kind: string;
  status: string;
  agentId: string;
  runId: string;
  conversationId: string;
  tool: string;
  input: unknown;
  summary: string;
  requestedAt: number;
  decidedAt: number | null;
  decidedBy: string | null;
  decision: string | null;
  reason: string | null;
  answer: string | null;
}

export const APPROVAL_EVENTS = ['approval.requested', 'approval.decided', 'approval.expired'] as const;
export type ApprovalEventType = (typeof APPROVAL_EVENTS)[number];

export function approvalOf(event: LogEvent): ApprovalLike | undefined {
  if (!(APPROVAL_EVENTS as readonly string[]).includes(event.type)) return undefined;
  const approval = (event.data as { approval?: ApprovalLike } | null)?.approval;
  return approval && typeof approval.id === 'string' && typeof approval.runId === 'string' ? approval : undefined;
}

/**
 * What a span event says about an approval: always its id, kind, tool, status and (once answered)
 * the decision, who took it, the reason (masked) and how long it waited; the summary, the tool's
 * input and a question's answer are content, only with `captureContent` (masked again here,
 * though the store already masked the input).
 */
export function approvalEventAttributes(approval: ApprovalLike, captureContent: boolean): Attributes {
  const attributes: Attributes = {
    [TINYAGI.approvalId]: approval.id,
    [TINYAGI.approvalKind]: approval.kind,
    [GEN_AI.toolName]: approval.tool,
    [TINYAGI.approvalStatus]: approval.status,
  };
  if (approval.decision) attributes[TINYAGI.approvalDecision] = approval.decision;
  if (approval.decidedBy) attributes[TINYAGI.approvalDecidedBy] = approval.decidedBy;
  if (approval.reason) attributes[TINYAGI.approvalReason] = cut(maskText(approval.reason), 2000);
  if (approval.decidedAt !== null && approval.decidedAt !== undefined) attributes[TINYAGI.approvalWaitMs] = Math.max(0, approval.decidedAt - approval.requestedAt);
  if (captureContent) {
    if (approval.summary) attributes[TINYAGI.approvalSummary] = cut(maskText(approval.summary), 1000);
    if (approval.input !== undefined && approval.input !== null) attributes[GEN_AI.toolCallArguments] = cut(JSON.stringify(maskValue(approval.input)) ?? '', 8192);
    if (approval.answer) attributes[TINYAGI.approvalAnswer] = cut(maskText(approval.answer), 8192);
  }
  return attributes;
}

/** `telegram:ana` → `telegram`: who decided, as a metric attribute of bounded cardinality. */
export function decidedBySurface(decidedBy: string | null): string {
  if (!decidedBy) return 'unknown';
  const i = decidedBy.indexOf(':');
  return i > 0 ? decidedBy.slice(0, i) : decidedBy;
}
