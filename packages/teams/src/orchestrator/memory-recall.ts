/**
 * Recall before a turn (docs/memory.md): the memory an agent reads — its own, its teams', its
 * task's project's — searched with the turn's messages, within the agent's token budget
 * (`agents.<id>.memory.budget_tokens`, default DEFAULT_MEMORY_BUDGET_TOKENS; 0 turns it off), as
 * one delimited block at the top of the prompt. With `memory.embeddings` set, the entries closest in
 * meaning join the full-text matches (core memory/semantic.ts: one embeddings request per turn). What went in is recorded on the run
 * (`memory_injections`, GET /api/runs/:id/memory-injection, the run tree), the entries' last use
 * is updated, and the observers are told (`memoryInjected`: the run's span attributes).
 *
 * The agent's `memory/*.md` files are imported into its memory the first time this process
 * recalls for it (core memory/files.ts: each file once, whatever the number of processes).
 */
import { DEFAULT_MEMORY_BUDGET_TOKENS } from '@tinyagi/client/contract';
import type { MemoryScope } from '@tinyagi/client/contract';
import type { ConversationRecord, RunRecord, Settings } from '@tinyagi/core';
import { agentWorkspaceDir, embeddingsConfig, importMemoryFiles, projectOfSender, readableScopes, readWorkspaceMemoryFiles, recallForTurn, semanticRecallFor } from '../core-internal.ts';
import { teamsOf } from '../protocol/addressing.ts';
import type { Ctx } from './context.ts';

type RecallCtx = Pick<Ctx, 'stores' | 'getSettings' | 'env' | 'observers'>;

/** The agents whose files this process has imported, per memory store (a test may run several). */
const imported = new WeakMap<object, Set<string>>();

/** Imports the agent's workspace `memory/*.md` files once per process (tried again at the next turn if the database failed); true when this call imported. */
async function importFilesOnce(ctx: RecallCtx, agentId: string): Promise<boolean> {
  const done = imported.get(ctx.stores.memory) ?? new Set<string>();
  imported.set(ctx.stores.memory, done);
  if (done.has(agentId)) return false;
  const files = readWorkspaceMemoryFiles(agentWorkspaceDir(ctx.getSettings(), agentId, ctx.env));
  if (files.length > 0) await importMemoryFiles(ctx.stores.memory, agentId, files);
  done.add(agentId);
  return files.length > 0;
}

const budgetOf = (settings: Settings, agentId: string): number => settings.agents?.[agentId]?.memory?.budget_tokens ?? DEFAULT_MEMORY_BUDGET_TOKENS;

/**
 * The scopes the batch's read asks about (`RunContextQuery.memoryScopes`): the agent's and its
 * teams'; none when recall is off. A task's project is not among them (known only once its
 * conversation is read), so a task's turn always recalls.
 */
export function memoryScopesToAsk(settings: Settings, agentId: string): MemoryScope[] {
  return budgetOf(settings, agentId) > 0 ? readableScopes(agentId, teamsOf(settings, agentId), null) : [];
}

/**
 * The block for the run's turn ('' when nothing is recalled); the conversation as the batch read it
 * (its sender names a task's project). `held`: the batch's read found no entry in the agent's and
 * its teams' scopes (false), so a turn outside a task searches nothing.
 */
export async function memoryForTurn(ctx: RecallCtx, run: RunRecord, conversation: Pick<ConversationRecord, 'senderId'>, message: string, held?: boolean): Promise<string> {
  const settings = ctx.getSettings();
  const budget = budgetOf(settings, run.agentId);
  if (budget <= 0) return '';
  const importedNow = await importFilesOnce(ctx, run.agentId);
  const project = await projectOfSender(ctx.stores, conversation.senderId);
  if (held === false && !importedNow && project === null) return '';
  const scopes = readableScopes(run.agentId, teamsOf(settings, run.agentId), project);
  const now = Date.now();
  const semantic = semanticRecallFor(ctx.stores.memoryVectors, embeddingsConfig(settings, ctx.env));
  const recall = await recallForTurn(ctx.stores.memory, { scopes, message, budgetTokens: budget, now }, semantic);
  if (recall.entries.length === 0) return '';
  const entryIds = recall.entries.map((e) => e.id);
  await ctx.stores.memory.recordInjection({ runId: run.id, agentId: run.agentId, entryIds, tokens: recall.tokens, budget, createdAt: now });
  if (ctx.observers.listening('memoryInjected')) ctx.observers.notify('memoryInjected', { run, entryIds, tokens: recall.tokens, budget });
  return recall.block;
}
