/**
 * Claude Code as a warm session (issue 35), with the real CLI through a real daemon whose agents
 * say `process: "warm"`, against the stand-in model server (harness.ts). The CLI's shell tool
 * prints its parent's pid ($PPID: the claude process that runs the command), so a test sees which
 * process served each turn.
 *
 * What differs by mode is checked here: turns resumed on one process (with the provider's key,
 * the instructions once and the usage and cost of each call), steering (inject, pause, cancel),
 * recovery of a killed process, the session pool's memory limit, and the contract's cases whose
 * code path is the warm driver's (`tinyagi call` through the per-run file, 429 and 500 read from
 * the warm process's stream, a hang ended by the warm invoker's watchdog, no request elsewhere).
 * The contract's other cases are the daemon's own logic, the same in both modes, and are proven
 * per message in claude.test.ts: a handoff tag, `"$TINYAGI_CLI" call` from a login shell (the
 * shell's PATH, as `tinyagi call` here), and the resumed session's history and usage (here by the
 * five-turn test).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupTemp, occurrences, toolOutput, waitFor, type ModelCall, type ModelRequest } from '@tinyagi/test-kit';
import { CLI_CASES, isTitleCall, priceOf, startRig, tokensOf, type Outcome, type Rig } from './harness.ts';
import { contractCases, describeOutcome, expectInstructionsOnce, expectProviderCalls, expectReportedAsKilled } from './suite.ts';

const cli = CLI_CASES.claude;
let rig: Rig;

/** A turn that runs `echo PID=$PPID` in the CLI's shell tool, then answers with what it printed. */
function pidRule(marker: string, extra = ''): void {
  rig.rule(marker, (request) => {
    const out = toolOutput(request);
    if (out === undefined) return { shell: 'echo PID=$PPID', usage: { inputTokens: 1500, outputTokens: 20, cacheReadTokens: 300 } };
    return { reply: `${marker} done ${/PID=(\d+)/.exec(out)?.[0] ?? 'no pid'}${extra}`, usage: { inputTokens: 1700, outputTokens: 31 } };
  });
}

function pidOf(o: Outcome): number {
  const pid = /PID=(\d+)/.exec(o.replies.join('\n'))?.[1];
  expect(pid, describeOutcome(o)).toBeDefined();
  return Number(pid);
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return '(gone)';
  }
}

/** The run's recorded usage and cost equal what the stand-in served for its calls. */
function expectExactUsage(o: Outcome, label: string): void {
  const run = o.runs[0]!;
  const calls = o.calls.filter((c) => !isTitleCall(c.request));
  const want = calls.reduce(
    (sum, c) => {
      const t = tokensOf(cli.api, c.served);
      return { input: sum.input + t.input, output: sum.output + t.output, usd: sum.usd + priceOf(c.served) };
    },
    { input: 0, output: 0, usd: 0 },
  );
  expect({ input: run.inputTokens, output: run.outputTokens }, `${label}: usage of the calls served`).toEqual({ input: want.input, output: want.output });
  expect(run.costUsd, `${label}: cost`).toBeCloseTo(want.usd, 6);
}

/** Waits until the stand-in has served `n` calls carrying `marker`. */
async function callsOf(marker: string, n: number): Promise<ModelCall[]> {
  const mine = (): ModelCall[] => rig.model.calls.filter((c) => occurrences(c.request, marker) > 0);
  await waitFor(() => mine().length >= n, 120_000, `${n} model call(s) of ${marker}`, 100);
  return mine();
}

/** Whether a process whose command line holds `marker` runs (/proc). */
function runningWith(marker: string): boolean {
  return readdirSync('/proc').some((pid) => {
    try {
      return /^\d+$/.test(pid) && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(marker);
    } catch {
      return false;
    }
  });
}

async function runOf(messageId: string): Promise<string> {
  let runId: string | undefined;
  await waitFor(
    async () => {
      runId = (await rig.daemon.api.getMessage({ params: { id: messageId } })).run?.id;
      return runId !== undefined;
    },
    60_000,
    'the run to start',
    100,
  );
  return runId!;
}

describe('claude live', () => {
  beforeAll(async () => {
    rig = await startRig(cli, { agentSettings: { process: 'warm' } });
  }, 120_000);

  afterAll(async () => {
    await rig?.cleanup();
    cleanupTemp();
  });

  it('claude warm: a 5-turn conversation runs on one warm process, each turn costing exactly what its calls were served, with the provider key and the instructions once', async () => {
    const pids: number[] = [];
    for (let k = 1; k <= 5; k++) {
      pidRule(`WARM5-${k}q`);
      const o = await rig.send({ agent: 'alpha', senderId: 'warm5', message: `WARM5-${k}q turn ${k}: run the command` });
      expect(o.runs[0]?.status, describeOutcome(o)).toBe('completed');
      expect(o.replies.join('\n')).toContain(`WARM5-${k}q done PID=`);
      expectExactUsage(o, `turn ${k}`);
      expectProviderCalls(rig, o.calls);
      expectInstructionsOnce(rig, o.calls);
      pids.push(pidOf(o));
    }
    expect(new Set(pids).size, `one process for all five turns: ${pids.join(', ')}`).toBe(1);
    expect(cmdline(pids[0]!), 'the warm process is Claude Code, still running').toContain('--input-format stream-json');
    // Every turn after the first is resumed by the process itself: the earlier turns are in its history once.
    const last = rig.model.calls.filter((c) => occurrences(c.request, 'WARM5-5q') > 0).at(-1)!;
    for (let k = 1; k <= 4; k++) expect(occurrences(last.request, `WARM5-${k}q turn ${k}`), `turn ${k} in the history once`).toBe(1);
  }, 600_000);

  it('claude warm: operator input injected mid-turn reaches the model in the same turn', async () => {
    const seen = (request: ModelRequest): boolean => occurrences(request, 'INJECTED-PLUM') > 0;
    rig.rule('INJECT-7k', (request) => {
      if (toolOutput(request) === undefined && !seen(request)) return { shell: 'sleep 8; echo slept' };
      return { reply: seen(request) ? 'I saw the injected word.' : 'No injection reached me.' };
    });
    const o = await rig.send({
      agent: 'alpha',
      senderId: 'inject',
      message: 'INJECT-7k do the slow thing',
      whileRunning: async (messageId) => {
        const runId = await runOf(messageId);
        await callsOf('INJECT-7k', 1);
        const steered = await rig.daemon.api.steerRun({ params: { id: runId }, body: { command: 'inject', payload: 'INJECTED-PLUM: also mention the plum' } });
        expect(steered.accepted, JSON.stringify(steered)).toBe(true);
      },
    });
    expect(o.runs[0]?.status, describeOutcome(o)).toBe('completed');
    expect(o.replies.join('\n')).toContain('I saw the injected word.');
    const calls = o.calls.filter((c) => !isTitleCall(c.request));
    // The tool call, then the call that carries the tool's output and the injected input: one turn, no second run.
    expect(calls.length, 'two model calls in one turn').toBe(2);
    expect(seen(calls[0]!.request)).toBe(false);
    expect(seen(calls[1]!.request) && toolOutput(calls[1]!.request)?.includes('slept'), 'the injection arrives with the tool result').toBe(true);
    expect(o.runs).toHaveLength(1);
    expectExactUsage(o, 'injected turn');
  }, 300_000);

  it('claude warm: a paused run is held before its next tool call until resumed', async () => {
    rig.rule('PAUSE-4m', (request) => {
      const tools = request.entries.filter((e) => e.role === 'tool').length;
      if (tools === 0) return { shell: 'sleep 4; echo first-step' };
      if (tools === 1) return { shell: 'echo second-step' };
      return { reply: 'Both steps done.' };
    });
    let resumedAt = 0;
    let whilePaused: string[] = [];
    const o = await rig.send({
      agent: 'alpha',
      senderId: 'pause',
      message: 'PAUSE-4m run the two steps',
      whileRunning: async (messageId) => {
        const runId = await runOf(messageId);
        await callsOf('PAUSE-4m', 1);
        try {
          const paused = await rig.daemon.api.steerRun({ params: { id: runId }, body: { command: 'pause' } });
          expect(paused.accepted, JSON.stringify(paused)).toBe(true);
          // Held before the first tool call (if the pause landed before Claude Code asked about it) or the second:
          // unheld, the run would end about 4 s from now (the first step's sleep, then two quick calls).
          await new Promise((r) => setTimeout(r, 8_000));
        } finally {
          whilePaused = rig.model.calls.filter((c) => occurrences(c.request, 'PAUSE-4m') > 0).map((c) => JSON.stringify(c.action));
          resumedAt = Date.now();
          await rig.daemon.api.steerRun({ params: { id: runId }, body: { command: 'resume' } });
        }
      },
    });
    expect(whilePaused.length, `the answering call never came while paused: ${whilePaused.join(', ')}`).toBeLessThanOrEqual(2);
    expect(o.runs[0]?.status, describeOutcome(o)).toBe('completed');
    expect(o.replies.join('\n')).toContain('Both steps done.');
    const calls = o.calls.filter((c) => !isTitleCall(c.request));
    expect(calls).toHaveLength(3);
    expect(calls[2]!.at, 'the last call came after the resume').toBeGreaterThanOrEqual(resumedAt);
    expect(toolOutput(calls[2]!.request)).toContain('second-step');
  }, 300_000);

  it('claude warm: a cancel interrupts the turn in its tool call and the same process answers the next message', async () => {
    pidRule('CANCEL-PID-1');
    const before = await rig.send({ agent: 'alpha', senderId: 'cancel', message: 'CANCEL-PID-1 where are you?' });
    const pid = pidOf(before);

    // A tool call that runs for two minutes (Claude Code's own guard refuses `sleep 120; …` before it runs).
    rig.rule('CANCEL-SLOW-3', () => ({ shell: 'node -e "setTimeout(() => {}, 120000)" CANCEL-IN-TOOL' }));
    const started = Date.now();
    const o = await rig.send({
      agent: 'alpha',
      senderId: 'cancel',
      message: 'CANCEL-SLOW-3 take your time',
      whileRunning: async (messageId) => {
        const runId = await runOf(messageId);
        await waitFor(() => runningWith('CANCEL-IN-TOOL'), 120_000, 'the tool call to run', 100);
        await rig.daemon.api.steerRun({ params: { id: runId }, body: { command: 'cancel' } });
      },
    });
    expect(o.runs[0]?.status, describeOutcome(o)).toBe('cancelled');
    expect(Date.now() - started, 'the interrupt ended the turn well before the 120 s tool call').toBeLessThan(60_000);

    pidRule('CANCEL-PID-2');
    const after = await rig.send({ agent: 'alpha', senderId: 'cancel', message: 'CANCEL-PID-2 and now?' });
    expect(after.runs[0]?.status, describeOutcome(after)).toBe('completed');
    expect(pidOf(after), 'the interrupted process stayed warm and took the next turn').toBe(pid);
    // What the next turn sends: Claude Code's own record of the stopped call (its result says the
    // user did not want it, then "[Request interrupted by user for tool use]"), then the new message, last.
    const next = rig.model.calls.find((c) => occurrences(c.request, 'CANCEL-PID-2') > 0)?.request;
    expect(next?.entries.at(-1)).toEqual({ role: 'user', text: 'CANCEL-PID-2 and now?' });
    expect(next?.entries.at(-2)?.text).toContain('[Request interrupted by user for tool use]');
  }, 400_000);

  it('claude warm: a warm process killed mid-turn is replaced; the retry resumes the session and the message reaches the model once more only', async () => {
    pidRule('KILLED-PID-1');
    const before = await rig.send({ agent: 'alpha', senderId: 'killed', message: 'KILLED-PID-1 remember the word walrus' });
    const pid = pidOf(before);

    rig.rule('KILLED-MID-2', (_request, calls) => (calls.length === 0 ? { kill: true } : { reply: 'Recovered after the crash.' }));
    const o = await rig.send({ agent: 'alpha', senderId: 'killed', message: 'KILLED-MID-2 which word?' });
    expect(o.runs[0]?.status, describeOutcome(o)).toBe('completed');
    expect(o.replies.join('\n')).toContain('Recovered after the crash.');
    expect(o.message.attempts, 'the failed attempt and its retry').toBe(2);
    const calls = o.calls.filter((c) => !isTitleCall(c.request));
    expect(calls[0]?.killedPid, 'the stand-in killed the warm process').toBe(pid);
    const retry = calls.at(-1)!;
    expect(occurrences(retry.request, 'KILLED-PID-1 remember the word walrus'), 'the earlier turn is in the resumed history once').toBe(1);
    expect(occurrences(retry.request, 'KILLED-MID-2 which word?'), "the failed attempt's message is not repeated").toBe(1);
    expect(
      retry.request.entries.filter((e) => e.text.trim() === 'No response requested.'),
      'no synthetic turn from the failed attempt',
    ).toEqual([]);
    expectReportedAsKilled(o);

    pidRule('KILLED-PID-3');
    const after = await rig.send({ agent: 'alpha', senderId: 'killed', message: 'KILLED-PID-3 still there?' });
    const newPid = pidOf(after);
    expect(newPid, 'a new process').not.toBe(pid);
    expect(cmdline(newPid)).toContain('--resume');
  }, 400_000);
  contractCases('claude', () => rig, ['call', '429', '500', 'hang', 'egress']);

  // Last: it changes the daemon's settings (and puts them back).
  it('claude warm: a warm start beyond sessions.memory_share is refused with the figures; lifted, the agent starts warm', async () => {
    rig.rule('POOL-OK', () => ({ reply: 'Warm and well (POOL-OK).' }));
    const first = await rig.send({ agent: 'alpha', senderId: 'pool', message: 'POOL-OK hello' });
    expect(first.replies.join('\n')).toContain('Warm and well');
    const measured = await waitFor(
      async () => (await rig.daemon.api.listSessions()).sessions.find((s) => s.agentId === 'alpha' && s.sessionKey.includes('pool') && (s.memoryBytes ?? 0) > 0),
      30_000,
      'the warm process measured',
    );
    expect(measured.memoryBytes).toBeGreaterThan(50 * 1024 * 1024);

    await rig.daemon.api.patchSettings({ body: { sessions: { memory_share: 0.001 }, queue: { max_attempts: 1 } } });
    await waitFor(async () => (await rig.daemon.api.listSessions()).limits.memoryShare === 0.001, 20_000, 'the new sessions settings');
    await rig.daemon.cliOk(['sessions', '--close', 'alpha']);
    const refused = await rig.send({ agent: 'alpha', senderId: 'pool-refused', message: 'POOL-OK again' });
    expect(refused.message.lastError ?? '').toMatch(/warm session refused: starting another claude \(~\d+ MB\) would take memory use to \d+% of [\d.]+ GiB, above sessions\.memory_share 0\.001/);
    expect((await rig.daemon.api.listSessions()).sessions.filter((s) => s.agentId === 'alpha')).toEqual([]);

    await rig.daemon.api.patchSettings({ body: { sessions: null, queue: { max_attempts: null } } });
    await waitFor(async () => (await rig.daemon.api.listSessions()).limits.memoryShare !== 0.001, 20_000, 'the default sessions settings');
    const lifted = await rig.send({ agent: 'alpha', senderId: 'pool-lifted', message: 'POOL-OK once more' });
    expect(lifted.replies.join('\n')).toContain('Warm and well');
  }, 240_000);
});
