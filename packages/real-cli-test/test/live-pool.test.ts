/**
 * The session pool with a real CLI (issue 35): a warm Claude Code process is measured, and a start
 * that would take the machine past `sessions.memory_share` is refused with the figures (the run
 * fails as retryable SESSION_POOL_FULL, its message dead after its attempts), no process started;
 * with the limit lifted the same agent starts warm and answers.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cleanupTemp, waitFor } from '@tinyagi/test-kit';
import { CLI_CASES, startRig, type Rig } from './harness.ts';

let rig: Rig;

beforeAll(async () => {
  rig = await startRig(CLI_CASES.claude, { agentSettings: { process: 'warm' } });
}, 120_000);

afterAll(async () => {
  await rig?.cleanup();
  cleanupTemp();
});

it('claude: a warm start beyond sessions.memory_share is refused with the figures; lifted, the agent starts warm', async () => {
  rig.rule('POOL-OK', () => ({ reply: 'Warm and well (POOL-OK).' }));
  const first = await rig.send({ agent: 'alpha', senderId: 'pool', message: 'POOL-OK hello' });
  expect(first.replies.join('\n')).toContain('Warm and well');
  const measured = await waitFor(async () => (await rig.daemon.api.listSessions()).sessions.find((s) => s.agentId === 'alpha' && (s.memoryBytes ?? 0) > 0), 30_000, 'the warm process measured');
  expect(measured.memoryBytes).toBeGreaterThan(50 * 1024 * 1024);

  await rig.daemon.api.patchSettings({ body: { sessions: { memory_share: 0.001 }, queue: { max_attempts: 1 } } });
  await waitFor(async () => (await rig.daemon.api.listSessions()).limits.memoryShare === 0.001, 20_000, 'the new sessions settings');
  await rig.daemon.cliOk(['sessions', '--close', 'alpha']);
  const refused = await rig.send({ agent: 'alpha', senderId: 'pool-refused', message: 'POOL-OK again' });
  expect(refused.message.lastError ?? '').toMatch(/warm session refused: starting another claude \(~\d+ MB\) would take memory use to \d+% of [\d.]+ GiB, above sessions\.memory_share 0\.001/);
  expect((await rig.daemon.api.listSessions()).sessions).toEqual([]);

  await rig.daemon.api.patchSettings({ body: { sessions: null, queue: null } });
  await waitFor(async () => (await rig.daemon.api.listSessions()).limits.memoryShare !== 0.001, 20_000, 'the default sessions settings');
  const lifted = await rig.send({ agent: 'alpha', senderId: 'pool-lifted', message: 'POOL-OK once more' });
  expect(lifted.replies.join('\n')).toContain('Warm and well');
}, 240_000);
