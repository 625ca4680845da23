/**
 * Provenance of inter-agent messages: the structured part (queue message `meta`) and the header
 * an agent reads. Every teammate, chat-room and sub-agent message says who sent it, in which
 * conversation and at which hop.
 */
import type { PingPongState } from '../guards/ping-pong.ts';

/**
 * What the orchestrator keeps in a queue message's `meta`. The run a message starts is the
 * message's own `runId` column (before migration 0010 it was kept in `meta` too).
 */
export interface MessageMeta {
  /** Sending agent, or null for a human. */
  from: string | null;
  /** Handoff hop: 0 for a human message, the sender's hop + 1 for a teammate or chat-room message. */
  hop: number;
  pingPong?: PingPongState;
  /** Chat-room deliveries: the room's team. */
  room?: string;
  /** Kept for transcripts: the body without the header. */
  body?: string;
  /** The run's working directory instead of the agent's workspace (a task's worktree); handoffs inherit it. */
  workdir?: string;
  /** The agents whose confinement follows the run this message starts (guards/confinement.ts); handoffs from a confined run carry it. */
  confinedBy?: string[];
  /** Every agent up the chain that started the run this message starts (guards/confinement.ts): whom the run's work may reach holds for each of them. */
  callers?: string[];
}

/** A message's provenance with the run it starts; undefined for a message that starts none. */
export interface MessageProvenance extends MessageMeta {
  runId: string;
}

export function readMeta(message: { runId: string | null; meta: Record<string, unknown> }): MessageProvenance | undefined {
  const meta = message.meta;
  // `meta.runId`: messages written before migration 0010 moved it to the column.
  const runId = message.runId ?? (typeof meta.runId === 'string' ? meta.runId : undefined);
  if (runId === undefined) return undefined;
  const hop = typeof meta.hop === 'number' ? meta.hop : 0;
  const from = typeof meta.from === 'string' ? meta.from : null;
  const out: MessageProvenance = { runId, from, hop };
  const pp = meta.pingPong as PingPongState | undefined;
  if (pp && typeof pp.count === 'number') out.pingPong = pp;
  if (typeof meta.room === 'string') out.room = meta.room;
  if (typeof meta.body === 'string') out.body = meta.body;
  if (typeof meta.workdir === 'string') out.workdir = meta.workdir;
  if (Array.isArray(meta.confinedBy)) out.confinedBy = meta.confinedBy.filter((id): id is string => typeof id === 'string');
  if (Array.isArray(meta.callers)) out.callers = meta.callers.filter((id): id is string => typeof id === 'string');
  return out;
}

export function teammateMessage(input: { from: string; teamId: string | null; hop: number; sharedContext: string; body: string }): string {
  const where = input.teamId ? ` in #${input.teamId}` : '';
  const header = `[Message from teammate @${input.from}${where} · hop ${input.hop}]`;
  if (input.sharedContext === '') return `${header}\n${input.body}`;
  return `${header}\n${input.sharedContext}\n\n------\nDirected to you:\n${input.body}`;
}

export function chatroomMessage(input: { from: string; teamId: string; text: string }): string {
  return `[Chat room #${input.teamId} — @${input.from}]: ${input.text}`;
}

export function subagentTask(input: { from: string; depth: number; task: string }): string {
  return `[Task from @${input.from} · sub-agent call at depth ${input.depth} — your final reply is returned to @${input.from}]\n${input.task}`;
}
