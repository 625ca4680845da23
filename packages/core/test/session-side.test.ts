/**
 * The side a stored CLI session lives on (invoker/session-side.ts) without processes: what each
 * side's run is given from the stored session, what is stored after it, and each CLI's "no such
 * session" answer told from other failures. With the CLIs: cli-session-sides.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { InvokeError } from '../src/invoker/invoke-error.ts';
import { isNoSuchSession, resultOnSide, sessionOnSide } from '../src/invoker/session-side.ts';
import type { InvokeSession } from '../src/invoker/types.ts';

const history = (turns: number): InvokeSession['history'] =>
  Array.from({ length: turns }, (_, i) => [
    { role: 'user' as const, content: `q${i + 1}` },
    { role: 'assistant' as const, content: `a${i + 1}` },
  ]).flat();

/** The stored session after a run on `side` gave `result`, as the orchestrator passes it next (turn: the next one). */
function after(given: InvokeSession, side: 'confined' | 'unconfined', result: { sessionId: string; runtimeState?: string; instructionsHash?: string }): InvokeSession {
  const { session, other } = sessionOnSide(given, side);
  const stored = resultOnSide({ text: 'ok', ...result }, side, session, other);
  const turn = (given.turn ?? 1) + 1;
  return { key: 'shared', resumeId: stored.sessionId ?? null, instructionsHash: stored.instructionsHash ?? '', runtimeState: stored.runtimeState ?? '', history: history(turn - 1), turn };
}

describe('the session each side is given', () => {
  it('a state stored before sides were told apart is resumed as it is, then carries its side', () => {
    const legacy: InvokeSession = { key: 'shared', resumeId: 'old', runtimeState: '{"at":"m1"}', instructionsHash: 'h', history: history(1), turn: 2 };
    expect(sessionOnSide(legacy, 'confined')).toEqual({ session: legacy, other: undefined, missed: 0, unsided: true });
    const next = after(legacy, 'confined', { sessionId: 'old' });
    expect(JSON.parse(next.runtimeState ?? '')).toEqual({ cliSide: 'confined', state: '{"at":"m1"}', turn: 2 });
    expect(next.instructionsHash).toBe('h');
  });

  it('a change of side starts a new session; changing back resumes the old one with its state, told the turns it missed', () => {
    const first = after({ key: 'shared', resumeId: null, history: [], turn: 1 }, 'unconfined', { sessionId: 'H', runtimeState: '{"at":"h1"}', instructionsHash: 'hh' });
    const onConfined = sessionOnSide(first, 'confined');
    // Nothing of the unconfined session reaches the confined run: a new session, which gets the transcript.
    expect(onConfined.session).toEqual({ key: 'shared', resumeId: null, history: history(1), turn: 2 });
    const second = after(first, 'confined', { sessionId: 'C', runtimeState: '{"at":"c1"}' });
    expect(second.resumeId).toBe('C');
    // The runtime gave no instructions hash for the new session: the unconfined one's is not kept for it.
    expect(second.instructionsHash).toBe('');
    const third = after(second, 'confined', { sessionId: 'C' });
    const back = sessionOnSide(third, 'unconfined');
    expect(back.session).toMatchObject({ resumeId: 'H', runtimeState: '{"at":"h1"}', instructionsHash: 'hh' });
    expect(back.missed).toBe(2);
    expect(back.other).toMatchObject({ sessionId: 'C', state: '{"at":"c1"}', turn: 3 });
    // And the confined one is kept aside while the unconfined side runs.
    const fourth = after(third, 'unconfined', { sessionId: 'H' });
    expect(sessionOnSide(fourth, 'confined')).toMatchObject({ session: { resumeId: 'C', runtimeState: '{"at":"c1"}' }, missed: 1 });
  });
});

describe("each CLI's answer to a session it does not have", () => {
  // The pinned real CLIs' words (Claude Code 2.1.330, codex-cli 0.169.0, opencode 1.18.33), run against an empty HOME.
  const cases: Array<[string, string]> = [
    ['claude-code', 'No conversation found with session ID: 3f0c5b7e-1111-4111-8111-111111111111'],
    ['codex', 'Error: thread/resume: thread/resume failed: no rollout found for thread id 3f0c5b7e-1111-4111-8111-111111111111 (code -32600)\n\nStack backtrace:\n   0: <unknown>'],
    ['opencode', '\x1b[91m\x1b[1mError: \x1b[0mSession not found'],
  ];
  it.each(cases)('%s: told from other failures, in the message or the stderr tail', (runtime, words) => {
    expect(isNoSuchSession(runtime, new InvokeError('retryable', `agent x (${runtime}) failed (exit code 1): ${words}`))).toBe(true);
    expect(isNoSuchSession(runtime, new InvokeError('retryable', 'agent x failed (exit code 1): at <anonymous>', { stderrTail: words }))).toBe(true);
    expect(isNoSuchSession(runtime, new InvokeError('retryable', 'agent x failed (exit code 1): connection refused'))).toBe(false);
    expect(isNoSuchSession('anthropic-api', new InvokeError('retryable', words))).toBe(false);
  });
});
