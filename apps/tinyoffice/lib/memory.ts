/**
 * Memory as the office shows it (docs/memory.md): the words for an entry's kind, status and
 * scope, and which scope the memory page shows (`?scope=agent&id=coder`; none: every scope). The
 * client's root entry is types only, so the kinds are listed here and the compiler checks them.
 */
import type { MemoryKind, MemoryRecord, MemoryScope, MemoryScopeKind, MemoryStatus } from '@tinyagi/client';

export const MEMORY_KIND_TEXT: Record<MemoryKind, string> = {
  fact: 'how things are',
  preference: 'how a person wants things',
  decision: 'what was decided and why',
  procedure: 'how to do something',
};
export const KINDS = Object.keys(MEMORY_KIND_TEXT) as MemoryKind[];

/** What each status means for the agents, said on the page. */
export const MEMORY_STATUS_TEXT: Record<MemoryStatus, string> = {
  proposed: 'waits for your decision; agents do not see it yet',
  accepted: 'agents are given it when it is relevant to a message (a pinned one in every turn)',
  rejected: 'turned down; kept as history, never given to an agent',
  retired: 'no longer true or wanted; kept as history, never given to an agent',
};

const SCOPE_KINDS: readonly MemoryScopeKind[] = ['agent', 'team', 'project'];

/** The scope the page's URL names, or null (every scope). */
export function scopeFromQuery(kind: string | null, id: string | null): MemoryScope | null {
  if (!id || !(SCOPE_KINDS as readonly string[]).includes(kind ?? '')) return null;
  return { kind: kind as MemoryScopeKind, id };
}

/** `@coder`, `team dev`, `project Website` (a project by its name when known). */
export function scopeName(scope: MemoryScope, projects: Readonly<Record<string, string>> = {}): string {
  if (scope.kind === 'agent') return `@${scope.id}`;
  if (scope.kind === 'team') return `team ${scope.id}`;
  return `project ${projects[scope.id] ?? scope.id}`;
}

/** Whose memory a scope is and who reads it, as a sentence: "Team dev’s memory: every member reads it." */
export function scopeReaders(scope: MemoryScope, projects: Readonly<Record<string, string>> = {}): string {
  if (scope.kind === 'agent') return `@${scope.id}’s own memory: only @${scope.id} reads it.`;
  if (scope.kind === 'team') return `Team ${scope.id}’s memory: every member reads it.`;
  return `Project ${projects[scope.id] ?? scope.id}’s memory: the agents working on its tasks read it.`;
}

/** The memory page of a scope. */
export function memoryHref(scope: MemoryScope): string {
  return `/memory?${new URLSearchParams({ scope: scope.kind, id: scope.id })}`;
}

/** The proposal's heading: who proposes what. */
export function proposalHeading(p: MemoryRecord, projects: Readonly<Record<string, string>> = {}): string {
  const who = p.provenance.proposedBy;
  if (p.action === 'forget') return `${who} proposes to forget an entry of ${scopeName(p.scope, projects)}`;
  return `${who} proposes a ${p.kind} for ${scopeName(p.scope, projects)}`;
}

/** What became of a decided or retired record, in one line: "Accepted by tinyoffice at …". */
export function outcomeLine(e: MemoryRecord): string {
  const at = e.decidedAt === null ? '' : ` on ${when(e.decidedAt)}`;
  const by = e.decidedBy === null ? '' : ` by ${e.decidedBy}`;
  if (e.status === 'accepted') return `Accepted${by}${at}`;
  if (e.status === 'rejected') return `Rejected${by}${at}`;
  if (e.status === 'retired') return `Retired${by}${at}`;
  return 'Waiting for a decision';
}

export const when = (ts: number): string => new Date(ts).toLocaleString();

/** Replaces records by id, newest copy wins; keeps the order of `list`, new ones first. */
export function withRecords(list: readonly MemoryRecord[], more: readonly MemoryRecord[]): MemoryRecord[] {
  const byId = new Map(more.map((r) => [r.id, r]));
  const known = new Set(list.map((r) => r.id));
  return [...more.filter((r) => !known.has(r.id)), ...list.map((r) => byId.get(r.id) ?? r)];
}
