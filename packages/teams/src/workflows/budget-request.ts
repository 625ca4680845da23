/**
 * The person asked when a workflow run pauses at its budget (docs/workflows.md#budgets): the
 * `workflow_budget` approval, and carrying out its answer. Contract:
 * - The engine asks once the run is paused (`requestBudgetApproval`). The request's id comes from
 *   the run and the budget it paused at, so two steps that reach the pause together, a replay or
 *   another node name the same request and `createOnce` makes one. A resume needs a budget the run
 *   has not spent, so each pause of a run has a budget, and a request, of its own.
 * - It is run-less (no run or session; the conversation of the agent run that started the run, if
 *   one did, so that chat is asked too) and never expires: a restart leaves it pending, and
 *   unanswered the run stays paused. `agentId` is the run's starter (`startedBy`: the
 *   agent whose run started it, whose `permissions.approvers` may answer, or `person`).
 * - Its answer (the desk's: the first one wins) is carried out while the run still waits for it,
 *   paused at that budget (`carryOutBudgetAnswer`): `raise_budget` resumes it with the budget given,
 *   else the same again (`raisedBudget`); `stop` cancels it. Carried out again, it does nothing.
 * - A resume or cancel by hand (CLI, TinyOffice, API) closes the pending request
 *   (`withdrawBudgetRequest`): cancelled, decided by `resume` or `cancel`.
 * - Each node's start makes good what a crash left (`recoverBudgetRequests`): a paused run whose
 *   budget is spent and that was never asked is asked, and an answer recorded but not carried out
 *   is carried out. Every node does it: `createOnce` makes one request, and of nodes carrying out
 *   one answer at once one resumes the run (a resume changes a run only from the status it read);
 *   the others find it no longer waiting, or their resume refused (logged).
 */
import { createHash } from 'node:crypto';
import { approvalWorkflowBudget, budgetText, parseBudgetText } from '@tinyagi/client';
import type { WorkflowRun } from '@tinyagi/client/contract';
import { type ApprovalRecord, errorMessage, TinyError } from '@tinyagi/core';
import type { StoreSet, WorkflowRunRecord } from '../core-internal.ts';
import type { WorkflowService } from './service.ts';

/** A run's caps (null: none). */
export interface BudgetCaps {
  usd: number | null;
  tokens: number | null;
}

/** What a run has spent. */
export interface BudgetSpent {
  usd: number;
  tokens: number;
}

type BudgetDeps = { approvals: Pick<StoreSet['approvals'], 'createOnce' | 'decide'>; events: Pick<StoreSet['events'], 'append'> };

/** The id of the request a run's pause at `budget` asks: shaped like every id (`apr_` and 26 characters, within a chat button's data). */
export function budgetApprovalId(runId: string, budget: BudgetCaps): string {
  return `apr_${createHash('sha256')
    .update(`workflow_budget\0${runId}\0${budget.usd ?? ''}\0${budget.tokens ?? ''}`)
    .digest('hex')
    .slice(0, 26)}`;
}

const capsOf = (run: WorkflowRunRecord): BudgetCaps => ({ usd: run.budgetUsd, tokens: run.budgetTokens });

/** `$2.50`, `$0.005`: a cap as people write it (cents at least). */
function usdText(usd: number): string {
  return Number(usd.toFixed(2)) === usd ? `$${usd.toFixed(2)}` : `$${usd}`;
}

/** `spent $2.5100 of $2.50`, `used 510000 of 500000 tokens`: each cap the run has spent. */
export function spentText(caps: BudgetCaps, spent: BudgetSpent): string {
  const parts: string[] = [];
  if (caps.usd !== null && spent.usd >= caps.usd) parts.push(`spent $${spent.usd.toFixed(4)} of ${usdText(caps.usd)}`);
  if (caps.tokens !== null && spent.tokens >= caps.tokens) parts.push(`used ${spent.tokens} of ${caps.tokens} tokens`);
  return parts.join(' and ');
}

/** The request of the run's pause, made unless it exists; `approval.requested` is appended when it was made now. */
export async function requestBudgetApproval(deps: BudgetDeps, run: WorkflowRunRecord, spent: { costUsd: number; tokens: number }): Promise<{ approval: ApprovalRecord; created: boolean }> {
  const budget = capsOf(run);
  const used = { usd: spent.costUsd, tokens: spent.tokens };
  const { record, created } = await deps.approvals.createOnce({
    id: budgetApprovalId(run.id, budget),
    kind: 'workflow_budget',
    agentId: run.startedBy,
    runId: null,
    // The chat of the agent run that started it, if one did: the question is asked there too.
    conversationId: run.conversationId,
    sessionKey: null,
    tool: 'workflow_budget',
    input: { workflowRunId: run.id, name: run.name, spent: used, budget },
    summary: `Workflow ${run.name} paused at its budget: ${spentText(budget, used)}`,
    requestedAt: Date.now(),
    expiresAt: null,
  });
  if (created) await deps.events.append({ type: 'approval.requested', conversationId: record.conversationId, agentId: record.agentId, data: { approval: record } });
  return { approval: record, created };
}

/**
 * The run was resumed or cancelled by hand while paused: its pending request has nothing left to
 * decide. Never throws (the resume or cancel is done; a failure here is logged).
 */
export async function withdrawBudgetRequest(deps: BudgetDeps, before: WorkflowRunRecord, how: 'resume' | 'cancel', log: { warn(message: string): void }): Promise<void> {
  if (before.status !== 'paused') return;
  const reason = how === 'resume' ? 'the run was resumed by hand' : 'the run was cancelled by hand';
  try {
    const done = await deps.approvals.decide(budgetApprovalId(before.id, capsOf(before)), { status: 'cancelled', decision: null, decidedBy: how, reason, decidedAt: Date.now() });
    if (done) await deps.events.append({ type: 'approval.decided', conversationId: null, agentId: done.agentId, data: { approval: done } });
  } catch (err) {
    log.warn(`Workflow run ${before.id}: closing its budget's request failed (${errorMessage(err)}); answered now, it does nothing.`);
  }
}

/**
 * The budget `raise_budget` gives: the caps given (each replaces its own), else the same again:
 * each cap doubled, or what was spent plus the cap when the steps running at the pause spent past
 * twice the cap (doubled, it would pause again at once).
 */
export function raisedBudget(caps: BudgetCaps, spent: BudgetSpent, given: { usd?: number; tokens?: number } = {}): BudgetCaps {
  if (given.usd !== undefined || given.tokens !== undefined) return { usd: given.usd ?? caps.usd, tokens: given.tokens ?? caps.tokens };
  const again = (cap: number | null, used: number): number | null => (cap === null ? null : Math.max(cap * 2, used + cap));
  const usd = again(caps.usd, spent.usd);
  return { usd: usd === null ? null : Math.round(usd * 1e6) / 1e6, tokens: again(caps.tokens, spent.tokens) };
}

/**
 * The budget a `raise_budget` answer gives, as recorded (budgetText), or null for the same again.
 * APPROVAL_DECISION_INVALID when it is not a budget, or one the run had spent at its pause.
 */
export function budgetAnswer(request: ApprovalRecord, given: string | undefined): string | null {
  if (given === undefined || given === '') return null;
  const parsed = parseBudgetText(given);
  if (parsed === undefined) throw new TinyError('APPROVAL_DECISION_INVALID', `A budget for ${request.id} is "$<usd>", "<n> tokens" or both ("$5 and 200000 tokens"), not "${given}".`);
  const ask = approvalWorkflowBudget(request);
  const still = spentText(raisedBudget(ask.budget, ask.spent, parsed), ask.spent);
  if (still !== '') {
    throw new TinyError(
      'APPROVAL_DECISION_INVALID',
      `Workflow run ${ask.workflowRunId} would pause again at once with ${budgetText(parsed)} (${still}): give a larger budget, or none for the same again.`,
    );
  }
  return budgetText(parsed);
}

/**
 * Carries out an answered `workflow_budget` request on its run (the contract above); the run
 * after, or undefined when there was nothing to do (it no longer waits for this request).
 */
export async function carryOutBudgetAnswer(workflows: Pick<WorkflowService, 'getRun' | 'resumeRun' | 'cancelRun'>, approval: ApprovalRecord): Promise<WorkflowRun | undefined> {
  if (approval.kind !== 'workflow_budget' || approval.status !== 'answered') return undefined;
  const { run } = await workflows.getRun(approvalWorkflowBudget(approval).workflowRunId);
  if (run.status !== 'paused' || budgetApprovalId(run.id, run.budget) !== approval.id) return undefined;
  if (approval.decision === 'stop') return workflows.cancelRun(run.id);
  if (approval.decision !== 'raise_budget') return undefined;
  const caps = raisedBudget(run.budget, { usd: run.costUsd, tokens: run.tokens }, approval.answer ? parseBudgetText(approval.answer) : {});
  return workflows.resumeRun(run.id, { ...(caps.usd === null ? {} : { budgetUsd: caps.usd }), ...(caps.tokens === null ? {} : { budgetTokens: caps.tokens }) });
}

type RecoveryDeps = BudgetDeps & { approvals: Pick<StoreSet['approvals'], 'get'>; workflows: Pick<StoreSet['workflows'], 'listRuns' | 'totals'> };

/**
 * A node's start: each paused run (a run pauses only at its budget) whose request is absent while
 * its budget is spent is asked now, and whose request was answered has the answer carried out.
 * Never throws: a failure is logged with its run, and the other runs go on.
 */
export async function recoverBudgetRequests(deps: RecoveryDeps, workflows: Pick<WorkflowService, 'getRun' | 'resumeRun' | 'cancelRun'>, log: { warn(message: string): void }): Promise<void> {
  let paused: WorkflowRunRecord[];
  try {
    // The newest 500, the most the store gives at once.
    paused = await deps.workflows.listRuns({ status: 'paused', limit: 500 });
  } catch (err) {
    log.warn(`Looking for paused workflow runs to ask about their budget failed: ${errorMessage(err)}`);
    return;
  }
  for (const run of paused) {
    let approval: ApprovalRecord | undefined;
    try {
      approval = await deps.approvals.get(budgetApprovalId(run.id, capsOf(run)));
      if (approval === undefined) {
        const spent = (await deps.workflows.totals([run.id])).get(run.id) ?? { costUsd: 0, tokens: 0 };
        if (spentText(capsOf(run), { usd: spent.costUsd, tokens: spent.tokens }) !== '') await requestBudgetApproval(deps, run, spent);
      } else if (approval.status === 'answered') {
        await carryOutBudgetAnswer(workflows, approval);
      }
    } catch (err) {
      // Carried out by another node meanwhile, the resume is refused (INVALID_STATE): nothing is lost.
      const what = approval === undefined ? 'asking a person about its budget' : `carrying out the answer ${approval.decision} to its budget's request`;
      log.warn(`Workflow run ${run.id}: ${what} failed at this start: ${errorMessage(err)}`);
    }
  }
}
