/**
 * The approval desk's surfaces (docs/approvals.md): a person's answer to a request, and what a
 * running run asks through the API (a permission request of its CLI, an agent's `ask_human`).
 * Built on an orchestrator: the desk is the one its runs ask, and a run asks only while its turn
 * runs in that orchestrator.
 */
import type { ApprovalDecision } from '@tinyagi/client/contract';
import { TinyError, type ApprovalAnswer, type ApprovalAsk } from '@tinyagi/core';
import type { ApprovalRecord } from '@tinyagi/core/internal';
import type { HumanAnswer, HumanQuestion } from '../approvals/desk.ts';
import type { Ctx } from '../orchestrator/context.ts';
import { orchestratorContext, type Orchestrator } from '../orchestrator/orchestrator.ts';
import { askHumanFor } from '../orchestrator/run-actions.ts';

export class Approvals {
  readonly #ctx: Pick<Ctx, 'approvals' | 'active'>;

  constructor(orchestrator: Orchestrator) {
    this.#ctx = orchestratorContext(orchestrator);
  }

  /** A person's answer to an approval request (the first answer wins: APPROVAL_DECIDED after). */
  decide(id: string, decision: ApprovalDecision, by: string, reason?: string, answer?: string): Promise<ApprovalRecord> {
    return this.#ctx.approvals.decide(id, decision, by, reason, answer);
  }

  /**
   * A permission request of a running run's CLI made through the API (the MCP tool
   * `approval_prompt` of per-message Claude Code): the run's approval step decides, as for a
   * request its runtime reports itself (rules, session allowances, a person, expiry).
   */
  request(runId: string, ask: ApprovalAsk): Promise<ApprovalAnswer> {
    const askApproval = this.#ctx.active.get(runId)?.askApproval;
    if (!askApproval) return Promise.reject(new TinyError('INVALID_STATE', `Run ${runId} is not running on this node: it can ask for approval only while its turn runs.`));
    return askApproval(ask);
  }

  /** An agent's `ask_human`: its running run asks the person and waits for the answer (run-actions.ts). */
  askHuman(runId: string, question: HumanQuestion, signal?: AbortSignal): Promise<HumanAnswer> {
    return askHumanFor(this.#ctx.active.get(runId), runId, question, signal);
  }
}
