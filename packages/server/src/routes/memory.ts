/**
 * Memory (docs/memory.md): people read, search, add, decide, edit and retire entries with the API
 * token (the CLI, TinyOffice); a running agent proposes (`remember`, `forget`) and searches
 * (`recall`) with its own run token, within the scopes it reads — its own, its teams', its task's
 * project's (core memory/scopes.ts) — and nothing else. Every write goes through core's memory
 * rules (secrets refused, contradictions named, the first decision wins).
 */
import type { MemoryScope, memoryContract } from '@tinyagi/client/contract';
import {
  addMemory,
  autoAcceptedKinds,
  decideMemory,
  editMemory,
  includesScope,
  mustGetMemory,
  projectOfConversation,
  proposeForget,
  proposeRemember,
  readableScopes,
  retireMemory,
  searchTerms,
} from '../core-internal.ts';
import { teamsOf } from '@tinyagi/teams/internal';
import type { ServerContext } from '../context.ts';
import { RequestError } from '../errors.ts';
import { decidedBy } from '../requested-by.ts';
import type { RouteHandlers } from '../routing.ts';
import type { AuthInfo } from '../security/guard.ts';

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

export function memoryRoutes(ctx: ServerContext): RouteHandlers<keyof typeof memoryContract> {
  const store = ctx.stores.memory;
  return {
    listMemory: async ({ query }) => {
      const scopes = query.scope !== undefined && query.id !== undefined ? [{ kind: query.scope, id: query.id }] : undefined;
      if (query.scope !== undefined && query.id === undefined) throw new RequestError('VALIDATION_FAILED', "Give the scope's id with `scope` (`?scope=team&id=dev`).");
      const filter = { scopes, status: query.status, limit: query.limit ?? 100 };
      if (query.q === undefined) return store.list(filter);
      return (await store.search(searchTerms(query.q), filter)).map((s) => s.entry);
    },
    getMemoryRecord: async ({ params }) => mustGetMemory(store, params.id),
    createMemory: async ({ body, auth, request }) =>
      addMemory(store, { scope: body.scope, kind: body.kind, text: body.text, name: body.name, pinned: body.pinned, expiresAt: body.expiresAt, by: decidedBy(auth, request, body.by) }),
    decideMemory: async ({ params, body, auth, request }) =>
      decideMemory(store, params.id, {
        decision: body.decision,
        by: decidedBy(auth, request, body.by),
        text: body.text,
        kind: body.kind,
        pinned: body.pinned,
        keepTarget: body.keepTarget,
      }),
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
      return proposeRemember(store, {
        scope,
        kind: body.kind,
        text: body.text,
        reason: body.reason,
        replaces: body.replaces,
        provenance: { conversationId: run.conversationId, runId: params.id, messageId: run.messageId, proposedBy: `@${run.agentId}` },
        autoAccept: autoAcceptedKinds(ctx.settings(), scope),
      });
    },
    recallForRun: async ({ params, query, auth }) => {
      ownRunOnly(auth, params.id, 'search memory for it');
      const run = await runScopes(ctx, params.id);
      const found = (await store.search(searchTerms(query.q), { scopes: run.scopes, status: 'accepted', action: 'remember', now: Date.now(), limit: query.limit ?? 10 })).map((s) => s.entry);
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
      return proposeForget(store, { id: body.id, reason: body.reason, provenance: { conversationId: run.conversationId, runId: params.id, messageId: run.messageId, proposedBy: `@${run.agentId}` } });
    },
    getRunMemoryInjection: async ({ params, auth }) => {
      if (auth.kind === 'run') ownRunOnly(auth, params.id, 'read what went into its context');
      await ctx.stores.runs.mustGetRun(params.id);
      return (await store.injectionOf(params.id)) ?? null;
    },
  };
}
