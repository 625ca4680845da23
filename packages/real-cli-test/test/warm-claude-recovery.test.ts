/**
 * Warm Claude Code recovers from a crash that follows an earlier retried turn, with the real CLI
 * through a daemon run from the sources, against the stand-in model server (harness.ts): a turn
 * the watchdog kills is retried on a new process (resumed at the last completed turn), and a
 * later turn on that process is killed mid-request. The resume point the retry names may be one
 * the killed process never wrote to its transcript; Claude Code 2.1.330 refuses it ("No message
 * found with message.uuid of …") and TinyAGI starts a new session with the transcript in the same
 * attempt (docs/sessions.md): the message is answered, reaching the model once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupTemp, occurrences } from '@tinyagi/test-kit';
import { CLI_CASES, isTitleCall, startRig, type Rig } from './harness.ts';
import { describeOutcome } from './suite.ts';

const cli = CLI_CASES.claude;
let rig: Rig;

describe('claude warm recovery', () => {
  beforeAll(async () => {
    rig = await startRig(cli, { agentSettings: { process: 'warm' }, build: 'source' });
  }, 120_000);

  afterAll(async () => {
    await rig?.cleanup();
    cleanupTemp();
  });

  it('claude warm: watchdog, retried turn, then the process killed mid-request: the message is answered once', async () => {
    rig.rule('RECOVER-0', () => ({ reply: 'Hello.' }));
    const opening = await rig.send({ agent: 'gamma', senderId: 'recover', message: 'RECOVER-0 hello' });
    expect(opening.runs[0]?.status, describeOutcome(opening)).toBe('completed');
    // gamma's inactivity limit is short: its hung call is killed by the watchdog, and the turn
    // retried on a new process resumed at the opening turn.
    let hung = false;
    rig.rule('RECOVER-1', (_request, calls) => {
      if (calls.length === 0) return { shell: 'echo step-one' };
      if (!hung) {
        hung = true;
        return { hang: true };
      }
      return { reply: 'Remembered walrus.' };
    });
    const first = await rig.send({ agent: 'gamma', senderId: 'recover', message: 'RECOVER-1 remember the word walrus' });
    expect(first.runs[0]?.status, describeOutcome(first)).toBe('completed');
    expect(first.message.attempts, 'the watchdog ended the first attempt').toBeGreaterThanOrEqual(2);

    rig.rule('RECOVER-2', (_request, calls) => (calls.length === 0 ? { kill: true } : { reply: 'Recovered: walrus.' }));
    const o = await rig.send({ agent: 'gamma', senderId: 'recover', message: 'RECOVER-2 which word?' });
    expect(o.runs[0]?.status, describeOutcome(o)).toBe('completed');
    expect(o.replies.join('\n')).toContain('Recovered: walrus.');
    expect(o.message.attempts, 'the killed attempt and one retry').toBe(2);
    const calls = o.calls.filter((c) => !isTitleCall(c.request));
    expect(calls[0]?.killedPid, 'the stand-in killed the warm process').toBeDefined();
    const retry = calls.at(-1)!;
    expect(occurrences(retry.request, 'RECOVER-2 which word?'), 'the message reaches the model once').toBe(1);
    expect(occurrences(retry.request, 'RECOVER-1 remember the word walrus'), 'the earlier turn, once').toBe(1);
  }, 400_000);
});
