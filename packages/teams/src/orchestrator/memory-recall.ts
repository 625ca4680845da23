/**
 * Recall before a turn (docs/memory.md): the memory an agent reads — its own, its teams', its
 * task's project's — searched with the turn's messages, within the agent's token budget
 * (`agents.<id>.memory.budget_tokens`, default DEFAULT_MEMORY_BUDGET_TOKENS; 0 turns it off), as
 * one delimited block at the top of the prompt. What went in is recorded on the run
 * (`memory_injections`, GET /api/runs/:id/memory-injection) and the entries' last use is updated.
 */
import { DEFAULT_MEMORY_BUDGET_TOKENS } from '@tinyagi/client/contract';
import type { RunRecord } from '@tinyagi/core';
import { projectOfConversation, readableScopes, recallForTurn } from '../core-internal.ts';
import { teamsOf } from '../protocol/addressing.ts';
import type { Ctx } from './context.ts';

/** The block for the run's turn ('' when nothing is recalled). */
export async function memoryForTurn(ctx: Pick<Ctx, 'stores' | 'getSettings'>, run: RunRecord, message: string): Promise<string> {
  const settings = ctx.getSettings();
  const budget = settings.agents?.[run.agentId]?.memory?.budget_tokens ?? DEFAULT_MEMORY_BUDGET_TOKENS;
  if (budget <= 0) return '';
  const scopes = readableScopes(run.agentId, teamsOf(settings, run.agentId), await projectOfConversation(ctx.stores, run.conversationId));
  const now = Date.now();
  const recall = await recallForTurn(ctx.stores.memory, { scopes, message, budgetTokens: budget, now });
  if (recall.entries.length === 0) return '';
  const entryIds = recall.entries.map((e) => e.id);
  await ctx.stores.memory.recordInjection({ runId: run.id, agentId: run.agentId, entryIds, tokens: recall.tokens, budget, createdAt: now });
  await ctx.stores.memory.markUsed(entryIds, now);
  return recall.block;
}
