/**
 * What a person does to a conversation's work: cancel a run (with its descendants), a message or
 * the whole conversation, and answer a conversation a limit holds (`continue` or `stop`). Built on
 * an orchestrator: a cancel aborts the invocations it executes and waits for them to end.
 */
import type { Decision } from '@tinyagi/client/contract';
import type { CancelOutcome } from '../core-internal.ts';
import type { Ctx } from '../orchestrator/context.ts';
import { cancelConversation, cancelMessage, cancelRunTree, type CancelConversationResult } from '../orchestrator/conversation-ops.ts';
import { orchestratorContext, type Orchestrator } from '../orchestrator/orchestrator.ts';
import { continueOrStopConversation, type SubmitResult } from '../orchestrator/submit.ts';

export class ConversationControl {
  readonly #ctx: Ctx;

  constructor(orchestrator: Orchestrator) {
    this.#ctx = orchestratorContext(orchestrator);
  }

  /** Cancels a run and all its descendants; their processes are killed. */
  async cancelRun(runId: string, reason = 'cancelled by request'): Promise<{ cancelled: string[] }> {
    return { cancelled: await cancelRunTree(this.#ctx, runId, reason) };
  }

  /**
   * Cancels a queued or running message: its run and descendants end at once, a running
   * invocation is aborted (process group killed) and awaited, and the conversation settles.
   */
  cancelMessage(messageId: string, reason = 'cancelled by request'): Promise<CancelOutcome> {
    return cancelMessage(this.#ctx, messageId, reason);
  }

  /** Cancels a whole conversation (status `cancelled`): every open run and queued message. */
  cancelConversation(conversationId: string, reason = 'cancelled by request'): Promise<CancelConversationResult> {
    return cancelConversation(this.#ctx, conversationId, reason);
  }

  /**
   * Answers a conversation a guard holds (it waits for a person): `continue` raises its limits
   * and delivers what was held, `stop` ends it. The same as sending `continue` / `stop` as a
   * message, for this conversation by its id. INVALID_STATE when it does not wait;
   * CONVERSATION_NOT_FOUND for an unknown id.
   */
  async continueOrStop(conversationId: string, decision: Decision): Promise<SubmitResult> {
    const ctx = this.#ctx;
    return ctx.stores.transaction(function* continueOrStop(tx) {
      return yield* continueOrStopConversation(ctx, tx, conversationId, decision);
    });
  }
}
