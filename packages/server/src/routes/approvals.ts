/**
 * Approval requests (docs/approvals.md): read from the table (any node answers for every node's
 * requests); answered through the orchestrator's desk, where the first answer wins. `allow_always`
 * also adds allow rules to the agent's settings, exactly as wide as the request (core's
 * approvals/answer-rules.ts: the exact command line, or each path), so the same request is
 * allowed by them next time; for an `egress` request, the host joins the agent's `egress_allow`. A running agent's CLI that asks
 * through TinyAGI's MCP tool (`approval_prompt`) reaches its run's desk with `requestRunApproval`.
 */
import { isDeepStrictEqual } from 'node:util';
import { budgetText } from '@tinyagi/client';
import type { ApprovalDecision, approvalsContract } from '@tinyagi/client/contract';
import { TinyError, type ApprovalRecord } from '@tinyagi/core';
import { carryOutBudgetAnswer } from '@tinyagi/teams';
import { agentWorkspaceDir, MAX_REQUEST_PATHS, ownEntry, requestPaths, rulesForAnswer } from '../core-internal.ts';
import type { ServerContext } from '../context.ts';
import { RequestError } from '../errors.ts';
import { decidedBy } from '../requested-by.ts';
import { requirePairedSender } from '../security/paired-sender.ts';
import type { RouteHandlers } from '../routing.ts';

/** The routes of one request each; a burst's (listApprovalGroups, decideApprovals): approval-batch.ts. */
export function approvalRoutes(ctx: ServerContext): RouteHandlers<Exclude<keyof typeof approvalsContract, 'listApprovalGroups' | 'decideApprovals'>> {
  return {
    listApprovals: async ({ query }) =>
      ctx.stores.approvals.list({
        status: query.status,
        kind: query.kind,
        agentId: query.agent,
        conversationId: query.conversationId,
        taskId: query.taskId,
        channel: query.channel,
        limit: query.limit,
      }),
    getApproval: async ({ params }) => {
      const found = await ctx.stores.approvals.get(params.id);
      if (!found) throw new TinyError('APPROVAL_NOT_FOUND', `No approval request ${params.id}.`);
      return found;
    },
    decideApproval: async ({ params, body, auth, request }) => {
      if (auth.kind === 'channel') await mayAnswer(ctx, auth.channel, params.id, body.by);
      const by = decidedBy(auth, request, body.by);
      const decided = await ctx.facets.approvals.decide(params.id, body.decision, by, body.reason, answerOf(body));
      await afterDecision(ctx, decided, body.decision);
      return decided;
    },
    requestRunApproval: async ({ params, body, auth }) => {
      // A run asks for itself only: neither a token of another run of its conversation nor a person's token may.
      if (auth.kind !== 'run' || auth.runId !== params.id) {
        throw new RequestError('SCOPE_FORBIDDEN', 'Only the run itself (its run-scoped token) may ask for approval of its tool calls.');
      }
      // The rules look each path up on disk within a bound; a request past it is refused here rather than shown to a person.
      const input = body.input && typeof body.input === 'object' ? (body.input as Record<string, unknown>) : {};
      const paths = requestPaths(input).length;
      if (paths > MAX_REQUEST_PATHS) {
        throw new TinyError('INPUT_TOO_LARGE', `The request names ${paths} paths; a permission request may name at most ${MAX_REQUEST_PATHS}. It was not asked of anyone.`, {
          hint: 'Ask for fewer files at a time.',
        });
      }
      const answer = await ctx.facets.approvals.request(params.id, { tool: body.tool, input: body.input, ...(body.summary ? { summary: body.summary } : {}) });
      return { allow: answer.allow, decidedBy: answer.decidedBy, ...(answer.reason ? { reason: answer.reason } : {}) };
    },
  };
}

/**
 * The answer text the desk records besides a question's: `more_rounds` the rounds it gives (the
 * desk defaults it to the binding's maxRounds), `raise_budget` the budget given (`$5 and 200000
 * tokens`; none: the same again).
 */
export function answerOf(body: {
  decision: ApprovalDecision;
  answer?: string | undefined;
  rounds?: number | undefined;
  budgetUsd?: number | undefined;
  budgetTokens?: number | undefined;
}): string | undefined {
  if (body.decision === 'more_rounds' && body.rounds !== undefined) return String(body.rounds);
  if (body.decision === 'raise_budget') return budgetText({ usd: body.budgetUsd, tokens: body.budgetTokens }) || undefined;
  return body.answer;
}

/** What an answer does besides being recorded: `allow_always` adds a rule (or an egress host); a task's rounds and a workflow run's budget are carried out. */
export async function afterDecision(ctx: ServerContext, decided: ApprovalRecord, decision: ApprovalDecision): Promise<void> {
  if (decision === 'allow_always') await (decided.kind === 'egress' ? addEgressHost(ctx, decided) : addAllowRule(ctx, decided));
  if (decided.kind === 'task_rounds') await carryOutAnswer(ctx, decided);
  if (decided.kind === 'workflow_budget') await carryOutBudget(ctx, decided);
}

/**
 * A workflow run's budget answered: its run resumed or cancelled now. The answer is recorded
 * whatever happens here; when the run cannot go on (it spent the budget given meanwhile), it stays
 * paused, and `tinyagi workflow resume` (or TinyOffice) resumes it.
 */
async function carryOutBudget(ctx: ServerContext, approval: ApprovalRecord): Promise<void> {
  try {
    await carryOutBudgetAnswer(ctx.workflows, approval);
  } catch (err) {
    ctx.log.warn(`Approval ${approval.id} (a workflow run's budget): the answer ${approval.decision} was recorded but the run did not go on: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/**
 * A task's rounds answered: carried out on the task now. The answer is recorded whatever happens
 * here (the first answer won); a failure to carry it out (the owner's message not sent) is logged
 * and finished by the task flow's next sweep.
 */
async function carryOutAnswer(ctx: ServerContext, approval: ApprovalRecord): Promise<void> {
  try {
    await ctx.taskFlow.carryOutRoundsAnswer(approval);
  } catch (err) {
    ctx.log.warn(
      `Approval ${approval.id} (task ${approval.taskId}): the answer ${approval.decision} was recorded but not carried out yet (${err instanceof Error ? err.message : String(err)}); the next start finishes it.`,
    );
  }
}

/**
 * A channel process answers for a person of its chat (docs/approvals.md, "In the chat apps"): it
 * names them (`by`: `<channel>:<sender id>`), the sender must be paired on that channel (requirePairedSender), and when
 * the agent lists `permissions.approvers` the sender must match one of them. The route's scope
 * already checked that the request's conversation came in through this channel.
 */
export async function mayAnswer(ctx: ServerContext, channel: string, approvalId: string, by: string | undefined): Promise<void> {
  const prefix = `${channel}:`;
  if (by === undefined || !by.startsWith(prefix) || by.length === prefix.length) {
    throw new RequestError('SCOPE_FORBIDDEN', `A channel answers for one of its senders: send "by": "${prefix}<sender id>".`);
  }
  await requirePairedSender(ctx.pairings, channel, by.slice(prefix.length), 'answer approval requests');
  const approval = await ctx.stores.approvals.get(approvalId);
  const approvers = approval ? ownEntry(ctx.settings().agents, approval.agentId)?.permissions?.approvers : undefined;
  if (approval && approvers !== undefined && !approvers.some((pattern) => approverMatches(pattern, by))) {
    throw new RequestError('SCOPE_FORBIDDEN', `Only the approvers of @${approval.agentId} may answer (its permissions.approvers); ${by} is not one of them.`);
  }
}

/** An approvers entry: a glob (`*` any run, `?` one character) on `<channel>:<sender id>`. */
export function approverMatches(pattern: string, who: string): boolean {
  const re = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${re}$`, 's').test(who);
}

/** An `egress` request allowed always: its host joins the agent's `egress_allow` (docs/sandbox.md#egress), exactly as asked. */
async function addEgressHost(ctx: ServerContext, approval: ApprovalRecord): Promise<void> {
  const host = (approval.input as { host?: unknown } | null)?.host;
  if (typeof host !== 'string' || host === '') return;
  await ctx.updateSettings((settings) => {
    const agent = ownEntry(settings.agents, approval.agentId);
    if (!agent) return settings;
    agent.egress_allow ??= [];
    if (!agent.egress_allow.some((h) => h.toLowerCase() === host.toLowerCase())) agent.egress_allow.push(host);
    return settings;
  });
}

async function addAllowRule(ctx: ServerContext, approval: ApprovalRecord): Promise<void> {
  const rules = rulesForAnswer(approval, agentWorkspaceDir(ctx.settings(), approval.agentId, ctx.env));
  if (rules.length === 0) return;
  await ctx.updateSettings((settings) => {
    const agent = ownEntry(settings.agents, approval.agentId);
    if (!agent) return settings;
    agent.permissions ??= {};
    agent.permissions.rules ??= [];
    const existing = agent.permissions.rules;
    for (const rule of rules) {
      if (!existing.some((r) => r.action === rule.action && r.tool === rule.tool && r.command === rule.command && r.path === rule.path && isDeepStrictEqual(r.input, rule.input))) existing.push(rule);
    }
    return settings;
  });
}
