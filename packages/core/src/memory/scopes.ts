/**
 * Which memory an agent reads and may propose to (docs/memory.md): its own (`agent`), each team it
 * belongs to (`team`), and the project of the task its conversation works on (`project`: the task
 * that started the conversation, a message from `task:<id>`). Nothing else: a run token's reads and
 * proposals are checked against this list, and recall before a turn reads exactly these.
 */
import type { MemoryKind, MemoryScope } from '@tinyagi/client/contract';
import type { Settings } from '../config/schema.ts';
import type { RunStoreApi } from '../runs/store.ts';
import type { TaskStoreApi } from '../tasks/store.ts';

export function readableScopes(agentId: string, teamIds: readonly string[], projectId: string | null): MemoryScope[] {
  return [{ kind: 'agent', id: agentId }, ...teamIds.map((id) => ({ kind: 'team' as const, id })), ...(projectId ? [{ kind: 'project' as const, id: projectId }] : [])];
}

export function includesScope(scopes: readonly MemoryScope[], scope: MemoryScope): boolean {
  return scopes.some((s) => s.kind === scope.kind && s.id === scope.id);
}

/** The project of the task that started the conversation, or null. */
export async function projectOfConversation(stores: { runs: Pick<RunStoreApi, 'getConversation'>; tasks: Pick<TaskStoreApi, 'getTask'> }, conversationId: string): Promise<string | null> {
  const conversation = await stores.runs.getConversation(conversationId);
  return conversation === undefined ? null : projectOfSender(stores, conversation.senderId);
}

/** The same for a conversation already read (its sender): a task's conversation is `task:<id>`; any other reads nothing. */
export async function projectOfSender(stores: { tasks: Pick<TaskStoreApi, 'getTask'> }, senderId: string): Promise<string | null> {
  if (!senderId.startsWith('task:')) return null;
  return (await stores.tasks.getTask(senderId.slice('task:'.length)))?.projectId ?? null;
}

/** The kinds a scope's `auto_accept` accepts without a person: `agents.<id>.memory.auto_accept`, `teams.<id>.memory.auto_accept`, `memory.projects.<id>.auto_accept`. */
export function autoAcceptedKinds(settings: Settings, scope: MemoryScope): readonly MemoryKind[] {
  if (scope.kind === 'agent') return settings.agents?.[scope.id]?.memory?.auto_accept ?? [];
  if (scope.kind === 'team') return settings.teams?.[scope.id]?.memory?.auto_accept ?? [];
  return settings.memory?.projects?.[scope.id]?.auto_accept ?? [];
}
