/**
 * Memory (docs/memory.md): people read, search, add, decide, edit and retire entries with the API
 * token (the CLI, TinyOffice); a running agent proposes (`remember`, `forget`) and searches
 * (`recall`) with its own run token, within the scopes it reads — its own, its teams', its task's
 * project's (core memory/scopes.ts) — and nothing else. Every write goes through core's memory
 * rules (secrets refused, contradictions named, the first decision wins). A proposal waiting for a
 * person is announced (`memory.proposed`, with the entry it replaces or forgets) and its decision too
 * (`memory.decided`), so a chat channel posts it into the conversation's chat and settles it there; a
 * channel-scoped token reads and decides the proposals of its own conversations, for a paired sender
 * of its channel the agent's `permissions.approvers` allow (as for approval requests).
 */
import type { MemoryRecord, MemoryScope, memoryContract } from '@tinyagi/client/contract';
import {
  addMemory,
  agentWorkspaceDir,
  autoAcceptedKinds,
  decideMemory,
  editMemory,
  embeddingsConfig,
  exportMemoryFiles,
  importMemoryFiles,
  includesScope,
  mustGetMemory,
  ownEntry,
  projectOfConversation,
  proposeForget,
  proposeRemember,
  readableScopes,
  readWorkspaceMemoryFiles,
  requireAgent,
  retireMemory,
  searchMemory,
  searchTerms,
  semanticRecallFor,
} from '../core-internal.ts';
import { teamsOf } from '@tinyagi/teams/internal';
import type { ServerContext } from '../context.ts';
import { RequestError } from '../errors.ts';
import { decidedBy } from '../requested-by.ts';
import type { RouteHandlers } from '../routing.ts';
import type { AuthInfo } from '../security/guard.ts';
import { requirePairedSender } from '../security/paired-sender.ts';
import { approverMatches } from './approvals.ts';

function ownRunOnly(auth: AuthInfo, runId: string, what: string): void {
  if (auth.kind !== 'run' || auth.runId !== runId) throw new RequestError('SCOPE_FORBIDDEN', `Only the run itself (its run-scoped token) may ${what}.`);
}

/** The run's agent, conversation and the scopes it reads. */
async function runScopes(ctx: ServerContext, runId: string): Promise<{ agentId: string; conversationId: string; messageId: string | null; scopes: MemoryScope[] }> {
  const run = await ctx.stores.runs.mustGetRun(runId);
  const projectId = await projectOfConversation(ctx.stores, run.conversationId);
  return {
    agentId: run.agentId,
    conversationId: run.conversationId,
    messageId: run.messageIds[0] ?? null,
    scopes: readableScopes(run.agentId, teamsOf(ctx.settings(), run.agentId), projectId),
  };
}

function forbiddenScope(scope: MemoryScope): RequestError {
  return new RequestError('SCOPE_FORBIDDEN', `This run may not use the memory of ${scope.kind} ${scope.id}: an agent reads and proposes to its own memory, its teams' and its task's project's only.`);
}

/** The agent a proposal came from: its run's, else the agent whose memory it is. */
async function agentOf(ctx: ServerContext, entry: MemoryRecord): Promise<string | null> {
  const run = entry.provenance.runId ? await ctx.stores.runs.getRun(entry.provenance.runId) : undefined;
  return run?.agentId ?? (entry.scope.kind === 'agent' ? entry.scope.id : null);
}

/** A proposal waiting for a person, announced with the entry it replaces or forgets. */
async function announceProposal(ctx: ServerContext, entry: MemoryRecord, agentId: string): Promise<void> {
  if (entry.status !== 'proposed') return;
  const target = entry.targetId ? ((await ctx.stores.memory.get(entry.targetId)) ?? null) : null;
  await ctx.stores.events.append({ type: 'memory.proposed', conversationId: entry.provenance.conversationId, runId: entry.provenance.runId, agentId, data: { entry, target } });
}

/**
 * A channel decides for a person of its chat: it names them (`<channel>:<sender id>`), who must be
 * paired on it and, when the proposing agent lists `permissions.approvers`, match one of them.
 */
async function mayDecide(ctx: ServerContext, channel: string, id: string, by: string | undefined): Promise<void> {
  const prefix = `${channel}:`;
  if (by === undefined || !by.startsWith(prefix) || by.length === prefix.length) {
    throw new RequestError('SCOPE_FORBIDDEN', `A channel decides for one of its senders: send "by": "${prefix}<sender id>".`);
  }
  await requirePairedSender(ctx.pairings, channel, by.slice(prefix.length), 'decide memory proposals');
  const agentId = await agentOf(ctx, await mustGetMemory(ctx.stores.memory, id));
  const approvers = agentId === null ? undefined : ownEntry(ctx.settings().agents, agentId)?.permissions?.approvers;
  if (approvers !== undefined && !approvers.some((pattern) => approverMatches(pattern, by))) {
    throw new RequestError('SCOPE_FORBIDDEN', `Only the approvers of @${agentId} may decide (its permissions.approvers); ${by} is not one of them.`);
  }
}

/** The entries whose conversation came in through `channel`, newest first. */
async function ofChannel(ctx: ServerContext, entries: MemoryRecord[], channel: string, limit: number): Promise<MemoryRecord[]> {
  const channels = new Map<string, string | null>();
  const kept: MemoryRecord[] = [];
  for (const entry of entries) {
    const id = entry.provenance.conversationId;
    if (id === null) continue;
    if (!channels.has(id)) channels.set(id, (await ctx.stores.runs.getConversation(id))?.channel ?? null);
    if (channels.get(id) === channel) kept.push(entry);
    if (kept.length >= limit) break;
  }
  return kept;
}

export function memoryRoutes(ctx: ServerContext): RouteHandlers<keyof typeof memoryContract> {
  const store = ctx.stores.memory;
  return {
    listMemory: async ({ query }) => {
      const scopes = query.scope !== undefined && query.id !== undefined ? [{ kind: query.scope, id: query.id }] : undefined;
      if (query.scope !== undefined && query.id === undefined) throw new RequestError('VALIDATION_FAILED', "Give the scope's id with `scope` (`?scope=team&id=dev`).");
      const filter = { scopes, status: query.status, limit: query.limit ?? 100 };
      if (query.channel !== undefined && query.q === undefined) return ofChannel(ctx, await store.list({ ...filter, limit: 1000 }), query.channel, filter.limit);
      if (query.q === undefined) return store.list(filter);
      return (await store.search(searchTerms(query.q), filter)).map((s) => s.entry);
    },
    getMemoryRecord: async ({ params }) => mustGetMemory(store, params.id),
    importMemory: async ({ body }) => {
      const settings = ctx.settings();
      requireAgent(settings, body.agentId);
      return importMemoryFiles(store, body.agentId, body.files ?? readWorkspaceMemoryFiles(agentWorkspaceDir(settings, body.agentId, ctx.env)));
    },
    exportMemory: async ({ query }) => exportMemoryFiles(store, query.agent),
    createMemory: async ({ body, auth, request }) =>
      addMemory(store, { scope: body.scope, kind: body.kind, text: body.text, name: body.name, pinned: body.pinned, expiresAt: body.expiresAt, by: decidedBy(auth, request, body.by) }),
    decideMemory: async ({ params, body, auth, request }) => {
      if (auth.kind === 'channel') await mayDecide(ctx, auth.channel, params.id, body.by);
      const entry = await decideMemory(store, params.id, {
        decision: body.decision,
        by: decidedBy(auth, request, body.by),
        text: body.text,
        kind: body.kind,
        pinned: body.pinned,
        keepTarget: body.keepTarget,
      });
      await ctx.stores.events.append({ type: 'memory.decided', conversationId: entry.provenance.conversationId, runId: entry.provenance.runId, agentId: await agentOf(ctx, entry), data: { entry } });
      return entry;
    },
    updateMemory: async ({ params, body }) =>
      editMemory(store, params.id, {
        ...(body.text !== undefined ? { text: body.text } : {}),
        ...(body.kind !== undefined ? { kind: body.kind } : {}),
        ...(body.pinned !== undefined ? { pinned: body.pinned } : {}),
        ...(body.expiresAt !== undefined ? { expiresAt: body.expiresAt } : {}),
      }),
    retireMemory: async ({ params, body, auth, request }) => retireMemory(store, params.id, decidedBy(auth, request, body.by)),

    rememberForRun: async ({ params, body, auth }) => {
      ownRunOnly(auth, params.id, 'propose a memory for it');
      const run = await runScopes(ctx, params.id);
      const kind = body.scope ?? 'agent';
      const id = body.scopeId ?? (kind === 'agent' ? run.agentId : kind === 'project' ? run.scopes.find((s) => s.kind === 'project')?.id : undefined);
      if (id === undefined)
        throw new RequestError('VALIDATION_FAILED', kind === 'team' ? 'Name the team (`scopeId`).' : 'This conversation works on no task of a project: there is no project memory to propose to.');
      const scope: MemoryScope = { kind, id };
      if (!includesScope(run.scopes, scope)) throw forbiddenScope(scope);
      const proposal = await proposeRemember(store, {
        scope,
        kind: body.kind,
        text: body.text,
        reason: body.reason,
        replaces: body.replaces,
        provenance: { conversationId: run.conversationId, runId: params.id, messageId: run.messageId, proposedBy: `@${run.agentId}` },
        autoAccept: autoAcceptedKinds(ctx.settings(), scope),
      });
      await announceProposal(ctx, proposal.entry, run.agentId);
      return proposal;
    },
    recallForRun: async ({ params, query, auth }) => {
      ownRunOnly(auth, params.id, 'search memory for it');
      const run = await runScopes(ctx, params.id);
      // The turn's recall path: full text, and the closest in meaning when memory.embeddings is set.
      const semantic = semanticRecallFor(ctx.stores.memoryVectors, embeddingsConfig(ctx.settings(), ctx.env));
      const found = await searchMemory(store, query.q, { scopes: run.scopes, status: 'accepted', action: 'remember', now: Date.now(), limit: query.limit ?? 10 }, semantic);
      await store.markUsed(
        found.map((e) => e.id),
        Date.now(),
      );
      return found;
    },
    forgetForRun: async ({ params, body, auth }) => {
      ownRunOnly(auth, params.id, 'propose to forget a memory for it');
      const run = await runScopes(ctx, params.id);
      const target = await mustGetMemory(store, body.id);
      if (!includesScope(run.scopes, target.scope)) throw forbiddenScope(target.scope);
      const proposal = await proposeForget(store, {
        id: body.id,
        reason: body.reason,
        provenance: { conversationId: run.conversationId, runId: params.id, messageId: run.messageId, proposedBy: `@${run.agentId}` },
      });
      await announceProposal(ctx, proposal.entry, run.agentId);
      return proposal;
    },
    getRunMemoryInjection: async ({ params, auth }) => {
      if (auth.kind === 'run') ownRunOnly(auth, params.id, 'read what went into its context');
      await ctx.stores.runs.mustGetRun(params.id);
      return (await store.injectionOf(params.id)) ?? null;
    },
  };
}
