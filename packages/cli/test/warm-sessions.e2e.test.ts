/**
 * Warm sessions through the built daemon (docs/sessions.md): an agent with `process: "warm"` on
 * a plugin runtime that brings a warm driver (fixtures/warm-runtime: test-kit's bin/fake-warm,
 * loaded from TINYAGI_HOME/kinds/ as a plugin's runtime is) answers three messages from one
 * process; `tinyagi status` and `tinyagi sessions` show it; `tinyagi stop` closes it; after a
 * restart the stored session is resumed by a new warm process (the fake keeps its
 * turns on disk as a CLI does), and `tinyagi sessions --close` ends it. The commands run in this
 * process (`cliHere`).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createDaemon, waitFor, type TestDaemon } from '@tinyagi/test-kit';

const FIXTURE = fileURLToPath(new URL('./fixtures/warm-runtime/runtime.ts', import.meta.url));

let h: TestDaemon;
let starts: string;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function reply(out: string): { turn: number; session: string; pid: number } {
  const m = /fake-warm turn (\d+) of (\w+) \(pid (\d+)\)/.exec(out);
  if (!m) throw new Error(`no fake-warm reply in: ${out}`);
  return { turn: Number(m[1]), session: String(m[2]), pid: Number(m[3]) };
}

function startedPids(): number[] {
  return readFileSync(starts, 'utf8').trim().split('\n').filter(Boolean).map(Number);
}

beforeAll(async () => {
  h = await createDaemon({
    prefix: 'tinyagi-warm-sessions-',
    settings: ({ root }) => ({
      workspace: { path: `${root}/workspace` },
      models: { provider: 'mock' },
      agents: { warm: { provider: 'fake-warm', process: 'warm' } },
      channels: { enabled: [] },
    }),
    env: {},
  });
  starts = join(h.root, 'fake-warm-starts');
  h.env.FAKE_WARM_STATE = h.root;
  h.env.FAKE_WARM_STARTS = starts;
  writeFileSync(starts, '');
  mkdirSync(join(h.home, 'kinds'), { recursive: true });
  writeFileSync(join(h.home, 'kinds', 'fake-warm.mjs'), `export * from ${JSON.stringify(pathToFileURL(FIXTURE).href)};\n`);
  await h.start();
}, 120_000);

afterAll(async () => {
  await h?.cleanup();
});

it('three messages run on one warm process; status and sessions show it; stop closes it; after a restart a new process resumes the session', async () => {
  const one = reply(await h.cliHereOk(['send', '--agent', 'warm', '--wait', 'first']));
  const two = reply(await h.cliHereOk(['send', '--agent', 'warm', '--wait', 'second']));
  const three = reply(await h.cliHereOk(['send', '--agent', 'warm', '--wait', 'third']));
  expect([one.turn, two.turn, three.turn]).toEqual([1, 2, 3]);
  expect(new Set([one.pid, two.pid, three.pid]).size).toBe(1);
  expect(startedPids()).toEqual([one.pid]);

  const status = await h.cliHereOk(['status']);
  expect(status).toMatch(/Warm sessions:\s+1, \d+ MB/);
  const listed = JSON.parse(await h.cliHereOk(['sessions', '--json'])) as { sessions: Array<Record<string, unknown>>; limits: Record<string, unknown> };
  expect(listed.sessions).toEqual([expect.objectContaining({ agentId: 'warm', sessionKey: 'shared', driver: 'fake-warm', pid: one.pid, busy: false, turns: 3 })]);
  expect(String(listed.sessions[0]?.sessionId)).toMatch(new RegExp(`^${one.session}`));
  // The field's old name is still sent, with the same value, for the clients that read it.
  expect(listed.sessions[0]?.providerSessionId).toBe(listed.sessions[0]?.sessionId);
  expect(listed.limits).toEqual({ maxTotal: 16, maxPerAgent: 4, idleMinutes: 15, memoryShare: 0.6 });
  expect(await h.cliHereOk(['sessions'])).toContain('warm');

  await h.stop();
  expect(alive(one.pid)).toBe(false);
  await h.start();
  const four = reply(await h.cliHereOk(['send', '--agent', 'warm', '--wait', 'after the restart']));
  expect(four).toMatchObject({ turn: 4, session: one.session });
  expect(four.pid).not.toBe(one.pid);
  expect(startedPids()).toEqual([one.pid, four.pid]);

  expect(await h.cliHereOk(['sessions', '--close', 'warm'])).toContain('Closed 1 warm session of warm.');
  await waitFor(() => !alive(four.pid), 20_000, 'the closed process to exit');
  expect(JSON.parse(await h.cliHereOk(['sessions', '--json'])).sessions).toEqual([]);
  // The next message starts a process again, resuming the same session.
  const five = reply(await h.cliHereOk(['send', '--agent', 'warm', '--wait', 'after the close']));
  expect(five).toMatchObject({ turn: 5, session: one.session });
}, 180_000);

it('sessions settings apply without a restart: over sessions.memory_share a start is refused with the figures (retryable SESSION_POOL_FULL), and the message fails after its attempts', async () => {
  await h.api.patchSettings({ body: { sessions: { memory_share: 0.001 }, queue: { max_attempts: 1 } } });
  await waitFor(async () => (await h.api.listSessions()).limits.memoryShare === 0.001, 20_000, 'the new sessions settings');
  await h.cliHereOk(['sessions', '--close', 'warm']);
  const sent = await h.cliHere(['send', '--agent', 'warm', '--wait', 'refused by memory']);
  expect(sent.code).not.toBe(0);
  // The reason is in the daemon's reply (stdout); the error points at it.
  expect(sent.stdout).toMatch(/warm session refused: starting another fake-warm \(~\d+ MB\) would take memory use to \d+% of [\d.]+ GiB, above sessions\.memory_share 0\.001/);
  expect((await h.api.listSessions()).sessions).toEqual([]);
  await h.api.patchSettings({ body: { sessions: null, queue: null } });
}, 120_000);
