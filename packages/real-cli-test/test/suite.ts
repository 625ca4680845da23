/**
 * The contract every agent CLI must keep with TinyAGI, checked with the real CLI (issue 30): one
 * daemon, its agents on the stand-in model API, everything else refused. Failure messages name
 * the issue's item the behaviour belongs to.
 *
 * `realCliSuite` runs the whole contract on a daemon of its own (per message: claude.test.ts,
 * codex.test.ts, opencode.test.ts). A warm-session file runs, on its own daemon, the cases whose
 * code path differs by mode (`contractCases`); the others are proven per message only (the
 * live files' headers say which and why).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cleanupTemp, occurrences, toolOutput, waitFor, type ModelAction, type ModelCall } from '@tinyagi/test-kit';
import { CLI_CASES, PROVIDER_KEY, instructionCounts, isTitleCall, priceOf, startRig, tokensOf, type CliName, type Outcome, type Rig } from './harness.ts';

/** The contract's cases, in the order they run. */
export const CONTRACT_CASES = ['conversation', 'handoff', 'call', 'login-call', '429', '500', 'hang', 'kill', 'egress'] as const;
export type ContractCase = (typeof CONTRACT_CASES)[number];

/** The whole contract, per message, on a daemon of its own. */
export function realCliSuite(name: CliName): void {
  let rig: Rig;

  beforeAll(async () => {
    rig = await startRig(CLI_CASES[name]);
  }, 120_000);

  afterAll(async () => {
    await rig?.cleanup();
    cleanupTemp();
  });

  contractCases(name, () => rig, CONTRACT_CASES);
}

/** The agent turns of an outcome (OpenCode's title call is its own request). */
export const turnsOf = (calls: ModelCall[]): ModelCall[] => calls.filter((c) => !isTitleCall(c.request));

export const describeOutcome = (o: Outcome): string =>
  JSON.stringify({ runs: o.runs.map((r) => ({ agent: r.agentId, status: r.status, error: r.error })), replies: o.replies, attempts: o.message.attempts, lastError: o.message.lastError });

/** Every agent turn went to the stand-in in the CLI's API, carrying the configured provider key (item 2). */
export function expectProviderCalls(rig: Rig, calls: ModelCall[]): void {
  const turns = turnsOf(calls);
  expect(turns.length, 'the model was asked').toBeGreaterThan(0);
  for (const call of turns) {
    expect(call.request.api).toBe(rig.cli.api);
    const credential = `${call.request.headers['x-api-key'] ?? ''} ${call.request.headers.authorization ?? ''}`;
    expect(credential, 'item 2: the request carries the configured provider key').toContain(PROVIDER_KEY);
  }
}

/** The system prompt and AGENTS.md reach the model once in each request, and the workspace's skills are listed once (item 6). */
export function expectInstructionsOnce(rig: Rig, calls: ModelCall[]): void {
  const turns = turnsOf(calls);
  expect(turns.length).toBeGreaterThan(0);
  for (const { marker, counts } of instructionCounts(rig, turns)) {
    expect(counts, `item 6: "${marker}" (${marker.startsWith('AGENTS') ? 'AGENTS.md' : 'system_prompt'}) reaches the model once in each request`).toEqual(counts.map(() => 1));
  }
  // The workspace's skills (.agents/skills, and .claude/skills linked to it) are listed once: in the prompt or a tool's description.
  const skill = 'Send a file (report, image, archive) to the human in the current chat.';
  const listed = turns.map((c) => JSON.stringify(c.request.body).split(skill).length - 1);
  expect(listed, 'item 6: the send-file skill is listed once in each request').toEqual(listed.map(() => 1));
}

/** A killed attempt is reported as killed, not with the CLI's last unrelated stderr line (Codex: "could not create PATH aliases"; item 7). */
export function expectReportedAsKilled(o: Outcome): void {
  expect(o.message.lastError ?? '', 'item 7: how the killed attempt is reported').toMatch(/SIGKILL|killed/i);
  expect(o.message.lastError ?? '', 'item 7: how the killed attempt is reported').not.toContain('PATH aliases');
}

/**
 * Registers `cases` of the contract for `name` on the rig `rig()` returns (started by the caller).
 * Each case uses markers and a sender of its own, so the cases run on a daemon shared with other tests.
 */
export function contractCases(name: CliName, rig: () => Rig, cases: readonly ContractCase[]): void {
  const cli = CLI_CASES[name];
  const has = (c: ContractCase): boolean => cases.includes(c);

  if (has('conversation'))
    it(`${name}: one resumed conversation of 4 turns: replies with the provider's key to its base URL; the earlier turn (message and reply) is sent once; the system prompt and AGENTS.md once per request; usage and cost of each call equal what the model served (items 2, 3, 6 and 7)`, async () => {
      // One conversation proves what were four cases (reply, resume, instructions, usage): each turn is a CLI start per message.
      const served = (k: number) => ({ inputTokens: 1000 * k + 17, outputTokens: 10 * k + 3 });
      rig().rule('CONVO-1x', () => ({ reply: 'Hello from the stand-in (REPLY-ok). Noted: pelican-ack.', usage: served(1) }));
      rig().rule('CONVO-2x', (request) => {
        // The earlier turn as history, or as a transcript in the message (a retry may start a new session with one).
        const remembered = occurrences(request, 'CONVO-1x remember') > 0 && occurrences(request, 'pelican-ack') > 0;
        return { reply: remembered ? 'The word was pelican.' : 'I have no earlier turn.', usage: served(2) };
      });
      for (const k of [3, 4]) rig().rule(`CONVO-${k}x`, () => ({ reply: `turn ${k} done`, usage: served(k) }));
      const messages = ['CONVO-1x remember the word pelican and say hello', 'CONVO-2x which word did I ask you to remember?', 'CONVO-3x turn 3', 'CONVO-4x turn 4'];
      for (const [i, message] of messages.entries()) {
        const k = i + 1;
        const o = await rig().send({ agent: 'alpha', senderId: 'conversation', message });
        const run = o.runs[0]!;
        expect(run.status, describeOutcome(o)).toBe('completed');
        expectProviderCalls(rig(), o.calls);
        if (k === 1) expect(o.replies.join('\n')).toContain('Hello from the stand-in (REPLY-ok).');
        if (k === 2) {
          expect(o.replies.join('\n'), describeOutcome(o)).toContain('The word was pelican.');
          for (const call of turnsOf(o.calls)) expect(occurrences(call.request, 'CONVO-1x remember'), 'the earlier message is in the history once').toBe(1);
          expectInstructionsOnce(rig(), o.calls);
        }
        const want = o.calls.reduce(
          (sum, c) => {
            const t = tokensOf(cli.api, c.served);
            return { input: sum.input + t.input, output: sum.output + t.output, usd: sum.usd + priceOf(c.served) };
          },
          { input: 0, output: 0, usd: 0 },
        );
        const label = `items 3/7: turn ${k} of a resumed session (calls served: ${o.calls.map((c) => `${isTitleCall(c.request) ? 'title ' : ''}${c.served.inputTokens}/${c.served.outputTokens}`).join(', ')})`;
        expect({ input: run.inputTokens, output: run.outputTokens }, label).toEqual({ input: want.input, output: want.output });
        expect(run.costUsd, `${label}: cost`).toBeCloseTo(cli.reportsCost ? want.usd : 0, 6);
      }
    });

  if (has('handoff'))
    it(`${name}: a handoff tag starts the teammate with the handed-off text`, async () => {
      rig().rule('HANDOFF-GO', () => ({ reply: 'Passing this on. [@beta: HANDOFF-CHECK please verify the numbers]' }));
      rig().rule('HANDOFF-CHECK', () => ({ reply: 'Verified: the numbers add up.' }));
      const o = await rig().send({ team: 'duo', senderId: 'handoff', message: 'HANDOFF-GO check the numbers with your teammate' });
      const beta = o.runs.find((r) => r.agentId === 'beta');
      expect(beta?.status, describeOutcome(o)).toBe('completed');
      expect(turnsOf(o.calls).some((c) => c.request.entries.some((e) => e.role === 'user' && e.text.includes('HANDOFF-CHECK please verify the numbers')))).toBe(true);
      expect(beta?.parentRunId).toBe(o.runs[0]?.runId);
    });

  if (has('call'))
    it(`${name}: \`tinyagi call\` works from the CLI's own shell tool (item 1)`, async () => {
      rig().rule('CALL-PARENT', (request) => {
        const out = toolOutput(request);
        if (out === undefined) return { shell: 'tinyagi call beta "CALL-CHILD what is the code?"' };
        return { reply: `The sub-agent said: ${out}` };
      });
      rig().rule('CALL-CHILD', () => ({ reply: 'The code is 4711.' }));
      const o = await rig().send({ agent: 'alpha', senderId: 'call', message: 'CALL-PARENT ask beta for the code' });
      const shellOutput = turnsOf(o.calls)
        .map((c) => toolOutput(c.request))
        .filter((t) => t !== undefined)
        .join('\n');
      expect(shellOutput, `item 1: the shell tool's output of \`tinyagi call\`\n${describeOutcome(o)}`).toContain('The code is 4711.');
      const child = o.runs.find((r) => r.agentId === 'beta');
      expect(child?.status, 'item 1: the sub-agent ran as a child of the calling run').toBe('completed');
      expect(child?.parentRunId).toBe(o.runs[0]?.runId);
      expect(o.replies.join('\n')).toContain('The code is 4711.');
    });

  if (has('login-call'))
    it(`${name}: \`"$TINYAGI_CLI" call\` works from a login shell, whose start-up files reset PATH (item 1)`, async () => {
      // What the system prompt names as the fallback when a shell lost the shim's directory: /etc/profile (Debian) sets a fixed PATH.
      rig().rule('LOGIN-PARENT', (request) => {
        const out = toolOutput(request);
        if (out === undefined) return { shell: `bash -lc '"$TINYAGI_CLI" call beta "LOGIN-CHILD what is the code?"; echo "exit $?"'` };
        return { reply: `The sub-agent said: ${out}` };
      });
      rig().rule('LOGIN-CHILD', () => ({ reply: 'The login code is 2718.' }));
      const o = await rig().send({ agent: 'alpha', senderId: 'login-call', message: 'LOGIN-PARENT ask beta for the code' });
      const shellOutput = turnsOf(o.calls)
        .map((c) => toolOutput(c.request))
        .filter((t) => t !== undefined)
        .join('\n');
      expect(shellOutput, `item 1: the output of \`"$TINYAGI_CLI" call\` in a login shell\n${describeOutcome(o)}`).toContain('The login code is 2718.');
      expect(shellOutput).toContain('exit 0');
      expect(o.runs.find((r) => r.agentId === 'beta')?.parentRunId).toBe(o.runs[0]?.runId);
    });

  /**
   * The failing turns of an agent (429, 500 and kill on alpha; hang on gamma) are resumed turns of one
   * conversation, where a retry can repeat the message: a warm-up turn starts it once, before the first.
   */
  const warmedUp = new Map<string, Promise<void>>();
  function warmUp(agent: string): Promise<void> {
    let done = warmedUp.get(agent);
    if (!done) {
      rig().rule(`WARM-${agent}-c9`, () => ({ reply: 'warm' }));
      done = rig()
        .send({ agent, senderId: `retry-${agent}`, message: `WARM-${agent}-c9 hello` })
        .then(() => undefined);
      warmedUp.set(agent, done);
    }
    return done;
  }

  /** `failure(first)` answers each request of the failing turn; `first` is its very first request. */
  async function failingTurn(kind: string, failure: (first: boolean) => ModelAction, lift?: () => void, agent = 'alpha'): Promise<{ o: Outcome; marker: string }> {
    const marker = `FAIL-${kind}-c9`;
    await warmUp(agent);
    rig().rule(marker, (request, calls) => failure(calls.length === 0 && toolOutput(request) === undefined));
    const o = await rig().send({
      agent,
      senderId: `retry-${agent}`,
      message: `${marker} please answer`,
      ...(lift
        ? {
            whileRunning: async (messageId: string) => {
              await waitFor(async () => (await rig().daemon.api.getMessage({ params: { id: messageId } })).message.lastError !== null, 120_000, `the first attempt of ${kind} to fail`);
              lift();
            },
          }
        : {}),
    });
    return { o, marker };
  }

  function expectOnce(o: Outcome, marker: string, kind: string): void {
    expect(o.runs[0]?.status, `item 4: the ${kind} turn completes after a retry\n${describeOutcome(o)}`).toBe('completed');
    expect(o.replies.join('\n')).toContain(`recovered from ${kind}`);
    const answered = turnsOf(o.calls).filter((c) => 'reply' in c.action);
    expect(answered.length).toBeGreaterThan(0);
    for (const call of answered) {
      expect(occurrences(call.request, marker), `item 4: after a ${kind}, the retried message reaches the model once`).toBe(1);
      expect(
        call.request.entries.filter((e) => e.text.trim() === 'No response requested.'),
        `item 4: no synthetic turn from the failed attempt after a ${kind}`,
      ).toEqual([]);
    }
  }

  for (const status of [429, 500] as const) {
    if (has(String(status) as ContractCase))
      it(`${name}: ${status} from the model is retried, and the message reaches the model once (item 4)`, async () => {
        let lifted = false;
        const { o, marker } = await failingTurn(
          String(status),
          () => (lifted ? { reply: `recovered from ${status}` } : { status, retryAfterS: 0, message: `stand-in ${status}` }),
          () => {
            lifted = true;
          },
        );
        expectOnce(o, marker, String(status));
      }, 240_000);
  }

  if (has('hang'))
    it(`${name}: a hung model call (after a completed tool step) is killed by the watchdog, retried once, its reported usage kept (items 4 and 5)`, async () => {
      let hung = false;
      const { o, marker } = await failingTurn(
        'hang',
        (first) => {
          if (first) return { shell: 'echo step-one' };
          if (!hung) {
            hung = true;
            return { hang: true };
          }
          return { reply: 'recovered from hang' };
        },
        undefined,
        'gamma',
      );
      expectOnce(o, marker, 'hang');
      expect(o.message.attempts, 'the daemon retried the hung attempt').toBeGreaterThanOrEqual(2);
      if (name === 'opencode') {
        // OpenCode reports each finished step (step_finish): the tool step before the hang was reported, so it is recorded.
        const served = o.calls.reduce((n, c) => n + tokensOf(cli.api, c.served).input, 0);
        expect(o.runs[0]?.inputTokens, 'item 5: usage reported before the watchdog killed the attempt is recorded').toBe(served);
      }
    }, 240_000);

  if (has('kill'))
    it(`${name}: a CLI killed mid-request is retried, the message reaching the model once, the attempt reported as killed (items 4 and 7)`, async () => {
      const { o, marker } = await failingTurn('kill', (first) => (first ? { kill: true } : { reply: 'recovered from kill' }));
      expectOnce(o, marker, 'kill');
      expect(o.message.attempts, 'the daemon retried the killed attempt').toBeGreaterThanOrEqual(2);
      expectReportedAsKilled(o);
    }, 240_000);

  if (has('egress'))
    it(`${name}: no request of the configured provider went anywhere but its base URL (item 2)`, () => {
      const refused = rig().proxy.refused.filter((r) => cli.vendorHosts.includes(r.host));
      expect(
        refused.map((r) => `${r.method} ${r.host}:${r.port}`),
        `item 2: ${name} tried its vendor's hosts instead of the stand-in (all refused hosts: ${rig().proxy.hosts().join(', ')})`,
      ).toEqual([]);
      const viaProxy = rig().proxy.refused.filter((r) => r.url?.startsWith(rig().model.url));
      expect(viaProxy, 'item 2: requests to the base URL are sent directly, not through the proxy').toEqual([]);
      expect(rig().model.unknown, 'no request to a path the stand-in does not serve').toEqual([]);
    });
}
