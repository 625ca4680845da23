/**
 * The approval desk's surfaces (docs/approvals.md): a person's answer to a request, and what a
 * running run asks through the API (a permission request of its CLI, an agent's `ask_human`).
 * Built on an orchestrator: the desk is the one its runs ask, and a run asks only while its turn
 * runs in that orchestrator.
 */
import type { ApprovalDecision } from '@tinyagi/client/contract';
import { TinyError, type ApprovalAnswer, type ApprovalAsk, type ApprovalRecord } from '@tinyagi/core';
import type { EgressAnswer, EgressAsk } from '../core-internal.ts';
import type { HumanAnswer, HumanQuestion } from '../approvals/desk.ts';
import type { ActiveRun, Ctx } from '../orchestrator/context.ts';
import { orchestratorContext, type Orchestrator } from '../orchestrator/orchestrator.ts';
import { askHumanFor } from '../orchestrator/run-actions.ts';

export class Approvals {
  readonly #ctx: Pick<Ctx, 'approvals' | 'active'>;

  constructor(orchestrator: Orchestrator) {
    this.#ctx = orchestratorContext(orchestrator);
  }

  /** A person's answer to an approval request (the first answer wins: APPROVAL_DECIDED after); `batchId`: one answer for many (decideMany). */
  decide(id: string, decision: ApprovalDecision, by: string, reason?: string, answer?: string, batchId?: string): Promise<ApprovalRecord> {
    return this.#ctx.approvals.decide(id, decision, by, reason, answer, batchId);
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

  /**
   * A sandboxed agent's connection to a host off its egress list (core's EgressProxy asks here):
   * an `egress` request on the agent's run in progress on this node, the most recently started
   * one when several run at once (the proxy knows the agent, not which of its processes
   * connects), cancelled with that run. With no run in progress nobody is asked: refused.
   */
  async askEgress(ask: EgressAsk): Promise<EgressAnswer> {
    let chosen: ActiveRun | undefined;
    for (const active of this.#ctx.active.values()) {
      if (active.agentId === ask.agentId && active.askEgress && (!chosen || active.startedAt >= chosen.startedAt)) chosen = active;
    }
    if (!chosen?.askEgress) return { allow: false, decidedBy: 'proxy', reason: `denied: @${ask.agentId} has no run in progress on this node to ask a person for` };
    const answer = await chosen.askEgress({ host: ask.host, port: ask.port, summary: ask.summary }, ask.signal);
    return answer.allow ? { allow: true, decidedBy: answer.decidedBy } : { allow: false, decidedBy: answer.decidedBy, reason: answer.reason ?? `denied by ${answer.decidedBy}` };
  }

  /**
   * The agents confining the agent's runs in progress on this node (a sandboxed caller's call,
   * handoff or fan-out: guards/confinement.ts): the egress proxy holds a host to their lists too.
   * The proxy knows the agent, not which run connects, so every run of the agent is held to the
   * tightest of them while one confined run is in progress.
   */
  confinersOf(agentId: string): string[] {
    const confiners = new Set<string>();
    for (const active of this.#ctx.active.values()) if (active.agentId === agentId) for (const id of active.confinedBy ?? []) confiners.add(id);
    return [...confiners];
  }

  /** An agent's `ask_human`: its running run asks the person and waits for the answer (run-actions.ts). */
  askHuman(runId: string, question: HumanQuestion, signal?: AbortSignal): Promise<HumanAnswer> {
    return askHumanFor(this.#ctx.active.get(runId), runId, question, signal);
  }
}
