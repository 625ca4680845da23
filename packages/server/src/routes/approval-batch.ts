/**
 * A burst of approval requests answered at once (docs/approvals.md, "A burst of requests"): the
 * pending requests grouped by what they ask (the desk's groupApprovals over core's group key),
 * and one answer for many (`ids`, or every pending request of a `group`). Each request is still
 * decided on its own through the desk, with the same checks and effects as one answered alone
 * (who may answer, an `allow_always` rule, a task's rounds or a workflow run's budget carried out), and records the batch's
 * id. A request answered or expired in between, gone, not fitting the answer, or not this
 * sender's to answer is reported in `skipped` and left as it is: every id asked about comes back
 * in exactly one of the two lists.
 */
import type { ApiContract, ApprovalBatchBody, ApprovalBatchResult } from '@tinyagi/client/contract';
import { MAX_BATCH_APPROVALS } from '@tinyagi/client/contract';
import { newId, TinyError, type ApprovalRecord } from '@tinyagi/core';
import { groupApprovals } from '@tinyagi/teams';
import type { ServerContext } from '../context.ts';
import type { RouteHandlers, RouteRequest } from '../routing.ts';
import { decidedBy } from '../requested-by.ts';
import { afterDecision, answerOf, mayAnswer } from './approvals.ts';

type Skipped = ApprovalBatchResult['skipped'][number];

/** The most pending requests grouped at once (a daemon has far fewer waiting). */
const MAX_GROUPED = 5000;

export function approvalBatchRoutes(ctx: ServerContext): RouteHandlers<'listApprovalGroups' | 'decideApprovals'> {
  return {
    listApprovalGroups: async ({ query }) => groupApprovals(await ctx.stores.approvals.list({ status: 'pending', kind: query.kind, agentId: query.agent, channel: query.channel, limit: MAX_GROUPED })),
    decideApprovals: (req) => decideMany(ctx, req),
  };
}

async function decideMany(ctx: ServerContext, { body, auth, request }: RouteRequest<ApiContract['decideApprovals']>): Promise<ApprovalBatchResult> {
  const by = decidedBy(auth, request, body.by);
  const channel = auth.kind === 'channel' ? auth.channel : undefined;
  const { targets, skipped } = await targetsOf(ctx, body, channel);
  const batchId = newId('bat');
  const decided: ApprovalRecord[] = [];
  const answer = answerOf(body);
  // One at a time: each goes through the desk as an answer of its own, and an `allow_always` edits the settings in turn.
  for (const target of targets) {
    try {
      if (channel !== undefined) await mayAnswer(ctx, channel, target.id, body.by);
      const done = await ctx.facets.approvals.decide(target.id, body.decision, by, body.reason, answer, batchId);
      decided.push(done);
      await afterDecision(ctx, done, body.decision);
    } catch (err) {
      skipped.push(await skipOf(ctx, target.id, err));
    }
  }
  // In the order asked, whatever step left each one out.
  const order = new Map((body.ids ?? targets.map((t) => t.id)).map((id, i) => [id, i]));
  skipped.sort((x, y) => (order.get(x.id) ?? 0) - (order.get(y.id) ?? 0));
  return { batchId, decided, skipped };
}

/** The requests a batch names: its ids (each read, in the order given), or its group's pending requests. */
async function targetsOf(ctx: ServerContext, body: ApprovalBatchBody, channel: string | undefined): Promise<{ targets: ApprovalRecord[]; skipped: Skipped[] }> {
  const skipped: Skipped[] = [];
  if (body.group !== undefined) {
    const pending = await ctx.stores.approvals.list({ status: 'pending', agentId: body.agent, channel, limit: MAX_GROUPED });
    const targets = pending.filter((a) => a.groupKey === body.group).sort((x, y) => x.requestedAt - y.requestedAt);
    if (targets.length === 0) throw new TinyError('APPROVAL_NOT_FOUND', `No pending request asks "${body.group}" (any more): list the groups again (GET /api/approvals/groups).`);
    return { targets: targets.slice(0, MAX_BATCH_APPROVALS), skipped };
  }
  const targets: ApprovalRecord[] = [];
  for (const id of new Set(body.ids)) {
    const found = await ctx.stores.approvals.get(id);
    // A channel answers its own conversations' requests only: another's is as unknown to it as a missing one.
    if (found === undefined || (channel !== undefined && !(await ofChannel(ctx, found, channel)))) skipped.push({ id, why: 'not_found', message: `No approval request ${id}.` });
    else targets.push(found);
  }
  return { targets, skipped };
}

async function ofChannel(ctx: ServerContext, approval: ApprovalRecord, channel: string): Promise<boolean> {
  return approval.conversationId !== null && (await ctx.stores.runs.getConversation(approval.conversationId))?.channel === channel;
}

async function skipOf(ctx: ServerContext, id: string, err: unknown): Promise<Skipped> {
  const code = err instanceof Error && 'code' in err ? String((err as { code: unknown }).code) : '';
  const message = err instanceof Error ? err.message : String(err);
  if (code === 'APPROVAL_DECIDED') {
    const now = await ctx.stores.approvals.get(id);
    return { id, why: 'decided', message, ...(now ? { approval: now } : {}) };
  }
  if (code === 'APPROVAL_NOT_FOUND') return { id, why: 'not_found', message };
  if (code === 'APPROVAL_DECISION_INVALID') return { id, why: 'invalid', message };
  if (code === 'SCOPE_FORBIDDEN' || code === 'SENDER_NOT_PAIRED') return { id, why: 'forbidden', message };
  throw err;
}
