/**
 * Codex 0.169 as a warm session (issue 35), with the real CLI: the agents run with
 * `process: "warm"`, so the daemon keeps one `codex app-server` per session and speaks JSON-RPC
 * to it (core's, runtimes/codex-warm.ts). Checked here: five turns of one conversation on one warm
 * process (its pid, read from /proc, never changes), with the usage of each call what the stand-in
 * served and the instructions once per request; operator input injected mid-turn reaching the
 * model inside the same turn (`turn/steer`); a cancel interrupting the turn (`turn/interrupt`)
 * with the process kept warm for the next message; a warm process killed mid-request recovered
 * by the retry, which forks the thread from before the failed half turn (the message reaches the
 * model once, the earlier turn is still there); a 429 recovered the same way; `tinyagi call` from
 * the warm process's shell tool belonging to the current run (the per-run file); a hung model call
 * ended by the warm invoker's watchdog and retried; no request elsewhere (the contract's cases,
 * suite.ts). The contract's other cases are the daemon's own logic, the same in both modes,
 * proven per message in codex.test.ts.
 */
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cleanupTemp, occurrences, toolOutput, waitFor, type ModelCall } from '@tinyagi/test-kit';
import { CLI_CASES, instructionCounts, startRig, tokensOf, type Rig } from './harness.ts';
import { contractCases, describeOutcome, expectProviderCalls, turnsOf as turns } from './suite.ts';

const cli = CLI_CASES.codex;
let rig: Rig;

beforeAll(async () => {
  rig = await startRig(cli, { agentSettings: { process: 'warm' } });
}, 120_000);

afterAll(async () => {
  await rig?.cleanup();
  cleanupTemp();
});

/** The `codex app-server` processes whose working directory is the agent's workspace (the npm wrapper and the native binary). */
function appServers(agent: string): number[] {
  const workspace = join(rig.daemon.root, 'workspace', agent);
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (!argv.includes('app-server') || readlinkSync(`/proc/${entry}/cwd`) !== workspace) continue;
      pids.push(Number(entry));
    } catch {
      // gone while we looked, or not ours to read
    }
  }
  return pids.sort((a, b) => a - b);
}

/** The run id of a message once it is running. */
async function runOf(messageId: string): Promise<string> {
  return waitFor(async () => (await rig.daemon.api.getMessage({ params: { id: messageId } })).message.runId ?? undefined, 120_000, `message ${messageId} to start its run`);
}

it('codex warm: five turns of one conversation on one warm app-server, usage per call exact, the provider key and the instructions once per request', async () => {
  const served = (k: number) => ({ inputTokens: 2000 + 100 * k + 7, outputTokens: 20 + k, cacheReadTokens: 500 + k });
  for (let k = 1; k <= 5; k++) rig.rule(`WARM5-${k}x`, () => ({ reply: `warm turn ${k} done`, usage: served(k) }));
  const processes: number[][] = [];
  const calls: ModelCall[] = [];
  for (let k = 1; k <= 5; k++) {
    const o = await rig.send({ agent: 'alpha', senderId: 'warm5', message: `WARM5-${k}x turn ${k}` });
    const run = o.runs[0]!;
    expect(run.status, describeOutcome(o)).toBe('completed');
    expect(o.replies.join('\n')).toContain(`warm turn ${k} done`);
    const want = turns(o.calls).reduce((sum, c) => ({ input: sum.input + tokensOf(cli.api, c.served).input, output: sum.output + tokensOf(cli.api, c.served).output }), { input: 0, output: 0 });
    expect({ input: run.inputTokens, output: run.outputTokens }, `turn ${k}: the run's usage is what the stand-in served`).toEqual(want);
    expect(turns(o.calls).length, `turn ${k}: one model call`).toBe(1);
    expectProviderCalls(rig, o.calls);
    processes.push(appServers('alpha'));
    calls.push(...turns(o.calls));
  }
  expect(processes[0]!.length, 'a warm app-server holds the session between turns').toBeGreaterThan(0);
  expect(processes, 'one process start served all five turns').toEqual(processes.map(() => processes[0]));
  // The conversation is the thread: turn 5's request carries the four earlier turns once each.
  const last = calls.at(-1)!;
  for (let k = 1; k <= 4; k++) expect(occurrences(last.request, `WARM5-${k}x turn ${k}`), `turn ${k} in the history once`).toBe(1);
  for (const { marker, counts } of instructionCounts(rig, calls)) expect(counts, `"${marker}" reaches the model once in each request`).toEqual(counts.map(() => 1));
}, 600_000);

it('codex warm: input injected mid-turn reaches the model inside the same turn (turn/steer)', async () => {
  const injected = 'INJECTED-9f2 also mention the word heron';
  rig.rule('STEER-4b1', (request) => {
    if (request.entries.some((e) => e.role === 'user' && e.text.includes('INJECTED-9f2'))) return { reply: 'Steered: heron.' };
    if (toolOutput(request) === undefined) return { shell: 'touch steer-started; sleep 8; echo slept' };
    return { reply: 'The injection did not arrive.' };
  });
  const o = await rig.send({
    agent: 'alpha',
    senderId: 'steer',
    message: 'STEER-4b1 run the slow step',
    whileRunning: async (messageId) => {
      const runId = await runOf(messageId);
      // Inject while the shell step runs: once the command has started, not when the stand-in served
      // it (under load, an injection between the two reached the model without the step's output).
      const started = join(rig.daemon.root, 'workspace', 'alpha', 'steer-started');
      await waitFor(() => existsSync(started), 120_000, 'the shell step running');
      const steered = await rig.daemon.api.steerRun({ params: { id: runId }, body: { command: 'inject', payload: injected } });
      expect(steered.accepted, JSON.stringify(steered)).toBe(true);
    },
  });
  expect(o.runs[0]?.status, describeOutcome(o)).toBe('completed');
  expect(
    o.runs.filter((r) => r.agentId === 'alpha'),
    'the injection did not start another run',
  ).toHaveLength(1);
  expect(o.replies.join('\n')).toContain('Steered: heron.');
  const steeredCall = turns(o.calls).find((c) => c.request.entries.some((e) => e.role === 'user' && e.text.includes('INJECTED-9f2')));
  expect(steeredCall, 'the injected text reached the model').toBeDefined();
  // Inside the same turn: the request that carries it also carries the shell step's output.
  expect(toolOutput(steeredCall!.request) ?? JSON.stringify(steeredCall!.request.entries)).toContain('slept');
  expect(o.message.attempts, 'no retry or re-run').toBe(1);
}, 300_000);

it('codex warm: cancel interrupts the turn (turn/interrupt) and the warm process answers the next message', async () => {
  rig.rule('INTWARM-2c', () => ({ reply: 'warm and ready' }));
  await rig.send({ agent: 'beta', senderId: 'interrupt', message: 'INTWARM-2c hello' });
  const before = appServers('beta');
  expect(before.length).toBeGreaterThan(0);
  rig.rule('INTHANG-2c', () => ({ hang: true }));
  const o = await rig.send({
    agent: 'beta',
    senderId: 'interrupt',
    message: 'INTHANG-2c this will be cancelled',
    whileRunning: async (messageId) => {
      const runId = await runOf(messageId);
      await waitFor(() => rig.model.calls.some((c) => occurrences(c.request, 'INTHANG-2c this will be cancelled') > 0), 120_000, 'the hanging call');
      await rig.daemon.api.cancelRun({ params: { id: runId } });
    },
  });
  expect(o.runs[0]?.status, describeOutcome(o)).toBe('cancelled');
  rig.rule('INTNEXT-2c', () => ({ reply: 'still warm' }));
  const next = await rig.send({ agent: 'beta', senderId: 'interrupt', message: 'INTNEXT-2c are you there?' });
  expect(next.runs[0]?.status, describeOutcome(next)).toBe('completed');
  expect(next.replies.join('\n')).toContain('still warm');
  expect(appServers('beta'), 'the interrupted process stayed warm and answered').toEqual(before);
  // The thread kept its history: the warm-up turn is in the next request once.
  for (const call of turns(next.calls)) expect(occurrences(call.request, 'INTWARM-2c hello')).toBe(1);
}, 300_000);

it('codex warm: a warm process killed mid-request is recovered by the retry, forked from before the failed half turn', async () => {
  rig.rule('KWARM-7e', () => ({ reply: 'Noted: osprey.' }));
  await rig.send({ agent: 'gamma', senderId: 'killed', message: 'KWARM-7e remember the word osprey' });
  const before = appServers('gamma');
  expect(before.length).toBeGreaterThan(0);
  let killed = false;
  rig.rule('KFAIL-7e', (request) => {
    if (!killed) {
      killed = true;
      return { kill: true };
    }
    return { reply: occurrences(request, 'osprey') > 0 ? 'recovered from kill: osprey' : 'recovered from kill, word lost' };
  });
  const o = await rig.send({ agent: 'gamma', senderId: 'killed', message: 'KFAIL-7e which word?' });
  expect(o.runs[0]?.status, describeOutcome(o)).toBe('completed');
  expect(o.message.attempts, 'the daemon retried the killed attempt').toBeGreaterThanOrEqual(2);
  expect(o.replies.join('\n')).toContain('recovered from kill: osprey');
  const answered = turns(o.calls).filter((c) => 'reply' in c.action);
  expect(answered.length).toBeGreaterThan(0);
  for (const call of answered) {
    expect(occurrences(call.request, 'KFAIL-7e which word?'), 'the retried message reaches the model once').toBe(1);
    expect(occurrences(call.request, 'KWARM-7e remember the word osprey'), 'the earlier turn is in the forked thread once').toBe(1);
    // Forked (the earlier turn as the thread's own items), not a new thread given the transcript.
    expect(occurrences(call.request, '<earlier_conversation>'), 'the retry forked the thread').toBe(0);
  }
  for (const { marker, counts } of instructionCounts(rig, answered)) expect(counts, `"${marker}" reaches the model once in the forked thread's requests`).toEqual(counts.map(() => 1));
  const after = appServers('gamma');
  expect(after.length).toBeGreaterThan(0);
  expect(
    after.some((pid) => before.includes(pid)),
    'a new process',
  ).toBe(false);
}, 300_000);

it("codex warm: `tinyagi call` from the warm process's shell tool runs as a child of the current run (the per-run file)", async () => {
  rig.rule('WCALL-PARENT-5d', (request) => {
    const out = toolOutput(request);
    if (out === undefined) return { shell: 'tinyagi call beta "WCALL-CHILD-5d what is the code?"' };
    return { reply: `The sub-agent said: ${out}` };
  });
  rig.rule('WCALL-CHILD-5d', () => ({ reply: 'The warm code is 1618.' }));
  // Two messages on the same warm process: the second call must belong to the second run, not the first.
  for (const round of [1, 2]) {
    const o = await rig.send({ agent: 'alpha', senderId: 'warm-call', message: `WCALL-PARENT-5d round ${round}: ask beta for the code` });
    expect(o.replies.join('\n'), describeOutcome(o)).toContain('The warm code is 1618.');
    const child = o.runs.find((r) => r.agentId === 'beta');
    expect(child?.status, describeOutcome(o)).toBe('completed');
    expect(child?.parentRunId, `round ${round}: the child belongs to this run`).toBe(o.runs[0]?.runId);
  }
}, 300_000);

it('codex warm: a 429 fails the warm turn as rate limited; the retry answers and the message reaches the model once', async () => {
  rig.rule('RWARM-3a', () => ({ reply: 'warm' }));
  await rig.send({ agent: 'alpha', senderId: 'rate', message: 'RWARM-3a hello' });
  let lifted = false;
  rig.rule('RFAIL-3a', () => (lifted ? { reply: 'recovered from 429' } : { status: 429, retryAfterS: 0, message: 'stand-in 429' }));
  const o = await rig.send({
    agent: 'alpha',
    senderId: 'rate',
    message: 'RFAIL-3a please answer',
    whileRunning: async (messageId) => {
      await waitFor(async () => (await rig.daemon.api.getMessage({ params: { id: messageId } })).message.lastError !== null, 120_000, 'the first attempt to fail');
      lifted = true;
    },
  });
  expect(o.runs[0]?.status, describeOutcome(o)).toBe('completed');
  expect(o.replies.join('\n')).toContain('recovered from 429');
  // A rate-limited attempt is held for the reset rather than counted as a failed attempt: its error stays on the message.
  expect(o.message.lastError ?? '', 'how the failed attempt is reported').toMatch(/429/);
  const answered = turns(o.calls).filter((c) => 'reply' in c.action);
  expect(answered.length).toBeGreaterThan(0);
  for (const call of answered) {
    expect(occurrences(call.request, 'RFAIL-3a please answer'), 'the retried message reaches the model once').toBe(1);
    expect(occurrences(call.request, 'RWARM-3a hello'), 'the earlier turn is kept once').toBe(1);
  }
}, 300_000);

/** Live processes whose argv carries `marker` (/proc; a zombie's cmdline is empty). */
function processesWith(marker: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(marker)) pids.push(Number(entry));
    } catch {
      // gone while we looked
    }
  }
  return pids;
}

/**
 * A command that would run for good (a loop writing a line every 100 ms, and a marker process held
 * by `sleep`), cancelled once it has run a while: when the cancel returns (the API awaits the
 * run's invocation), none of its processes may be left. codex runs each command in a session of
 * its own, out of reach of the process group's kill, and leaves it running when a turn is
 * interrupted (warm) or when it is killed itself (per message).
 */
async function cancelRunningCommand(agent: string, tag: string): Promise<void> {
  const marker = `TICKER-${tag}-${process.pid}`;
  const command = `sh -c 'while :; do date +%s%N >> ticks-${tag}.txt; sleep 0.1; done' ${marker} & bash -c 'exec -a ${marker}-held sleep 600' & wait`;
  rig.rule(`CXLRUN-${tag}`, (request) => (toolOutput(request) === undefined ? { shell: command } : { reply: 'the command ended' }));
  const ticks = join(rig.daemon.root, 'workspace', agent, `ticks-${tag}.txt`);
  const lines = (): number => {
    try {
      return readFileSync(ticks, 'utf8').split('\n').length - 1;
    } catch {
      return 0;
    }
  };
  const o = await rig.send({
    agent,
    senderId: `cancel-${tag}`,
    message: `CXLRUN-${tag} start the ticker`,
    whileRunning: async (messageId) => {
      // Under `ask` (a warm agent as `agent add` makes it) the command is a request: a person allows it.
      const asked = waitFor(async () => (await rig.daemon.api.listApprovals({ query: { status: 'pending', agent } }))[0], 120_000, 'the request');
      if (tag === 'warm') await rig.daemon.api.decideApproval({ params: { id: (await asked).id }, body: { decision: 'allow_once', by: 'test' } });
      else void asked.catch(() => undefined);
      // Running for a while (ten lines written), past codex's own start of the command.
      await waitFor(() => (lines() >= 10 && processesWith(`${marker}-held`).length > 0) || undefined, 120_000, 'the command to run a while');
      const cancelled = await rig.daemon.api.cancelMessage({ params: { id: messageId } });
      expect(cancelled.state).toBe('cancelled');
      expect(processesWith(marker), `${tag}: the cancelled turn's command still runs when the cancel has returned`).toEqual([]);
    },
  });
  expect(o.runs[0]?.status, describeOutcome(o)).toBe('cancelled');
  expect(
    turns(o.calls).filter((c) => 'reply' in c.action),
    'the model was not asked again after the cancel',
  ).toEqual([]);
}

/** What a failed run of the case above left behind goes (this test's own processes, by their marker). */
function killLeftovers(tag: string): void {
  for (const pid of processesWith(`TICKER-${tag}-${process.pid}`)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
}

it("codex warm: a cancel stops the turn's running command (warm, as `agent add` makes the agent: ask, in codex's sandbox); the process stays warm", async () => {
  await rig.daemon.cliOk(['agent', 'add', 'warden', '--provider', 'custom:standin']);
  const settings = (await rig.daemon.api.getSettings()) as { agents?: Record<string, Record<string, unknown>> };
  const agent = settings.agents?.['warden'];
  expect(agent, 'a warm Codex agent starts asking').toMatchObject({ process: 'warm', permission_mode: 'ask' });
  rig.rule('CXLWARM-8d', () => ({ reply: 'warm' }));
  await rig.send({ agent: 'warden', senderId: 'cancel-warm', message: 'CXLWARM-8d hello' });
  const before = appServers('warden');
  expect(before.length).toBeGreaterThan(0);
  try {
    await cancelRunningCommand('warden', 'warm');
  } finally {
    killLeftovers('warm');
  }
  expect(appServers('warden'), 'the interrupted process stays warm').toEqual(before);
}, 300_000);

it('codex per message: a cancel stops the command codex was running (killed codex leaves it orphaned otherwise)', async () => {
  await rig.daemon.cliOk(['agent', 'add', 'oneshot', '--provider', 'custom:standin', '--config', '{"process":"per-message"}']);
  try {
    await cancelRunningCommand('oneshot', 'per-message');
  } finally {
    killLeftovers('per-message');
  }
}, 300_000);

contractCases('codex', () => rig, ['hang', 'egress']);
