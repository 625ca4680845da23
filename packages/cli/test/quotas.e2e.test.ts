/**
 * Quota-aware scheduling and version awareness through a real daemon (docs/quotas.md,
 * docs/agent-clis.md#cli-versions): an agent's runtime says its account is exhausted (the mock
 * runtime's scripted quota report), GET /api/quotas and `tinyagi status` say which agents wait
 * until when, the account's other agent is not claimed while another account's agent runs, a
 * restart of the daemon keeps the hold, and the held message runs after the reset. The daemon's
 * log names the version of the agent CLI it uses (the test kit's fake, answering as the pin).
 */
import { FAKE_BIN_DIR, createDaemon, waitFor, type TestDaemon } from '@tinyagi/test-kit';
import { afterAll, beforeAll, expect, it } from 'vitest';

const RESET_MS = 60_000;
let h: TestDaemon;

beforeAll(async () => {
  h = await createDaemon({
    build: 'source',
    path: [FAKE_BIN_DIR],
    storesOnTestBackend: true,
    settings: ({ root }) => ({
      workspace: { path: `${root}/workspace` },
      channels: { enabled: [] },
      agents: {
        a: {
          provider: 'mock',
          mock: {
            account: 'team-login',
            replies: [{ match: 'LIMIT', quota: { status: 'exhausted', resets_in_ms: RESET_MS, limit: 'five_hour', message: 'usage limit reached' }, fail: 'rate_limited' }],
          },
        },
        b: { provider: 'mock', mock: { account: 'team-login', reply: 'b done' } },
        c: { provider: 'mock', mock: { account: 'other-login', reply: 'c done' } },
        writer: { provider: 'claude-code' },
      },
    }),
  });
  await h.start();
}, 120_000);

afterAll(async () => {
  await h?.cleanup();
});

const statusOf = async (id: string) => (await h.api.getMessage({ params: { id } })).message;

it('holds the account until the reset across a daemon restart, says so in the API and status, then runs the held message', async () => {
  const limited = await h.api.sendMessage({ body: { agent: 'a', message: 'LIMIT now' } });
  const hold = await waitFor(async () => (await h.api.listQuotas()).holds[0], 60_000, 'the hold');
  expect(hold).toMatchObject({ runtime: 'mock', limit: 'five_hour', message: 'usage limit reached', reportedBy: 'a', agents: ['a', 'b'] });
  await h.api.cancelMessage({ params: { id: limited.messageId } });

  const status = await h.cliHereOk(['status']);
  expect(status).toContain('Rate limits');
  expect(status).toMatch(/mock · [0-9a-f]{12}: agents a, b wait until .* - five_hour: usage limit reached/);
  const json = JSON.parse(await h.cliHereOk(['status', '--json'])) as { quotas: Array<{ account: string }> };
  expect(json.quotas.map((q) => q.account)).toEqual([hold.account]);

  await h.stop();
  await h.start();
  expect((await h.api.listQuotas()).holds).toEqual([expect.objectContaining({ account: hold.account, resetsAt: hold.resetsAt })]);
  const held = await h.api.sendMessage({ body: { agent: 'b', message: 'hello b' } });
  const other = await h.api.sendMessage({ body: { agent: 'c', message: 'hello c' } });
  await waitFor(async () => (await statusOf(other.messageId)).status === 'completed', 60_000, 'c to answer');
  expect(Date.now()).toBeLessThan(hold.resetsAt);
  expect(await statusOf(held.messageId)).toMatchObject({ status: 'pending', attempts: 0 });

  await waitFor(async () => (await statusOf(held.messageId)).status === 'completed', RESET_MS + 60_000, 'b to answer after the reset');
  expect(Date.now()).toBeGreaterThanOrEqual(hold.resetsAt);
  expect((await h.api.listQuotas()).holds).toEqual([]);
  expect(h.logs()).toMatch(/\[cli\] Claude Code 2\.1\.330 \(verified: >=2\.1\.330 <2\.2\.0\); used by agents writer/);
}, 300_000);
