/**
 * Approvals (a tool call or an `ask_human` question waiting for a person, docs/approvals.md) as
 * the exports record them: the attributes of their span events, and who decided reduced to a
 * metric attribute. The observers hear them through the seam (`approvalRequested`,
 * `approvalSettled`), told by the node whose run waits on the request.
 */
import type { Attributes } from '@opentelemetry/api';
import type { ApprovalRecord } from '@tinyagi/core';
import { cut, maskCut, maskValue } from './mask.ts';
import { GEN_AI, TINYAGI } from './semconv.ts';

/**
 * What a span event says about an approval: always its id, kind, tool, status and (once answered)
 * the decision, who took it, the reason (masked) and how long it waited; the summary, the tool's
 * input and a question's answer are content, only with `captureContent` (masked again here,
 * though the store already masked the input).
 */
export function approvalEventAttributes(approval: ApprovalRecord, captureContent: boolean): Attributes {
  const attributes: Attributes = {
    [TINYAGI.approvalId]: approval.id,
    [TINYAGI.approvalKind]: approval.kind,
    [GEN_AI.toolName]: approval.tool,
    [TINYAGI.approvalStatus]: approval.status,
  };
  if (approval.decision) attributes[TINYAGI.approvalDecision] = approval.decision;
  if (approval.decidedBy) attributes[TINYAGI.approvalDecidedBy] = approval.decidedBy;
  if (approval.reason) attributes[TINYAGI.approvalReason] = maskCut(approval.reason, 2000);
  if (approval.decidedAt !== null && approval.decidedAt !== undefined) attributes[TINYAGI.approvalWaitMs] = Math.max(0, approval.decidedAt - approval.requestedAt);
  if (captureContent) {
    if (approval.summary) attributes[TINYAGI.approvalSummary] = maskCut(approval.summary, 1000);
    if (approval.input !== undefined && approval.input !== null) attributes[GEN_AI.toolCallArguments] = cut(JSON.stringify(maskValue(approval.input)) ?? '', 8192);
    if (approval.answer) attributes[TINYAGI.approvalAnswer] = maskCut(approval.answer, 8192);
  }
  return attributes;
}

/** `telegram:ana` → `telegram`: who decided, as a metric attribute of bounded cardinality. */
export function decidedBySurface(decidedBy: string | null): string {
  if (!decidedBy) return 'unknown';
  const i = decidedBy.indexOf(':');
  return i > 0 ? decidedBy.slice(0, i) : decidedBy;
}
