/**
 * The run tree of a conversation, built either from the `runs` table or from events alone
 * (every run event carries run id, parent run id, depth and agent). Both use the one builder of
 * `@tinyagi/client` (run-tree.ts) that TinyOffice and the visualizer use, so the API, the pages and
 * the dashboard nest runs by the same rules; the tests prove the event stream is complete enough
 * for a UI to rebuild the tree.
 */
import { applyRunEvents, emptyRunTree, runTreeFromRecords, runTreeRecords, type RunNode, type RunSteerEntry } from '@tinyagi/client';
import type { MemoryInjection } from '@tinyagi/client/contract';
import type { ConversationRecord, RunRecord, TinyEvent } from '@tinyagi/core';

export type { RunNode };

export interface ConversationTree {
  conversation: ConversationRecord;
  roots: RunNode[];
}

/** Nests nodes (flat, in creation order) by parent; a node whose parent is not in the list is a root. Order is kept. */
export function nestRuns(nodes: readonly RunNode[]): RunNode[] {
  return runTreeRecords(runTreeFromRecords(nodes));
}

export function runNode(run: RunRecord, steering?: readonly RunSteerEntry[], memory?: MemoryInjection): RunNode {
  return {
    runId: run.id,
    agentId: run.agentId,
    parentRunId: run.parentRunId,
    depth: run.depth,
    cause: run.cause,
    status: run.status,
    inputTokens: run.inputTokens,
    outputTokens: run.outputTokens,
    costUsd: run.costUsd,
    error: run.error,
    startedAt: run.startedAt,
    endedAt: run.endedAt,
    ...(run.node ? { node: run.node } : {}),
    ...(steering && steering.length > 0 ? { steering: [...steering] } : {}),
    ...(memory ? { memory } : {}),
    children: [],
  };
}

/** Folds a conversation's events (any order; duplicates ignored) into the tree. */
export function runTreeFromEvents(events: readonly TinyEvent[]): RunNode[] {
  return runTreeRecords(applyRunEvents(emptyRunTree(), events));
}
