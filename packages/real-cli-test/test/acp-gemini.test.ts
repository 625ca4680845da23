/**
 * Gemini CLI as an ACP agent (issue 48 §4): the real `gemini --acp` of @google/gemini-cli 0.61.0
 * through TinyAGI's generic `acp` runtime (warm sessions,, runtimes/acp.ts), configured as its
 * users configure it — GEMINI_API_KEY and GOOGLE_GEMINI_BASE_URL named in env_passthrough (a
 * gateway: the test kit's Gemini API stand-in), the model and no usage statistics in the user's
 * ~/.gemini/settings.json (one agent chooses another model with TinyAGI's `model`:
 * session/set_model) — on one daemon, every other host refused. docs/sessions.md, "The `acp`
 * runtime", has this recipe.
 *
 * - Tokens: Gemini answers a prompt with `_meta.quota` (the turn's prompt and candidate tokens
 *   per model, summed over its model calls), not ACP's `usage`; they are what the stand-in served.
 * - A loaded session's history, which Gemini replays after answering session/load, is not the
 *   next turn's reply.
 * - Gemini's notices (`[MODE_UPDATE] plan`, sent as an agent message chunk while a tool runs)
 *   and what the model said before a tool call are not glued into the reply.
 * - AGENTS.md reaches the model once (Gemini reads GEMINI.md, not AGENTS.md, and only in a
 *   trusted folder; TinyAGI gives the instructions in-band).
 * - Under `permission_mode: "ask"` a command Gemini asks about reaches TinyAGI's approval desk.
 * - `tinyagi doctor` finds `gemini` on the daemon's PATH and reports the version Gemini gives on
 *   ACP initialize (agentInfo).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unsignReply } from '@tinyagi/client';
import { cleanupTemp, toolOutput, waitFor, type ModelCall } from '@tinyagi/test-kit';
import { CLI_CASES, PROVIDER_KEY, instructionCounts, startRig, type CliCase, type Outcome, type Rig } from './harness.ts';
import { describeOutcome } from './suite.ts';

/** The rig's stand-in serves the Gemini API; a request with the key at Google's host is a leak. */
const cli: CliCase = { ...CLI_CASES.claude, vendorHosts: ['generativelanguage.googleapis.com'] };
/** The model of the user's ~/.gemini/settings.json, and the one agent gemask chooses with TinyAGI's `model`. */
const GEMINI_MODEL = 'gemini-2.5-pro';
const CHOSEN_MODEL = 'gemini-2.5-flash';

const geminiAgent = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  provider: 'acp',
  process: 'warm',
  acp: { command: 'gemini', args: ['--acp'] },
  env_passthrough: ['GEMINI_API_KEY', 'GOOGLE_GEMINI_BASE_URL'],
  ...extra,
});

let rig: Rig;
const workspaceOf = (agent: string): string => join(rig.daemon.root, 'workspace', agent);

/** The replies delivered, without the agent's signature line. */
const repliesOf = (o: Outcome, agent: string): string[] => o.replies.map((r) => unsignReply(r, agent));

/** Every request of the outcome went to the stand-in's Gemini API, with the key and the model. */
function expectGeminiCalls(o: Outcome, model: string): void {
  expect(o.calls.length, 'the model was asked').toBeGreaterThan(0);
  for (const c of o.calls) {
    expect(c.request.api).toBe('gemini');
    expect(c.request.model).toBe(model);
    expect(c.request.headers['x-goog-api-key']).toBe(PROVIDER_KEY);
  }
}

/** The tokens of what was served: Gemini's promptTokenCount counts its cached tokens. */
function served(calls: ModelCall[]): { input: number; output: number } {
  return calls.reduce((sum, c) => ({ input: sum.input + c.served.inputTokens, output: sum.output + c.served.outputTokens }), { input: 0, output: 0 });
}

/**
 * Gemini CLI 0.61 names a session's file by the minute the session started
 * (`~/.gemini/tmp/<project>/chats/session-<YYYY-MM-DDTHH-mm>-<id8>.jsonl`), and session/load
 * starts a recording in a file named the same way: loaded within the minute it was created, the
 * session's file gets a fresh header after its history, which empties it, and the load fails
 * ("No previous sessions found"; TinyAGI then starts a new session with the transcript). The
 * test dates the file back a minute, as a session loaded a minute or more later finds it.
 */
function dateGeminiSessionBack(sessionId: string): void {
  const tmp = join(rig.daemon.root, '.gemini', 'tmp');
  for (const project of readdirSync(tmp)) {
    const chats = join(tmp, project, 'chats');
    if (!existsSync(chats)) continue;
    for (const name of readdirSync(chats)) {
      if (!name.endsWith(`-${sessionId.slice(0, 8)}.jsonl`)) continue;
      if (!readFileSync(join(chats, name), 'utf8').startsWith(`{"sessionId":"${sessionId}"`)) continue;
      renameSync(join(chats, name), join(chats, `session-2000-01-01T00-00-${sessionId.slice(0, 8)}.jsonl`));
      return;
    }
  }
  throw new Error(`no Gemini session file for ${sessionId} under ${tmp}`);
}

const alive = (pid: number): boolean => existsSync(`/proc/${pid}`) && !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');

describe('Gemini CLI (gemini --acp)', () => {
  beforeAll(async () => {
    rig = await startRig(cli, {
      daemonEnv: (url) => ({ GEMINI_API_KEY: PROVIDER_KEY, GOOGLE_GEMINI_BASE_URL: url }),
      // The user's own Gemini settings: the model, and no usage statistics (Gemini would send them to play.googleapis.com).
      prepareHome: (home) => {
        mkdirSync(join(home, '.gemini'), { recursive: true });
        const settings = { model: { name: GEMINI_MODEL }, privacy: { usageStatisticsEnabled: false } };
        writeFileSync(join(home, '.gemini', 'settings.json'), `${JSON.stringify(settings, null, 2)}\n`);
      },
      agents: { gem: geminiAgent(), gemask: geminiAgent({ permission_mode: 'ask', model: CHOSEN_MODEL }) },
    });
  }, 120_000);

  afterAll(async () => {
    await rig?.cleanup();
    cleanupTemp();
  });

  it("tokens of a turn with a tool call are recorded from Gemini's _meta.quota: what the stand-in served; the reply is the model's last message", async () => {
    rig.rule('GTOK-1', (request) =>
      toolOutput(request) === undefined
        ? { shell: 'echo tool-ran-7', text: 'Let me run it.', usage: { inputTokens: 1410, outputTokens: 23, cacheReadTokens: 400 } }
        : { reply: `done: ${toolOutput(request)?.includes('tool-ran-7') ? 'saw it' : 'missed it'}`, usage: { inputTokens: 1655, outputTokens: 31 } },
    );
    const o = await rig.send({ agent: 'gem', senderId: 'tokens', message: 'GTOK-1 run the tool' });
    expect(o.runs[0]?.status, describeOutcome(o)).toBe('completed');
    expectGeminiCalls(o, GEMINI_MODEL);
    expect(o.calls).toHaveLength(2);
    const run = o.runs[0]!;
    expect({ input: run.inputTokens, output: run.outputTokens }, 'the tokens served for both model calls').toEqual(served(o.calls));
    expect(repliesOf(o, 'gem'), describeOutcome(o)).toEqual(['done: saw it']);
    expect(rig.proxy.refused, 'nothing tried to leave the machine').toEqual([]);
  });

  it("Gemini's notices ([MODE_UPDATE] while a tool runs) and what the model said before the tool call are not glued into the reply", async () => {
    rig.rule('GNOTE-1', (request) => (toolOutput(request) === undefined ? { tool: 'enter_plan_mode', input: { reason: 'to plan first' }, text: 'Planning first.' } : { reply: 'PLAN-READY' }));
    const o = await rig.send({ agent: 'gem', senderId: 'notice', message: 'GNOTE-1 plan it' });
    expect(o.runs[0]?.status, describeOutcome(o)).toBe('completed');
    expect(o.calls).toHaveLength(2);
    expect(repliesOf(o, 'gem'), describeOutcome(o)).toEqual(['PLAN-READY']);
  });

  it('AGENTS.md and the system prompt reach the model once in every request of a two-turn session', async () => {
    rig.rule('GINS-1', () => ({ reply: 'first' }));
    rig.rule('GINS-2', () => ({ reply: 'second' }));
    const first = await rig.send({ agent: 'gem', senderId: 'instructions', message: 'GINS-1 hello' });
    const second = await rig.send({ agent: 'gem', senderId: 'instructions', message: 'GINS-2 again' });
    for (const o of [first, second]) expect(o.runs[0]?.status, describeOutcome(o)).toBe('completed');
    const calls = [...first.calls, ...second.calls];
    for (const { marker, counts } of instructionCounts(rig, calls)) {
      expect(counts, `"${marker}" (${marker.startsWith('AGENTS') ? 'AGENTS.md' : 'system_prompt'}) reaches the model once in each request`).toEqual(counts.map(() => 1));
    }
    // The second turn continued the session: the first is in its history once.
    expect(JSON.stringify(second.calls.at(-1)?.request.body).split('GINS-1 hello').length - 1).toBe(1);
  });

  it("a closed session is loaded (session/load) by a new process: Gemini's replay of its history is not the next reply", async () => {
    rig.rule('GLOAD-1', () => ({ reply: 'noted: the word is osprey' }));
    const first = await rig.send({ agent: 'gem', senderId: 'load', message: 'GLOAD-1 remember osprey' });
    expect(first.runs[0]?.status, describeOutcome(first)).toBe('completed');
    const before = (await rig.daemon.api.listSessions()).sessions.find((s) => s.agentId === 'gem' && s.sessionKey.includes('load'));
    expect(before?.sessionId, 'the agent named its ACP session').toMatch(/^[\w.-]{8,}$/);
    const closed = await rig.daemon.api.closeSessions({ body: { agent: 'gem', sessionKey: before!.sessionKey } });
    expect(closed.closed).toBe(1);
    if (before?.pid) await waitFor(() => !alive(before.pid!) || undefined, 30_000, 'the closed gemini process to exit', 100);
    dateGeminiSessionBack(before!.sessionId!);
    rig.rule('GLOAD-2', (request) => ({ reply: JSON.stringify(request.body).includes('the word is osprey') ? 'it was osprey' : 'no history' }));
    const o = await rig.send({ agent: 'gem', senderId: 'load', message: 'GLOAD-2 which word?' });
    expect(o.runs[0]?.status, describeOutcome(o)).toBe('completed');
    expect(repliesOf(o, 'gem'), describeOutcome(o)).toEqual(['it was osprey']);
    const body = JSON.stringify(o.calls.at(-1)?.request.body);
    expect(body, 'the session was loaded, not replaced by a transcript').not.toContain('earlier_conversation');
    expect(body.split('GLOAD-1 remember osprey').length - 1, 'the earlier message is in the history once').toBe(1);
    const after = (await rig.daemon.api.listSessions()).sessions.find((s) => s.sessionKey === before!.sessionKey);
    expect(after?.sessionId).toBe(before?.sessionId);
    expect(after?.pid).not.toBe(before?.pid);
  });

  it('permission_mode ask: a command Gemini asks about reaches the approval desk; allowed, it runs', async () => {
    const file = join(workspaceOf('gemask'), 'desk-made.txt');
    rig.rule('GDESK-1', (request) => (toolOutput(request) === undefined ? { shell: 'touch desk-made.txt' } : { reply: `after the tool: ${existsSync(file) ? 'made' : 'not made'}` }));
    let asked: { tool: string; summary: string } | undefined;
    const o = await rig.send({
      agent: 'gemask',
      senderId: 'desk',
      message: 'GDESK-1 make the file',
      whileRunning: async () => {
        const pending = await waitFor(async () => (await rig.daemon.api.listApprovals({ query: { status: 'pending', agent: 'gemask' } }))[0], 60_000, 'a pending approval request');
        asked = { tool: pending.tool, summary: pending.summary };
        expect(existsSync(file), 'nothing ran before the answer').toBe(false);
        await rig.daemon.api.decideApproval({ params: { id: pending.id }, body: { decision: 'allow_once', by: 'test' } });
      },
    });
    expect(o.runs[0]?.status, describeOutcome(o)).toBe('completed');
    expect(asked?.tool).toBe('execute');
    expect(asked?.summary).toContain('touch desk-made.txt');
    expect(existsSync(file)).toBe(true);
    expect(repliesOf(o, 'gemask')).toEqual(['after the tool: made']);
    expectGeminiCalls(o, CHOSEN_MODEL);
  });

  it("tinyagi doctor finds gemini on the daemon's PATH and reports the version it gives on ACP initialize", async () => {
    const result = await rig.daemon.cli(['doctor', '--json']);
    const { findings } = JSON.parse(result.stdout) as { findings: Array<{ check: string; status: string; message: string; details?: Record<string, unknown> }> };
    for (const id of ['gem', 'gemask']) {
      expect(findings.find((f) => f.check === `acp:${id}`)).toMatchObject({
        status: 'ok',
        message: expect.stringMatching(new RegExp(`^Agent "${id}": ACP agent \`gemini --acp\` at .*/gemini: Gemini CLI 0\\.61\\.0$`)),
        details: { name: 'gemini-cli', version: '0.61.0', protocolVersion: 1 },
      });
    }
  });
});
