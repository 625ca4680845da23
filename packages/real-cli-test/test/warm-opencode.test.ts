/**
 * OpenCode warm sessions (`opencode acp`, the ACP warm driver; docs/sessions.md "ACP") with the
 * real OpenCode 1.18.33 through a real daemon, against the stand-in model server: a 5-turn
 * conversation on one process (the provider's key, the instructions once, the usage of every
 * model call exact: a turn with a tool step makes two calls; ACP's own prompt usage would report
 * the last one only), cancel interrupting the turn with session/cancel and keeping the process, a
 * process killed mid-turn recovered by the retry on a new process, a closed process replaced by
 * one that loads the session (session/load), a command the rules deny refused through
 * session/request_permission. ACP has no mid-turn input: inject waits for the next turn (not
 * tested here as "reaching the model in the same turn": it cannot).
 *
 * Of the per-message contract (suite.ts) the cases whose code path is the warm driver's run here
 * too: `tinyagi call` through the per-run file, 429 and 500 as the warm process reports them, a
 * hang ended by the warm invoker's watchdog, no request elsewhere. The others are the daemon's own
 * logic, the same in both modes, proven per message in opencode.test.ts: a handoff tag,
 * `"$TINYAGI_CLI" call` from a login shell, the resumed history and usage (here by the five-turn
 * test).
 */
import { existsSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupTemp, toolOutput, waitFor } from '@tinyagi/test-kit';
import { CLI_CASES, isTitleCall, startRig, tokensOf, type Outcome, type Rig } from './harness.ts';
import { contractCases, describeOutcome, expectInstructionsOnce, expectProviderCalls, expectReportedAsKilled } from './suite.ts';

const cli = CLI_CASES.opencode;
let rig: Rig;

/** The `opencode acp` processes running in this daemon's workspace (from /proc). */
function acpPids(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\u0000');
      if (!argv.includes('acp') || !argv.includes('--port')) continue;
      if (!readlinkSync(`/proc/${entry}/cwd`).startsWith(rig.daemon.root)) continue;
      pids.push(Number(entry));
    } catch {
      // gone while we looked
    }
  }
  return pids;
}

function expectExactUsage(o: Outcome, label: string): void {
  const run = o.runs[0]!;
  const want = o.calls.reduce(
    (sum, c) => {
      const t = tokensOf(cli.api, c.served);
      return { input: sum.input + t.input, output: sum.output + t.output };
    },
    { input: 0, output: 0 },
  );
  expect({ input: run.inputTokens, output: run.outputTokens }, `${label}: usage of every call (served: ${o.calls.map((c) => `${c.served.inputTokens}/${c.served.outputTokens}`).join(', ')})`).toEqual(
    want,
  );
}

describe('opencode live', () => {
  beforeAll(async () => {
    // Commands ask first in a warm OpenCode (session/request_permission): the daemon's rules answer.
    rig = await startRig(cli, { agentSettings: { process: 'warm', permissions: { rules: [{ action: 'deny', command: 'rm *' }] } } });
  }, 120_000);

  afterAll(async () => {
    await rig?.cleanup();
    cleanupTemp();
  });

  it('opencode acp: a 5-turn conversation on one warm process, usage of every call exact, the provider key and the instructions once, no title call', async () => {
    const served = (k: number) => ({ inputTokens: 1000 * k + 17, outputTokens: 10 * k + 3 });
    for (let k = 1; k <= 5; k++) {
      rig.rule(`WARM5-${k}q`, (_request, calls) => {
        // Turn 3 runs a shell step first: two model calls in one turn.
        if (k === 3 && calls.length === 0) return { shell: 'echo step-three', usage: { inputTokens: 777, outputTokens: 11 } };
        return { reply: `warm turn ${k} done`, usage: served(k) };
      });
    }
    const pids: number[][] = [];
    for (let k = 1; k <= 5; k++) {
      const o = await rig.send({ agent: 'alpha', senderId: 'warm5', message: `WARM5-${k}q turn ${k}` });
      expect(o.runs[0]?.status, describeOutcome(o)).toBe('completed');
      expect(o.replies.join('\n')).toContain(`warm turn ${k} done`);
      expect(
        o.calls.filter((c) => isTitleCall(c.request)),
        'no title call: the session got its title before its first prompt',
      ).toEqual([]);
      if (k === 3) {
        expect(o.calls).toHaveLength(2);
        // The command asked permission (no rule matches: allowed) and ran.
        expect(toolOutput(o.calls[1]!.request) ?? '').toContain('step-three');
      }
      expectExactUsage(o, `turn ${k}`);
      // The system prompt through the selected agent, AGENTS.md read by OpenCode.
      expectInstructionsOnce(rig, o.calls);
      expectProviderCalls(rig, o.calls);
      // The earlier turns are in the session (one process, one OpenCode session).
      if (k > 1) expect(JSON.stringify(o.calls.at(-1)?.request.body)).toContain(`warm turn ${k - 1} done`);
      pids.push(acpPids());
    }
    expect(pids[0], 'one opencode acp process after the first turn').toHaveLength(1);
    expect(new Set(pids.flat()), 'the same process served all five turns').toEqual(new Set(pids[0]));
  }, 600_000);

  it('opencode acp: cancel interrupts the turn (session/cancel) and the process stays warm for the next', async () => {
    rig.rule('CANCEL-W1', () => ({ reply: 'before cancel' }));
    await rig.send({ agent: 'alpha', senderId: 'cancel', message: 'CANCEL-W1 hello' });
    const before = acpPids();
    let hanging = false;
    rig.rule('CANCEL-W2', () => {
      hanging = true;
      return { hang: true };
    });
    const o = await rig.send({
      agent: 'alpha',
      senderId: 'cancel',
      message: 'CANCEL-W2 wait forever',
      whileRunning: async (messageId) => {
        await waitFor(async () => hanging || undefined, 120_000, 'the hung model call', 100);
        const detail = await rig.daemon.api.getMessage({ params: { id: messageId } });
        await rig.daemon.api.cancelConversation({ params: { id: detail.message.conversationId } });
      },
    });
    expect(o.runs[0]?.status, describeOutcome(o)).toBe('cancelled');
    rig.rule('CANCEL-W3', () => ({ reply: 'after cancel' }));
    const after = await rig.send({ agent: 'alpha', senderId: 'cancel', message: 'CANCEL-W3 again' });
    expect(after.runs[0]?.status, describeOutcome(after)).toBe('completed');
    expect(after.replies.join('\n')).toContain('after cancel');
    const now = acpPids();
    expect(now.filter((p) => before.includes(p)).length, `the warm process survived the cancel (before ${before}, now ${now})`).toBeGreaterThan(0);
  }, 600_000);

  it('opencode acp: a warm process killed mid-turn is recovered: the retry runs on a new process with the conversation', async () => {
    rig.rule('KILLW-1', () => ({ reply: 'remember the word heron' }));
    await rig.send({ agent: 'alpha', senderId: 'killw', message: 'KILLW-1 hello' });
    const before = acpPids();
    let killed = false;
    rig.rule('KILLW-2', (request) => {
      if (!killed) {
        killed = true;
        return { kill: true };
      }
      const remembered = JSON.stringify(request.body).includes('remember the word heron');
      return { reply: remembered ? 'recovered with heron' : 'recovered without history' };
    });
    const o = await rig.send({ agent: 'alpha', senderId: 'killw', message: 'KILLW-2 which word?' });
    expect(o.runs[0]?.status, describeOutcome(o)).toBe('completed');
    expect(o.message.attempts, 'the daemon retried the killed attempt').toBeGreaterThanOrEqual(2);
    expectReportedAsKilled(o);
    expect(o.replies.join('\n')).toContain('recovered with heron');
    const killedPid = o.calls.find((c) => c.killedPid !== undefined)?.killedPid;
    expect(before, 'the warm process was the one killed').toContain(killedPid);
    const now = acpPids();
    expect(now).not.toContain(killedPid);
    // The retry's message reached the model once.
    const last = o.calls.at(-1);
    expect(JSON.stringify(last?.request.body).split('KILLW-2 which word?').length - 1).toBe(1);
    expectExactUsage(o, 'the killed turn and its retry');
  }, 600_000);

  it('opencode acp: a closed warm process is replaced by one that loads the session (session/load), the earlier turn once in the history', async () => {
    rig.rule('LOADW-1', () => ({ reply: 'noted: the word is osprey' }));
    const first = await rig.send({ agent: 'alpha', senderId: 'loadw', message: 'LOADW-1 remember osprey' });
    expect(first.runs[0]?.status, describeOutcome(first)).toBe('completed');
    const before = (await rig.daemon.api.listSessions()).sessions.find((s) => s.agentId === 'alpha' && s.sessionKey.includes('loadw'));
    expect(before?.sessionId).toMatch(/^ses_/);
    const closed = await rig.daemon.api.closeSessions({ body: { agent: 'alpha', sessionKey: before!.sessionKey } });
    expect(closed.closed).toBe(1);
    await waitFor(async () => (before?.pid !== null && !acpPids().includes(before!.pid) ? true : undefined), 30_000, 'the closed process to exit', 100);
    rig.rule('LOADW-2', (request) => ({ reply: JSON.stringify(request.body).includes('the word is osprey') ? 'it was osprey' : 'no history' }));
    const o = await rig.send({ agent: 'alpha', senderId: 'loadw', message: 'LOADW-2 which word?' });
    expect(o.runs[0]?.status, describeOutcome(o)).toBe('completed');
    expect(o.replies.join('\n')).toContain('it was osprey');
    const body = JSON.stringify(o.calls.at(-1)?.request.body);
    expect(body, 'the session was loaded, not replaced by a transcript').not.toContain('earlier_conversation');
    expect(body.split('LOADW-1 remember osprey').length - 1, 'the earlier message is in the history once').toBe(1);
    const after = (await rig.daemon.api.listSessions()).sessions.find((s) => s.sessionKey === before!.sessionKey);
    expect(after?.sessionId).toBe(before?.sessionId);
    expect(after?.pid).not.toBe(before?.pid);
    expectExactUsage(o, 'the turn on the loaded session');
  }, 600_000);

  it("opencode acp: a command the agent's rules deny is refused through session/request_permission and does not run", async () => {
    const file = join(rig.daemon.root, 'workspace', 'alpha', 'keep-me.txt');
    writeFileSync(file, 'precious\n');
    rig.rule('DENYW-1', (request, calls) => (calls.length === 0 ? { shell: 'rm -f keep-me.txt' } : { reply: `after the tool: ${toolOutput(request) ?? '(no output)'}` }));
    const o = await rig.send({ agent: 'alpha', senderId: 'denyw', message: 'DENYW-1 clean up' });
    expect(o.runs[0]?.status, describeOutcome(o)).toBe('completed');
    // Without the rule the agent's mode (bypassPermissions by default) would have allowed it.
    expect(existsSync(file), 'the denied command did not run').toBe(true);
    // OpenCode 1.18.33 ends the turn at a rejected permission (no further model call in it).
    expect(o.calls).toHaveLength(1);
    expectExactUsage(o, 'the denied turn');
  }, 600_000);

  contractCases('opencode', () => rig, ['call', '429', '500', 'hang', 'egress']);
});
