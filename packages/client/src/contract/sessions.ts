/**
 * Warm sessions (docs/sessions.md): the agent processes the session pool keeps between turns
 * on this node (agents with `process: "warm"`), and closing them by hand.
 */
import * as z from 'zod';
import { route } from './route.ts';
import { Int, NullableStr, Str, TimestampSchema } from './common.ts';

export const WarmSessionSchema = z
  .object({
    agentId: Str,
    /** The conversation's session key (`shared`, `sender:…`, `thread:…`). */
    sessionKey: Str,
    /** The runtime's executable (`claude`, `codex`, …). */
    driver: Str,
    pid: Int.nullable(),
    /** The runtime's own id of the session (Claude Code session, Codex thread, ACP session). */
    sessionId: NullableStr,
    /** The old name of sessionId, still sent for the clients that read it. */
    providerSessionId: NullableStr.meta({ deprecated: true, description: 'Deprecated: the old name of sessionId (the same value)' }),
    /** A turn is running on it now. */
    busy: z.boolean(),
    /** Turns this process has completed. */
    turns: Int,
    startedAt: TimestampSchema,
    /** When its last turn ended (or it started): idle since then unless busy. */
    lastUsedAt: TimestampSchema,
    /** Resident memory of the process and its children (bytes), where it can be read. */
    memoryBytes: Int.nullable(),
  })
  .meta({ id: 'WarmSession' });
export type WarmSession = z.infer<typeof WarmSessionSchema>;

export const WarmSessionsSchema = z.object({
  sessions: z.array(WarmSessionSchema),
  /** The pool's limits as configured from settings' `sessions` block. */
  limits: z.object({ maxTotal: Int, maxPerAgent: Int, idleMinutes: z.number(), memoryShare: z.number() }),
});
export type WarmSessions = z.infer<typeof WarmSessionsSchema>;

export const sessionsContract = {
  listSessions: route({
    method: 'GET',
    path: '/api/sessions',
    summary: 'The warm agent processes of this node (agents with process "warm"): pid, session id, turns, idle time, memory',
    tag: 'agents',
    response: WarmSessionsSchema,
  }),
  closeSessions: route({
    method: 'POST',
    path: '/api/sessions/close',
    summary: 'Close the warm processes of an agent (or one of its sessions); its next message starts one and resumes the session',
    tag: 'agents',
    body: z.object({ agent: Str, sessionKey: Str.optional() }),
    response: z.object({ ok: z.literal(true), closed: Int }),
  }),
} as const;
