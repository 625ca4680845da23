/**
 * Memory entries (`memory_entries`, docs/memory.md): what agents proposed and people (or a scope's
 * `auto_accept`) decided, per scope (an agent, a team, a project), with provenance. The stores keep
 * rows and search them; the checks (secrets refused, contradictions found) are ./proposal-checks.ts.
 *
 * Contract:
 * - A proposal is written `proposed`, or `accepted` at once when `acceptedBy` is given (a person
 *   adding, a scope's `auto_accept`, an import).
 * - `decide` writes only while the entry is `proposed` (it returns undefined otherwise), so the
 *   first decision wins across processes and nodes. Accepting a `remember` that names a target
 *   retires the target in the same transaction (unless `keepTarget`); accepting a `forget` retires
 *   its target.
 * - `search` is full-text (SQLite FTS5 with the porter stemmer; PostgreSQL's `english` text search),
 *   `score` higher is better; only entries of the given scopes, statuses and actions, not expired.
 * - `recall` is what a turn reads: the pinned and the best-matching accepted entries of the
 *   scopes, and nothing at all (no search) when the scopes hold no accepted entry. Its search
 *   leaves out the message's most common words when they would match more than
 *   RECALL_MATCH_BUDGET entries (rarestTerms; PostgreSQL applies the same rule in SQL), and ranks
 *   what it found. It asks the database every time (one statement on PostgreSQL), so it is right
 *   on every node.
 * - `createIfAbsent` writes nothing when the id exists (an import's ids are derived from the file).
 */
import type { MemoryAction, MemoryInjection, MemoryKind, MemoryRecord, MemoryScope, MemoryStatus } from '@tinyagi/client/contract';
import type { MemoryEntryRow, MemoryInjectionRow } from '../storage/rows.ts';
import type { Awaitable } from '../storage/transaction.ts';

/** A memory entry or proposal (the API's `MemoryRecord`). */
export type { MemoryRecord };

export interface MemoryCreateInput {
  id: string;
  scope: MemoryScope;
  kind: MemoryKind;
  action: MemoryAction;
  text: string;
  name?: string | null;
  summary?: string | null;
  reason?: string | null;
  targetId?: string | null;
  pinned?: boolean;
  expiresAt?: number | null;
  conversationId?: string | null;
  runId?: string | null;
  messageId?: string | null;
  proposedBy: string;
  /** Accepted at once, decided by this (a person adding, `auto_accept`, an import). */
  acceptedBy?: string;
  now: number;
}

export interface MemoryDecision {
  status: 'accepted' | 'rejected';
  decidedBy: string;
  decidedAt: number;
  /** Edit then accept. */
  text?: string;
  kind?: MemoryKind;
  pinned?: boolean;
  /** Accept a replacing proposal but keep the entry it would replace. */
  keepTarget?: boolean;
}

export interface MemoryPatch {
  text?: string;
  kind?: MemoryKind;
  pinned?: boolean;
  expiresAt?: number | null;
}

export interface MemoryFilter {
  /** Any of these scopes; undefined: every scope. */
  scopes?: readonly MemoryScope[] | undefined;
  status?: MemoryStatus | undefined;
  action?: MemoryAction | undefined;
  /** Leave out entries expired at this time. */
  now?: number | undefined;
  limit?: number | undefined;
}

export interface ScoredMemory {
  entry: MemoryRecord;
  /** Full-text relevance, higher is better (comparable within one search only). */
  score: number;
}

/** What a turn's recall reads (`recall`). */
export interface RecallCandidates {
  /** The accepted, pinned, unexpired entries of the scopes, newest first. */
  pinned: MemoryRecord[];
  /** The accepted, unexpired entries matching the terms, best first (pinned ones may be among them). */
  ranked: ScoredMemory[];
}

export interface MemoryStoreApi {
  create(input: MemoryCreateInput): Awaitable<MemoryRecord>;
  /** `create`, unless an entry with this id exists: then undefined and nothing is written. */
  createIfAbsent(input: MemoryCreateInput): Awaitable<MemoryRecord | undefined>;
  get(id: string): Awaitable<MemoryRecord | undefined>;
  /** Newest first. */
  list(filter?: MemoryFilter): Awaitable<MemoryRecord[]>;
  /** Full-text search: `terms` are plain words (searchTerms); best first. No terms: nothing. */
  search(terms: readonly string[], filter?: MemoryFilter): Awaitable<ScoredMemory[]>;
  /** The accepted, pinned, unexpired `remember` entries of the scopes, newest first. */
  pinned(scopes: readonly MemoryScope[], now: number): Awaitable<MemoryRecord[]>;
  /** A turn's recall: pinned and ranked candidates of the scopes (at most `limit` ranked); both empty, without searching, when the scopes hold no accepted entry. */
  recall(scopes: readonly MemoryScope[], terms: readonly string[], now: number, limit: number): Awaitable<RecallCandidates>;
  /** Decides a proposal (see the contract above); undefined when it is not `proposed`. */
  decide(id: string, decision: MemoryDecision): Awaitable<MemoryRecord | undefined>;
  /** Edits an accepted entry; undefined when it is not `accepted`. */
  update(id: string, patch: MemoryPatch, now: number): Awaitable<MemoryRecord | undefined>;
  /** Retires an accepted entry; undefined when it is not `accepted`. */
  retire(id: string, by: string, now: number): Awaitable<MemoryRecord | undefined>;
  /** Records that the entries went into a context (or a recall's answer). */
  markUsed(ids: readonly string[], now: number): Awaitable<void>;
  /** Records what went into a run's context, and that its entries were used then (`lastUsedAt`). */
  recordInjection(injection: MemoryInjection & { agentId: string }): Awaitable<void>;
  injectionOf(runId: string): Awaitable<MemoryInjection | undefined>;
  /** The injections of these runs (those that had one), by run id. */
  injectionsOf(runIds: readonly string[]): Awaitable<Map<string, MemoryInjection>>;
}

/** @internal Row mapping shared by the SQLite and PostgreSQL stores. */
export function toMemory(r: MemoryEntryRow): MemoryRecord {
  return {
    id: r.id,
    scope: { kind: r.scope_kind as MemoryScope['kind'], id: r.scope_id },
    kind: r.kind as MemoryKind,
    action: r.action as MemoryAction,
    status: r.status as MemoryStatus,
    text: r.text,
    name: r.name,
    summary: r.summary,
    reason: r.reason,
    targetId: r.target_id,
    pinned: Number(r.pinned) === 1,
    provenance: { conversationId: r.conversation_id, runId: r.run_id, messageId: r.message_id, proposedBy: r.proposed_by },
    // Entries accepted by a scope's auto_accept were once stored as decided by `rule`.
    decidedBy: r.decided_by === 'rule' ? 'auto_accept' : r.decided_by,
    decidedAt: r.decided_at,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    lastUsedAt: r.last_used_at,
    expiresAt: r.expires_at,
  };
}

/** @internal */
export function toInjection(r: MemoryInjectionRow): MemoryInjection {
  return { runId: r.run_id, entryIds: JSON.parse(r.entry_ids) as string[], tokens: r.tokens, budget: r.budget, createdAt: r.created_at };
}

/** @internal The insert's values, in MEMORY_INSERT_COLUMNS order. */
export function insertValues(input: MemoryCreateInput): unknown[] {
  const accepted = input.acceptedBy !== undefined;
  return [
    input.id,
    input.scope.kind,
    input.scope.id,
    input.kind,
    input.action,
    accepted ? 'accepted' : 'proposed',
    input.text,
    input.name ?? null,
    input.summary ?? null,
    input.reason ?? null,
    input.targetId ?? null,
    input.pinned ? 1 : 0,
    input.conversationId ?? null,
    input.runId ?? null,
    input.messageId ?? null,
    input.proposedBy,
    accepted ? input.acceptedBy : null,
    accepted ? input.now : null,
    input.now,
    input.now,
    input.expiresAt ?? null,
  ];
}

export const MEMORY_INSERT_COLUMNS =
  'id, scope_kind, scope_id, kind, action, status, text, name, summary, reason, target_id, pinned, conversation_id, run_id, message_id, proposed_by, decided_by, decided_at, created_at, updated_at, expires_at';

/** @internal Every column a record reads (PostgreSQL's `search` vector is left in the database). */
export const MEMORY_COLUMNS = `${MEMORY_INSERT_COLUMNS}, last_used_at`;

/**
 * How many entries a turn's search may match before its most common words are left out: ranking
 * is what a search costs, per match, and a word thousands of entries share ranks them little.
 */
export const RECALL_MATCH_BUDGET = 1000;

/**
 * @internal The words a turn's search keeps: the rarest first (a word no entry has is left out),
 * while their entries together stay within RECALL_MATCH_BUDGET, and always the rarest one.
 */
export function rarestTerms(counted: ReadonlyArray<{ term: string; entries: number }>, budget = RECALL_MATCH_BUDGET): string[] {
  const kept: string[] = [];
  let total = 0;
  for (const { term, entries } of counted.filter((c) => c.entries > 0).sort((a, b) => a.entries - b.entries)) {
    if (kept.length > 0 && total + entries > budget) break;
    kept.push(term);
    total += entries;
  }
  return kept;
}

/** @internal The clause an entry that can be recalled meets (with the scope's and the expiry's). */
export const RECALLABLE = "status = 'accepted' AND action = 'remember'";

/**
 * @internal The WHERE clauses of a filter, with `param(i)` naming the i-th parameter (`?` on
 * SQLite, `$n` on PostgreSQL) and the table's alias prefix.
 */
export function filterClauses(filter: MemoryFilter, param: (value: unknown) => string, alias = ''): string[] {
  const where: string[] = [];
  if (filter.scopes !== undefined) {
    if (filter.scopes.length === 0) where.push('1 = 0');
    else where.push(`(${filter.scopes.map((s) => `(${alias}scope_kind = ${param(s.kind)} AND ${alias}scope_id = ${param(s.id)})`).join(' OR ')})`);
  }
  if (filter.status) where.push(`${alias}status = ${param(filter.status)}`);
  if (filter.action) where.push(`${alias}action = ${param(filter.action)}`);
  if (filter.now !== undefined) where.push(`(${alias}expires_at IS NULL OR ${alias}expires_at > ${param(filter.now)})`);
  return where;
}
