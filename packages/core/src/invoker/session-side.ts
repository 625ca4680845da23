/**
 * Which CLI session a run resumes, by the side of the boundary it runs on (docs/sessions.md,
 * "When a run changes side"). A confined run's CLI keeps its sessions in the agent's private home,
 * an unconfined one in the person's home, so a CLI session lives on one side only. The stored
 * session's `runtimeState` says which side its id lives on and keeps the other side's session
 * aside: each side resumes its own, and a side without one starts a new CLI session that gets the
 * conversation's transcript (session-state.ts, `messageFor`).
 *
 * And a stored id the CLI no longer has (its own "no such session" answer: a session cleaned up,
 * one stored before sides were told apart) is dropped for a new session with the transcript, once,
 * instead of failing the run into the queue's retries.
 */
import { type AttemptSpend, addSpend, spendOf } from './invoke-error.ts';
import { asNumber, asRecord, asString, parseJsonRecord } from './json-read.ts';
import { runtimeKinds } from './runtimes/index.ts';
import { resumeIdOf, sessionGoneMessage, withMissedTurns } from './session-state.ts';
import { emitProgress, type InvokeRequest, type InvokeResult, type InvokeSession } from './types.ts';

/** `confined`: inside the agent's boundary (its private home); `unconfined`: the person's home. */
export type CliSide = 'confined' | 'unconfined';

/** One side's CLI session: the id the CLI resumes and what the runtime keeps with it. */
interface SideSession {
  sessionId: string;
  instructionsHash?: string | undefined;
  state?: string | undefined;
  /** The conversation's turn (`InvokeSession.turn`) this session last ran. */
  turn?: number | undefined;
}

/** What a stored `runtimeState` holds once sides are told apart. */
interface SideEnvelope {
  /** The side of the stored session id. */
  cliSide: CliSide;
  /** The runtime's own state of that session. */
  state?: string;
  /** The conversation's turn that session last ran. */
  turn?: number;
  /** The other side's session, resumed when a run is on that side again. */
  other?: SideSession;
}

function readSide(value: unknown): CliSide | undefined {
  return value === 'confined' || value === 'unconfined' ? value : undefined;
}

/** The envelope of a stored runtime state; undefined for a state stored before sides were told apart. */
function readEnvelope(runtimeState: string | undefined): SideEnvelope | undefined {
  const record = runtimeState ? parseJsonRecord(runtimeState) : undefined;
  const cliSide = readSide(record?.cliSide);
  if (!record || !cliSide) return undefined;
  const other = asRecord(record.other);
  const otherId = asString(other?.sessionId);
  const turn = asNumber(record.turn);
  return {
    cliSide,
    ...(asString(record.state) ? { state: asString(record.state) } : {}),
    ...(turn !== undefined ? { turn } : {}),
    ...(otherId ? { other: { sessionId: otherId, instructionsHash: asString(other?.instructionsHash), state: asString(other?.state), turn: asNumber(other?.turn) } } : {}),
  };
}

/** `session` continuing `cli` (none: a new CLI session, which gets the transcript). */
function withCliSession(session: InvokeSession, cli: SideSession | undefined): InvokeSession {
  const { resumeId: _id, instructionsHash: _hash, runtimeState: _state, ...conversation } = session;
  if (!cli?.sessionId) return { ...conversation, resumeId: null };
  return {
    ...conversation,
    resumeId: cli.sessionId,
    ...(cli.instructionsHash ? { instructionsHash: cli.instructionsHash } : {}),
    ...(cli.state ? { runtimeState: cli.state } : {}),
  };
}

interface OnSide {
  session: InvokeSession | undefined;
  /** The other side's session, kept aside. */
  other: SideSession | undefined;
  /** The conversation's turns since the resumed session last ran (they ran on the other side). */
  missed: number;
  /** The stored session was stored before sides were told apart: its side is not known. */
  unsided: boolean;
}

/**
 * The session the runtime is given on `side`, and the other side's to keep aside. A state stored
 * before sides were told apart is resumed as it is (a failure for its being on the other side is
 * recovered by `invokeOnSide`).
 */
export function sessionOnSide(session: InvokeSession | undefined, side: CliSide): OnSide {
  const envelope = readEnvelope(session?.runtimeState);
  if (!session || !envelope) return { session, other: undefined, missed: 0, unsided: session !== undefined };
  const stored: SideSession = { sessionId: session.resumeId ?? '', instructionsHash: session.instructionsHash, state: envelope.state, turn: envelope.turn };
  const [mine, other] = envelope.cliSide === side ? [stored, envelope.other] : [envelope.other, stored.sessionId ? stored : undefined];
  const missed = mine?.sessionId && mine.turn !== undefined && session.turn !== undefined ? session.turn - 1 - mine.turn : 0;
  return { session: withCliSession(session, mine), other, missed, unsided: false };
}

/**
 * The result as the caller stores it: its session id, instructions hash and state are this side's
 * (always given, so the caller never keeps the other side's), the state wrapped with the side and
 * the other side's session.
 */
export function resultOnSide(result: InvokeResult, side: CliSide, given: InvokeSession | undefined, other: SideSession | undefined): InvokeResult {
  const resumed = resumeIdOf(given);
  const sessionId = result.sessionId ?? resumed ?? '';
  // As the session store keeps them: a runtime that says nothing keeps its session's (not a new one's).
  const same = resumed !== undefined && sessionId === resumed;
  const state = result.runtimeState ?? (same ? given?.runtimeState : undefined);
  const turn = given?.turn;
  const envelope: SideEnvelope = { cliSide: side, ...(state ? { state } : {}), ...(turn !== undefined ? { turn } : {}), ...(other ? { other } : {}) };
  return {
    ...result,
    sessionId,
    instructionsHash: result.instructionsHash ?? (same ? given?.instructionsHash : undefined) ?? '',
    runtimeState: JSON.stringify(envelope),
  };
}

/** True when `err` is the runtime's CLI saying it has no session of the id it was told to resume. */
export function isNoSuchSession(runtime: string, err: unknown): boolean {
  const pattern = runtimeKinds.get(runtime)?.noSuchSession;
  if (!pattern || !(err instanceof Error)) return false;
  const tail = (err as { stderrTail?: unknown }).stderrTail;
  return pattern.test(err.message) || (typeof tail === 'string' && pattern.test(tail));
}

/**
 * Runs `invoke` with the session of `side` (a resumed one first gets the turns it missed), and
 * stores the result for that side. A resume the CLI answers with "no such session" is run again
 * once as a new session with the transcript (what the failed attempt spent is added to the result).
 */
export async function invokeOnSide(req: InvokeRequest, side: CliSide, invoke: (req: InvokeRequest) => Promise<InvokeResult>): Promise<InvokeResult> {
  const { session, other, missed, unsided } = sessionOnSide(req.session, side);
  // A retry may start a new session with the whole transcript (the runtime decides): nothing is added then.
  const prompt = session?.retry ? req.prompt : withMissedTurns(session?.history, missed, req.prompt);
  try {
    return resultOnSide(await invoke({ ...req, prompt, ...(session ? { session } : {}) }), side, session, other);
  } catch (err) {
    const gone = resumeIdOf(session);
    if (!session || gone === undefined || req.signal?.aborted || !isNoSuchSession(req.target.runtime, err)) throw err;
    emitProgress(req, { type: 'status', message: sessionGoneMessage(gone, `the ${side} CLI has no such session`) });
    // A session stored before sides were told apart is, as far as is known, on the other side
    // (where it last ran, the turn before): kept for it.
    const aside = unsided ? { sessionId: gone, instructionsHash: session.instructionsHash, state: session.runtimeState, turn: session.turn && session.turn - 1 } : other;
    const { retry: _retry, ...conversation } = withCliSession(session, undefined);
    const spent = spendOf(err);
    const result = await invoke({ ...req, session: conversation }).catch((again: unknown) => {
      throw addSpend(again, spent?.usage, spent?.costUsd);
    });
    return resultOnSide(withSpend(result, spent), side, conversation, aside);
  }
}

/** `result` with what a failed attempt before it spent. */
function withSpend(result: InvokeResult, spent: AttemptSpend | undefined): InvokeResult {
  if (!spent) return result;
  const usage = { inputTokens: (result.usage?.inputTokens ?? 0) + spent.usage.inputTokens, outputTokens: (result.usage?.outputTokens ?? 0) + spent.usage.outputTokens };
  return { ...result, usage, costUsd: (result.costUsd ?? 0) + spent.costUsd };
}
