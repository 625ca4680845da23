/**
 * An agent's CLI session on each side of the boundary (docs/sessions.md, "When a run changes
 * side"), with the real bwrap and the fake CLIs keeping their sessions in HOME as the real ones
 * do: a confined run's CLI keeps its session in the agent's private home, an unconfined one in the
 * person's home, so each side resumes its own; a stored id the CLI no longer has is dropped for a
 * new session with the transcript, once, instead of failing the run.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAKE_BIN_DIR, fakeCli } from '@tinyagi/test-kit';
import type { SandboxSpec } from '@tinyagi/sandbox';
import { fakeLogEntries } from './fixtures/fake-cli-log.ts';
import { invokeAgent, sessionPool, type InvokeProgress, type InvokeRequest, type InvokeResult, type InvokeSession, type InvokeTarget } from '../src/invoker/index.ts';

/** In ~/.cache: inside the sandbox /tmp is a private tmpfs, and the root is read-only. */
const SCRATCH = join(homedir(), '.cache');

const CASES: Array<{ name: string; target: InvokeTarget }> = [
  { name: 'claude', target: { runtime: 'claude-code', provider: 'test', command: fakeCli('claude') } },
  { name: 'claude warm', target: { runtime: 'claude-code', provider: 'test', command: fakeCli('claude'), warm: true } },
  { name: 'codex', target: { runtime: 'codex', provider: 'test', command: fakeCli('codex'), env: { OPENAI_API_KEY: 'sk-test' } } },
  { name: 'codex warm', target: { runtime: 'codex', provider: 'test', command: fakeCli('codex'), env: { OPENAI_API_KEY: 'sk-test' }, warm: true } },
  { name: 'opencode', target: { runtime: 'opencode', provider: 'custom:standin', command: fakeCli('opencode'), model: 'gpt-5.1', baseUrl: 'http://127.0.0.1:9/v1', apiKey: 'sk-test' } },
  {
    name: 'opencode warm (ACP)',
    target: { runtime: 'opencode', provider: 'custom:standin', command: fakeCli('opencode'), model: 'gpt-5.1', baseUrl: 'http://127.0.0.1:9/v1', apiKey: 'sk-test', warm: true },
  },
  { name: 'acp', target: { runtime: 'acp', provider: 'acp', command: join(FAKE_BIN_DIR, 'fake-acp'), args: ['--experimental-acp'], warm: true } },
];

let root: string;
let home: string;
let spec: SandboxSpec;
let savedHome: string | undefined;

beforeAll(() => {
  mkdirSync(SCRATCH, { recursive: true });
  root = mkdtempSync(join(SCRATCH, 'tinyagi-sides-'));
  home = join(root, 'home');
  const tinyHome = join(home, '.tinyagi');
  const workspaceRoot = join(home, 'tinyagi-workspace');
  mkdirSync(tinyHome, { recursive: true });
  mkdirSync(workspaceRoot, { recursive: true });
  // The person's home: where an unconfined CLI keeps its sessions.
  savedHome = process.env.HOME;
  process.env.HOME = home;
  spec = { mode: 'required', tinyHome, workspaceRoot, memoryMb: 1024 };
});

afterAll(async () => {
  await sessionPool.closeAll();
  process.env.HOME = savedHome;
  rmSync(root, { recursive: true, force: true });
});

interface LogEntry {
  cli: string;
  argv?: string[];
  prompt?: string;
  context?: string;
  sessionNew?: string;
  sessionLoad?: string;
}

/** One agent's conversation: each turn as the orchestrator runs it (the stored session in, the result stored). */
function conversation(name: string, target: InvokeTarget) {
  const agentId = `sides-${name.replace(/\W+/g, '-')}`;
  const cwd = join(spec.workspaceRoot, agentId);
  mkdirSync(cwd, { recursive: true });
  // In the workspace: the one folder both sides write.
  const logFile = join(cwd, '.fake.log');
  let stored: InvokeSession = { key: 'shared', resumeId: null, history: [] };
  const statuses: string[] = [];
  return {
    logFile,
    statuses,
    get stored() {
      return stored;
    },
    set stored(session: InvokeSession) {
      stored = session;
    },
    async turn(prompt: string, confined: boolean): Promise<InvokeResult> {
      const req: InvokeRequest = {
        agentId,
        target: { ...target, ...(confined ? { sandbox: spec, confined: true } : {}) },
        prompt,
        systemPrompt: `You are ${agentId}.`,
        cwd,
        env: { FAKE_LOG: logFile, FAKE_SESSIONS_IN_HOME: '1' },
        session: { ...stored, turn: (stored.history?.length ?? 0) / 2 + 1 },
        onEvent: (e: InvokeProgress) => {
          if (e.type === 'status') statuses.push(e.message);
        },
      };
      const result = await invokeAgent(req);
      const history = [...(stored.history ?? []), { role: 'user' as const, content: prompt }, { role: 'assistant' as const, content: result.text }];
      stored = {
        key: 'shared',
        resumeId: result.sessionId ?? stored.resumeId ?? null,
        history,
        ...((result.instructionsHash ?? stored.instructionsHash) ? { instructionsHash: result.instructionsHash ?? stored.instructionsHash } : {}),
        ...((result.runtimeState ?? stored.runtimeState) ? { runtimeState: result.runtimeState ?? stored.runtimeState } : {}),
      };
      return result;
    },
    log: (): LogEntry[] => fakeLogEntries<LogEntry>(logFile),
  };
}

describe.concurrent.each(CASES)('$name', ({ name, target }) => {
  it('confined, unconfined, confined again, unconfined again: each run succeeds and each side resumes its own session', async () => {
    const c = conversation(name, target);
    const ids: string[] = [];
    for (const [i, confined] of [false, true, false, true].entries()) {
      const result = await c.turn(`turn ${i + 1}: remember ${i + 1}0 FAKE:reply=noted`, confined);
      expect(result.text).not.toBe('');
      ids.push(result.sessionId ?? '');
    }
    // Two CLI sessions, one per side, each resumed when its side comes back.
    expect(ids[0]).not.toBe(ids[1]);
    expect(ids[2]).toBe(ids[0]);
    expect(ids[3]).toBe(ids[1]);
    // What reached the model on each turn: the conversation so far, each turn once, whichever side ran it
    // (a new session gets the transcript, a resumed one the turns the other side ran meanwhile).
    const contexts = c
      .log()
      .map((e) => e.context ?? '')
      .filter((x) => x !== '');
    for (const turn of [2, 3, 4]) {
      const context = contexts.find((x) => x.includes(`turn ${turn}: remember ${turn}0`));
      for (let earlier = 1; earlier < turn; earlier++) expect(context?.split(`turn ${earlier}: remember ${earlier}0`).length, `turn ${earlier} in turn ${turn}`).toBe(2);
    }
    expect(c.statuses.filter((s) => /session .* is gone/.test(s))).toEqual([]);
  });

  it('a stored session the CLI does not have is dropped for a new one with the transcript, once, and the run succeeds', async () => {
    const c = conversation(`${name} stale`, target);
    const stale = name.startsWith('opencode') || name === 'acp' ? 'ses_0000000000000000deadbeef' : '3f0c5b7e-1111-4111-8111-111111111111';
    c.stored = {
      key: 'shared',
      resumeId: stale,
      history: [
        { role: 'user', content: 'the code word is pelican' },
        { role: 'assistant', content: 'noted' },
      ],
    };
    const result = await c.turn('what is the code word?', false);
    expect(result.sessionId).toBeDefined();
    expect(result.sessionId).not.toBe(stale);
    const contexts = c.log().map((e) => e.context ?? '');
    expect(contexts.filter((x) => x.includes('what is the code word?'))).toHaveLength(1);
    expect(contexts.some((x) => x.includes('pelican'))).toBe(true);
    expect(c.statuses.filter((s) => s.includes(`CLI session ${stale} is gone`))).toHaveLength(1);
    // And the next turn resumes the new session.
    const next = await c.turn('and again?', false);
    expect(next.sessionId).toBe(result.sessionId);
  });
});

it('claude: a session stored before sides were told apart is recovered from on the other side and resumed again on its own', async () => {
  const c = conversation('claude unsided', CASES[0]!.target);
  const first = await c.turn('turn 1: remember 10 FAKE:reply=noted', false);
  // As a row written before: the runtime's own state, no side.
  c.stored = { ...c.stored, runtimeState: (JSON.parse(c.stored.runtimeState ?? '{}') as { state?: string }).state ?? '' };
  const second = await c.turn('turn 2: remember 20 FAKE:reply=noted', true);
  expect(second.sessionId).not.toBe(first.sessionId);
  expect(c.statuses.filter((s) => s.includes(`${first.sessionId} is gone`))).toHaveLength(1);
  const third = await c.turn('turn 3: remember 30 FAKE:reply=noted', false);
  expect(third.sessionId).toBe(first.sessionId);
  const context = c.log().find((e) => e.context?.includes('turn 3: remember 30'))?.context ?? '';
  expect(context.split('turn 2: remember 20')).toHaveLength(2);
  expect(c.statuses).toHaveLength(1);
});
