/**
 * `tinyagi send --wait` when a guard holds work for a decision (and how `conversation list|show`
 * show that), and when the daemon goes away while it waits: it says so at once (not a silent
 * wait), and when this home's daemon stays gone it says the daemon stopped, instead of waiting
 * out its timeout; a restart is waited through. The waits that outlive their daemon are built
 * `tinyagi` processes; the other commands run in this process (`cliHere`).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createDaemon, exitOf, spawnCli, waitFor, type TestDaemon } from '@tinyagi/test-kit';

let daemon: TestDaemon;

beforeAll(async () => {
  daemon = await createDaemon({
    prefix: 'tinyagi-send-wait-',
    settings: ({ root }) => ({
      workspace: { path: `${root}/workspace` },
      models: { provider: 'mock' },
      agents: {
        slowpoke: { provider: 'mock', mock: { reply: 'hi', replies: [{ match: 'hang', latency_ms: 600_000, reply: 'too late' }] } },
        p1: { provider: 'mock', mock: { reply: 'Over to you. [@p2: your turn]' } },
        p2: { provider: 'mock', mock: { reply: 'Back at you. [@p1: no, yours]' } },
      },
      teams: { pp: { agents: ['p1', 'p2'], leader_agent: 'p1' } },
      limits: { max_hops: 2 },
      channels: { enabled: [] },
    }),
  });
  await daemon.start();
});

afterAll(async () => {
  await daemon?.cleanup();
});

it('a handoff held by a guard: --wait exits 1 and says how to decide; `continue --wait` follows the resumed work, `stop` ends it', async () => {
  const held = await daemon.cliHere(['send', '--team', 'pp', '--wait', 'start the ping-pong']);
  expect(held.code).toBe(1);
  expect(held.stderr).toContain('The conversation waits for your decision: a guard held work back');
  expect(held.stderr).toContain('tinyagi send continue');
  // The conversation list and the run tree say it waits, not that it completed.
  const [waiting] = (await daemon.cliHereOk(['conversation', 'list', '--team', 'pp'])).split('\n').filter((l) => l.startsWith('conv_'));
  expect(waiting).toMatch(/^conv_\S+\s+waiting\s+#pp\b/);
  const shown = await daemon.cliHereOk(['conversation', 'show', waiting!.split(/\s+/)[0]!]);
  expect(shown.split('\n')[0]).toMatch(/\bwaiting$/);
  expect(shown).toContain('It waits for your decision: a guard held work back. Go on with `tinyagi send continue`');
  // `continue --wait` follows the work it resumed: the held handoff is delivered, the
  // ping-pong goes on until the raised limit holds it again, and that is what it reports.
  const resumed = await daemon.cliHere(['send', '--team', 'pp', '--wait', 'continue']);
  expect(resumed.stdout).toContain('Limits raised to 2× for this conversation; 1 held message delivered.');
  expect(resumed.stderr).toMatch(/@p[12] is working/);
  expect(resumed.stdout).toMatch(/Back at you|Over to you/);
  expect(resumed.code).toBe(1);
  expect(resumed.stderr).toContain('The conversation waits for your decision');
  const stopped = await daemon.cliHereOk(['send', '--team', 'pp', '--wait', 'stop']);
  expect(stopped).toContain('Stopped.');
});

it('the daemon killed while a reply is awaited: the wait says the connection is lost, then that the daemon stopped, long before its timeout', async () => {
  const send = spawnCli(['send', '--agent', 'slowpoke', '--wait', '--timeout', '120', 'please hang on'], daemon.env, { build: 'built' });
  await waitFor(() => (send.output().includes('@slowpoke is working') ? true : undefined), 30_000, 'the progress line');
  const killedAt = Date.now();
  await daemon.kill();
  await waitFor(() => (send.output().includes('Lost the connection to the daemon; waiting for it to come back') ? true : undefined), 10_000, 'the lost-connection line');
  const exit = await exitOf(send.child);
  expect(exit.code).toBe(1);
  expect(send.output()).toMatch(/error: The daemon stopped before conversation conv_\S+ finished\./);
  expect(send.output()).toContain('What was not done waits in the queue and goes on at the next `tinyagi start`');
  expect(send.output()).not.toContain('No final reply within');
  // Well before its 120 s: it ends a few seconds after the daemon is gone.
  expect(Date.now() - killedAt).toBeLessThan(60_000);
});

it('a restart while a reply is awaited: the wait goes on through it (the daemon comes back), until the conversation ends', async () => {
  await daemon.start();
  // The killed daemon's message runs again after this start (recovery): end it first.
  for (const c of JSON.parse(await daemon.cliHereOk(['conversation', 'list', '--status', 'active', '--json'])) as Array<{ id: string }>) await daemon.cliHereOk(['cancel', c.id]);
  const send = spawnCli(['send', '--agent', 'slowpoke', '--wait', '--timeout', '300', 'hang in there'], daemon.env, { build: 'built' });
  const exit = exitOf(send.child);
  await waitFor(() => (send.output().includes('@slowpoke is working') ? true : undefined), 30_000, 'the progress line');
  // The run in flight holds the restart for its grace period; the stream drops while the daemon replaces itself.
  await daemon.cliHereOk(['restart']);
  await waitFor(() => (send.output().includes('Connected to the daemon again.') ? true : undefined), 30_000, 'the wait to reconnect');
  expect(send.child.exitCode).toBeNull();
  const [latest] = JSON.parse(await daemon.cliHereOk(['conversation', 'list', '--json'])) as Array<{ id: string }>;
  await daemon.cliHereOk(['cancel', latest!.id]);
  expect((await exit).code).toBe(1);
  expect(send.output()).toContain('The conversation cancelled');
  expect(send.output()).not.toContain('The daemon stopped');
}, 120_000);
