/**
 * Sub-agent admission: the in-process bookkeeping that decides whether a spawn may start,
 * before any process is started or model called. Pure and allocation-light (the benchmark
 * measures it through `admitSpawn`); the orchestrator gathers the snapshot.
 *
 * Depth: a human-triggered run is depth 0, a child runs at parent + 1. The cap a child lives
 * under is min(the cap its parent inherited, the child agent's own effective max_depth), so a
 * subtree can only tighten the recursion limit, never loosen it.
 */
import { formatUsd, scaled } from '../guards/limits.ts';

export type SpawnRefusalCode = 'DEPTH_LIMIT' | 'CHILD_LIMIT' | 'CONCURRENCY_LIMIT' | 'SPAWN_LIMIT' | 'BUDGET_EXCEEDED' | 'TIMEOUT';

export interface AdmissionSnapshot {
  parentDepth: number;
  /** The cap the parent run lives under. */
  parentMaxDepth: number;
  /** The child agent's own effective max_depth (settings: global, team, agent). */
  childMaxDepth: number;
  /** Children the parent already spawned (started or finished, not refused). */
  parentChildren: number;
  /** Children of the parent running now. */
  parentRunningChildren: number;
  conversationSpawns: number;
  treeCostUsd: number;
  treeTokens: number;
  treeStartedAt: number;
  limitScale: number;
  now: number;
  limits: {
    max_children_per_run: number;
    max_concurrent_children: number;
    max_spawns_per_conversation: number;
    conversation_timeout_s: number;
  };
  budgets: { conversation_usd?: number | undefined; conversation_tokens?: number | undefined };
}

export type Admission =
  | { ok: true; depth: number; maxDepth: number }
  | { ok: false; code: SpawnRefusalCode; limitName: string; limit: number; actual: number; depth: number; maxDepth: number; message: string };

export function admitSpawn(s: AdmissionSnapshot): Admission {
  const depth = s.parentDepth + 1;
  const maxDepth = Math.min(s.parentMaxDepth, s.childMaxDepth);
  const refuse = (code: SpawnRefusalCode, limitName: string, limit: number, actual: number, message: string): Admission => ({ ok: false, code, limitName, limit, actual, depth, maxDepth, message });

  if (depth > maxDepth) {
    return refuse(
      'DEPTH_LIMIT',
      'max_depth',
      maxDepth,
      depth,
      `depth limit reached: a sub-agent here would run at depth ${depth}, the limit is ${maxDepth}. Do the work yourself or return what you have.`,
    );
  }
  if (s.parentChildren >= s.limits.max_children_per_run) {
    return refuse(
      'CHILD_LIMIT',
      'max_children_per_run',
      s.limits.max_children_per_run,
      s.parentChildren,
      `child limit reached: this run already started ${s.parentChildren} sub-agents (limit ${s.limits.max_children_per_run}).`,
    );
  }
  if (s.parentRunningChildren >= s.limits.max_concurrent_children) {
    return refuse(
      'CONCURRENCY_LIMIT',
      'max_concurrent_children',
      s.limits.max_concurrent_children,
      s.parentRunningChildren,
      `concurrency limit reached: ${s.parentRunningChildren} sub-agents of this run are still running (limit ${s.limits.max_concurrent_children}); wait for one to finish.`,
    );
  }
  const spawnLimit = scaled(s.limits.max_spawns_per_conversation, s.limitScale);
  if (s.conversationSpawns >= spawnLimit) {
    return refuse(
      'SPAWN_LIMIT',
      'max_spawns_per_conversation',
      spawnLimit,
      s.conversationSpawns,
      `spawn limit reached: this conversation already started ${s.conversationSpawns} sub-agents (limit ${spawnLimit}).`,
    );
  }
  const timeoutS = scaled(s.limits.conversation_timeout_s, s.limitScale);
  const ageS = (s.now - s.treeStartedAt) / 1000;
  if (ageS >= timeoutS) {
    return refuse('TIMEOUT', 'conversation_timeout', timeoutS, Math.round(ageS), `time limit reached: this conversation has run for ${Math.round(ageS)} s (limit ${timeoutS} s).`);
  }
  if (s.budgets.conversation_usd !== undefined) {
    const limit = scaled(s.budgets.conversation_usd, s.limitScale);
    if (s.treeCostUsd >= limit) {
      return refuse('BUDGET_EXCEEDED', 'conversation_usd', limit, s.treeCostUsd, `budget exhausted: this conversation has spent ${formatUsd(s.treeCostUsd)} of ${formatUsd(limit)}.`);
    }
  }
  if (s.budgets.conversation_tokens !== undefined) {
    const limit = scaled(s.budgets.conversation_tokens, s.limitScale);
    if (s.treeTokens >= limit) {
      return refuse('BUDGET_EXCEEDED', 'conversation_tokens', limit, s.treeTokens, `token budget exhausted: this conversation has used ${s.treeTokens} of ${limit} tokens.`);
    }
  }
  return { ok: true, depth, maxDepth };
}
