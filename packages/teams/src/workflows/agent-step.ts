/**
 * An agent step (docs/workflows.md, "Agent steps"): the prompt goes to the agent as a conversation
 * of its own through the queue, under the idempotency key `workflow:<run>:<step>:<attempt>`, so a
 * step sent again after a crash finds its first message instead of making a second one. The step
 * ends with its conversation: its replies are the output (read as JSON and checked when the call
 * gave a schema); a conversation that failed, stopped or was cancelled fails the step.
 */
import { type AgentStepOptions, unsignReply } from '@tinyagi/client';
import { type ConversationRecord, TinyError } from '@tinyagi/core';
import type { StoreSet, WorkflowRunRecord, WorkflowStepRecord } from '../core-internal.ts';
import type { SubmitInput, SubmitResult } from '../orchestrator/submit.ts';
import { type AgentStepResult, StepRetry } from './program-context.ts';

export interface AgentStepDeps {
  stores: Pick<StoreSet, 'events' | 'runs' | 'outbox' | 'workflows'>;
  orchestrator: { submitGrouped(input: SubmitInput): Promise<SubmitResult> };
  /** The agents of the settings now. */
  agentIds(): readonly string[];
  waits: ConversationWaits;
}

export const WORKFLOW_CHANNEL = 'workflows';

const SCHEMA_NOTE = '\n\nAnswer with JSON only (one JSON value, or one fenced ```json block): your answer is read by a program and checked against a schema.';

export async function runAgentStep(
  deps: AgentStepDeps,
  run: Pick<WorkflowRunRecord, 'id' | 'name' | 'chain'>,
  step: WorkflowStepRecord,
  prompt: string,
  options: { cwd?: string | undefined; schema?: AgentStepOptions<unknown>['schema'] },
  signal: AbortSignal,
  onSent: (conversationId: string) => void,
): Promise<AgentStepResult> {
  const agentId = step.agentId!;
  if (!deps.agentIds().includes(agentId)) throw new TinyError('AGENT_NOT_FOUND', `No agent "${agentId}" in the settings.`);
  const sent = await deps.orchestrator.submitGrouped({
    message: options.schema ? `${prompt}${SCHEMA_NOTE}` : prompt,
    agent: agentId,
    channel: WORKFLOW_CHANNEL,
    sender: `Workflow ${run.name}`,
    senderId: `workflow:${run.id}`,
    idempotencyKey: `workflow:${run.id}:${step.stepId}:${step.attempt}`,
    ...(options.cwd === undefined ? {} : { workdir: options.cwd }),
    // An agent started the run: the step runs confined by it, as its call would.
    ...(run.chain ? { chain: run.chain } : {}),
  });
  if (step.conversationId !== sent.conversationId) {
    await deps.stores.workflows.updateStep(run.id, step.stepId, { conversationId: sent.conversationId });
    onSent(sent.conversationId);
  }
  const conversation = await deps.waits.ended(sent.conversationId, signal);
  if (conversation.status === 'failed' && step.attempt < LOST_ATTEMPTS && (await lostWithItsWorkers(deps.stores, conversation.id))) {
    throw new StepRetry(`its message was lost with the workers that ran it (${conversation.stopReason ?? 'worker lost'})`);
  }
  if (conversation.status !== 'completed') throw new Error(`its conversation ${conversation.id} ${conversation.status}${conversation.stopReason ? `: ${conversation.stopReason}` : ''}`);
  const replies = (await deps.stores.outbox.list({ conversationId: conversation.id, limit: 500 })).filter((r) => r.agentId !== null).map((r) => unsignReply(r.text, r.agentId));
  const text = replies.join('\n\n').trim();
  return {
    output: options.schema ? checked(text, options.schema) : text,
    costUsd: conversation.costUsd,
    tokens: conversation.inputTokens + conversation.outputTokens,
  };
}

/** How many attempts a step gets when its message dies with its workers (each one already the queue's attempts). */
const LOST_ATTEMPTS = 3;

/** Whether the conversation's message was given up because its workers kept dying under it (a crash, a killed node), not for its own failure. */
async function lostWithItsWorkers(stores: Pick<StoreSet, 'events'>, conversationId: string): Promise<boolean> {
  const dead = await stores.events.readSince(0, { conversationId, types: ['queue.dead'] }, 10);
  return dead.length > 0 && dead.every((e) => e.data.failure === 'worker_lost');
}

/** The reply as JSON (whole, or its first fenced json block), checked by the schema. */
export function checked(text: string, schema: NonNullable<AgentStepOptions<unknown>['schema']>): unknown {
  const fenced = /```(?:json)?\s*\n([\s\S]*?)\n\s*```/.exec(text)?.[1];
  let value: unknown;
  try {
    value = JSON.parse(fenced ?? text);
  } catch {
    throw new Error(`the reply is not JSON: ${JSON.stringify(text.slice(0, 200))}`);
  }
  const result = schema.safeParse(value);
  if (!result.success) throw new Error(`the reply does not match the schema: ${describe(result.error)}`);
  return result.data;
}

function describe(error: unknown): string {
  const issues = (error as { issues?: Array<{ path?: unknown[]; message?: string }> } | undefined)?.issues;
  if (Array.isArray(issues)) return issues.map((i) => `${(i.path ?? []).join('.') || '(the value)'}: ${i.message ?? 'invalid'}`).join('; ');
  return error instanceof Error ? error.message : String(error);
}

/**
 * Waiters for conversations to end, over one subscription to the event log (a thousand steps
 * waiting cost one listener): each wait reads the conversation after it is registered, so an end
 * between the two is not missed.
 */
export class ConversationWaits {
  readonly #runs: Pick<StoreSet['runs'], 'getConversation'>;
  readonly #waiting = new Map<string, Set<() => void>>();
  readonly #unsubscribe: () => void;

  constructor(stores: Pick<StoreSet, 'events' | 'runs'>) {
    this.#runs = stores.runs;
    this.#unsubscribe = stores.events.subscribe((event) => {
      if (event.type !== 'conversation.completed' || !event.conversationId) return;
      for (const wake of this.#waiting.get(event.conversationId) ?? []) wake();
    });
  }

  /** Resolves with the conversation once it has ended (not `active`); rejects when `signal` aborts. */
  ended(conversationId: string, signal: AbortSignal): Promise<ConversationRecord> {
    return new Promise((resolve, reject) => {
      let settled = false;
      const done = (fn: () => void): void => {
        if (settled) return;
        settled = true;
        set.delete(check);
        if (set.size === 0) this.#waiting.delete(conversationId);
        signal.removeEventListener('abort', abort);
        fn();
      };
      const check = (): void => {
        Promise.resolve(this.#runs.getConversation(conversationId)).then(
          (c) => {
            if (c && c.status !== 'active' && c.finished) done(() => resolve(c));
          },
          (err: unknown) => done(() => reject(err)),
        );
      };
      const abort = (): void => done(() => reject(signal.reason));
      const set = this.#waiting.get(conversationId) ?? new Set();
      this.#waiting.set(conversationId, set);
      set.add(check);
      if (signal.aborted) return abort();
      signal.addEventListener('abort', abort, { once: true });
      check();
    });
  }

  close(): void {
    this.#unsubscribe();
  }
}
