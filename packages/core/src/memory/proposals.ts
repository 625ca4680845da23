/**
 * What every surface does to memory, on any backend (docs/memory.md): an agent's proposals
 * (`remember`, `forget`), a person's decision on them, a person's own entries, edits and
 * retirements. The API routes and the agents' tools call these; each throws TinyError with a
 * message a person (or a model) can act on.
 */
import type { MemoryKind, MemoryRecord, MemoryScope } from '@tinyagi/client/contract';
import { TinyError } from '../errors.ts';
import { newId } from '../ids.ts';
import { contradicted, refuseSecret, searchTerms } from './proposal-checks.ts';
import type { MemoryPatch, MemoryStoreApi } from './store.ts';

export interface Provenance {
  conversationId?: string | null;
  runId?: string | null;
  messageId?: string | null;
  /** `@agent`, `cli`, `tinyoffice`, `import:memory/x.md`. */
  proposedBy: string;
}

/** The decider of an entry the scope's `auto_accept` setting accepted (stored before as `rule`, read as this: store.ts). */
export const AUTO_ACCEPT_DECIDER = 'auto_accept';

export interface RememberInput {
  scope: MemoryScope;
  kind: MemoryKind;
  text: string;
  reason: string;
  /** The entry this one replaces, as the agent says; else the closest one it contradicts, if any. */
  replaces?: string | undefined;
  provenance: Provenance;
  /** The kinds the scope's `auto_accept` accepts without a person. */
  autoAccept?: readonly MemoryKind[] | undefined;
}

export interface ProposalResult {
  entry: MemoryRecord;
  /** Accepted entries of the scope it seems to contradict, closest first. */
  similar: MemoryRecord[];
}

/** The accepted entry, or MEMORY_NOT_FOUND. */
export async function mustGetMemory(store: MemoryStoreApi, id: string): Promise<MemoryRecord> {
  const entry = await store.get(id);
  if (!entry) throw new TinyError('MEMORY_NOT_FOUND', `No memory entry ${id}.`, { hint: '`tinyagi memory list` shows the entries and proposals.' });
  return entry;
}

/** How many accepted entries of a scope a proposal is compared with for contradictions. */
const SIMILAR_CANDIDATES = 20;

/**
 * An agent's `remember`: refused when the text looks like a secret; a proposal that contradicts
 * an accepted entry of its scope and kind names it (`targetId`, replaced when accepted). Accepted
 * at once (decided by `auto_accept`) when the scope's `auto_accept` names its kind, unless it
 * replaces an entry (a person decides those).
 */
export async function proposeRemember(store: MemoryStoreApi, input: RememberInput, now = Date.now()): Promise<ProposalResult> {
  refuseSecret(input.text);
  if (input.replaces !== undefined) {
    const target = await mustGetMemory(store, input.replaces);
    if (target.scope.kind !== input.scope.kind || target.scope.id !== input.scope.id || target.status !== 'accepted') {
      throw new TinyError('INVALID_STATE', `Entry ${target.id} is not an accepted entry of ${input.scope.kind} ${input.scope.id}: a proposal replaces an entry of its own scope.`);
    }
  }
  const candidates = (await store.search(searchTerms(input.text), { scopes: [input.scope], status: 'accepted', action: 'remember', now, limit: SIMILAR_CANDIDATES })).map((s) => s.entry);
  const similar = contradicted(input.text, input.kind, candidates);
  const targetId = input.replaces ?? similar[0]?.id ?? null;
  const autoAccepted = targetId === null && input.autoAccept?.includes(input.kind) === true;
  const entry = await store.create({
    id: newId('mem'),
    scope: input.scope,
    kind: input.kind,
    action: 'remember',
    text: input.text,
    reason: input.reason,
    targetId,
    ...provenanceColumns(input.provenance),
    ...(autoAccepted ? { acceptedBy: AUTO_ACCEPT_DECIDER } : {}),
    now,
  });
  return { entry, similar };
}

/** An agent's `forget`: a proposal to retire an accepted entry, decided by a person. */
export async function proposeForget(store: MemoryStoreApi, input: { id: string; reason: string; provenance: Provenance }, now = Date.now()): Promise<ProposalResult> {
  const target = await mustGetMemory(store, input.id);
  if (target.status !== 'accepted' || target.action !== 'remember') throw new TinyError('INVALID_STATE', `Entry ${target.id} is ${target.status}: only an accepted entry can be forgotten.`);
  const entry = await store.create({
    id: newId('mem'),
    scope: target.scope,
    kind: target.kind,
    action: 'forget',
    text: target.text,
    reason: input.reason,
    targetId: target.id,
    ...provenanceColumns(input.provenance),
    now,
  });
  return { entry, similar: [target] };
}

/** A person adds an entry: accepted at once (and refused when it looks like a secret). */
export async function addMemory(
  store: MemoryStoreApi,
  input: { scope: MemoryScope; kind: MemoryKind; text: string; name?: string | undefined; pinned?: boolean | undefined; expiresAt?: number | undefined; by: string; source?: string },
  now = Date.now(),
): Promise<MemoryRecord> {
  refuseSecret(input.text);
  return store.create({
    id: newId('mem'),
    scope: input.scope,
    kind: input.kind,
    action: 'remember',
    text: input.text,
    name: input.name ?? null,
    pinned: input.pinned === true,
    expiresAt: input.expiresAt ?? null,
    proposedBy: input.source ?? input.by,
    acceptedBy: input.by,
    now,
  });
}

export interface DecideInput {
  decision: 'accept' | 'reject';
  by: string;
  text?: string | undefined;
  kind?: MemoryKind | undefined;
  pinned?: boolean | undefined;
  keepTarget?: boolean | undefined;
}

/** A person's decision on a proposal; the first decision wins (INVALID_STATE names who decided). */
export async function decideMemory(store: MemoryStoreApi, id: string, input: DecideInput, now = Date.now()): Promise<MemoryRecord> {
  const before = await mustGetMemory(store, id);
  if (input.text !== undefined) refuseSecret(input.text);
  const after = await store.decide(id, {
    status: input.decision === 'accept' ? 'accepted' : 'rejected',
    decidedBy: input.by,
    decidedAt: now,
    ...(input.text !== undefined && before.action === 'remember' ? { text: input.text } : {}),
    ...(input.kind !== undefined ? { kind: input.kind } : {}),
    ...(input.pinned !== undefined ? { pinned: input.pinned } : {}),
    ...(input.keepTarget !== undefined ? { keepTarget: input.keepTarget } : {}),
  });
  if (after) return after;
  const current = await mustGetMemory(store, id);
  throw new TinyError('INVALID_STATE', `Memory ${id} is ${current.status}${current.decidedBy ? ` (decided by ${current.decidedBy})` : ''}: only a proposal can be decided.`);
}

/** A person edits an accepted entry. */
export async function editMemory(store: MemoryStoreApi, id: string, patch: MemoryPatch, now = Date.now()): Promise<MemoryRecord> {
  if (patch.text !== undefined) refuseSecret(patch.text);
  const after = await store.update(id, patch, now);
  if (after) return after;
  const current = await mustGetMemory(store, id);
  throw new TinyError('INVALID_STATE', `Memory ${id} is ${current.status === 'accepted' ? 'a forget proposal' : current.status}: only an accepted entry can be edited.`);
}

/** A person retires an accepted entry at once (kept as history, never recalled). */
export async function retireMemory(store: MemoryStoreApi, id: string, by: string, now = Date.now()): Promise<MemoryRecord> {
  const after = await store.retire(id, by, now);
  if (after) return after;
  const current = await mustGetMemory(store, id);
  throw new TinyError('INVALID_STATE', `Memory ${id} is ${current.status}: only an accepted entry can be retired.`);
}

function provenanceColumns(p: Provenance): { conversationId: string | null; runId: string | null; messageId: string | null; proposedBy: string } {
  return { conversationId: p.conversationId ?? null, runId: p.runId ?? null, messageId: p.messageId ?? null, proposedBy: p.proposedBy };
}
