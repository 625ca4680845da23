/** Warm sessions of this node's session pool (docs/sessions.md): listed and closed by hand. */
import { sessionPool } from '@tinyagi/core';
import type { sessionsContract } from '@tinyagi/client/contract';
import type { ServerContext } from '../context.ts';
import type { RouteHandlers } from '../routing.ts';
import { requireAgent } from '../core-internal.ts';

export function sessionRoutes(ctx: ServerContext): RouteHandlers<keyof typeof sessionsContract> {
  return {
    listSessions: () => {
      const o = sessionPool.options;
      return {
        // providerSessionId: the old name of sessionId, still sent (docs/api.md).
        sessions: sessionPool.list().map((s) => ({ ...s, pid: s.pid ?? null, sessionId: s.sessionId ?? null, providerSessionId: s.sessionId ?? null, memoryBytes: s.memoryBytes ?? null })),
        limits: { maxTotal: o.maxTotal, maxPerAgent: o.maxPerAgent, idleMinutes: o.idleMs / 60_000, memoryShare: o.memoryShare },
      };
    },
    closeSessions: async ({ body }) => {
      requireAgent(ctx.settings(), body.agent);
      return { ok: true as const, closed: await sessionPool.closeAgent(body.agent, body.sessionKey, 'closed by hand') };
    },
  };
}
