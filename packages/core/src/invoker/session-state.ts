/**
 * What the CLI runtimes keep about a session between turns (`InvokeSession.runtimeState`,
 * stored with the session), and the fresh start a retry makes when the CLI cannot resume from
 * before the failed attempt's half turn.
 */
import { parseJsonRecord, type JsonRecord } from './json-read.ts';
import type { InvokeSession, SessionMessage } from './types.ts';

/** The runtime's state of the session it resumes; undefined when none was stored or it is unreadable. */
export function readRuntimeState(session: InvokeSession | undefined): JsonRecord | undefined {
  return session?.runtimeState ? parseJsonRecord(session.runtimeState) : undefined;
}

/** The session to continue: none when the caller asks for a fresh one. */
export function resumeIdOf(session: InvokeSession | undefined): string | undefined {
  return session?.fresh ? undefined : (session?.resumeId ?? undefined);
}

/**
 * What a CLI is sent. A new session in a conversation that has earlier turns (a retry
 * that must not resume a session a failed attempt left half a turn in, a session held by another
 * node) gets the stored transcript first, so the model sees the conversation, and the message
 * exactly once.
 */
export function messageFor(session: InvokeSession | undefined, resumeId: string | undefined, prompt: string): string {
  const history = session?.history;
  if (resumeId !== undefined || session?.fresh || !history || history.length === 0) return prompt;
  return `<earlier_conversation>\nThe conversation so far (continue it; do not answer these turns again):\n${transcriptOf(history)}\n</earlier_conversation>\n\n${prompt}`;
}

/**
 * What a resumed CLI session is sent when the conversation's last `missed` turns ran in another
 * session (the other side of the boundary, session-side.ts): those turns first, then the message.
 */
export function withMissedTurns(history: readonly SessionMessage[] | undefined, missed: number, prompt: string): string {
  const turns = missed > 0 ? (history ?? []).slice(-2 * missed) : [];
  if (turns.length === 0) return prompt;
  return `<meanwhile>\nThe latest turns of this conversation, which ran in another session (continue from them; do not answer them again):\n${transcriptOf(turns)}\n</meanwhile>\n\n${prompt}`;
}

function transcriptOf(history: readonly SessionMessage[]): string {
  return history.map((m) => `<${m.role}>\n${m.content}\n</${m.role}>`).join('\n');
}

/** The status line of a run whose stored CLI session the CLI no longer has (`why`: its answer). */
export function sessionGoneMessage(sessionId: string, why: string): string {
  return `the CLI session ${sessionId} is gone (${why}): a new session continues the conversation from its transcript`;
}
