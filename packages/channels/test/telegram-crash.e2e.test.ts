import { afterAll, beforeAll, expect, it } from 'vitest';
import { FakeTelegram } from '@tinyagi/test-kit/fake-telegram';
import { isGone, waitFor, type TestDaemon } from '@tinyagi/test-kit';
import { createChannelDaemon } from './daemon.ts';

let fake: FakeTelegram;
let d: TestDaemon;
const USER = 5151;

beforeAll(async () => {
  fake = new FakeTelegram();
  await fake.start();
  d = await createChannelDaemon({
    // The channel's lease is the default (120 s): what the killed channel held must come back by
    // the restarted daemon's hand-back, within seconds.
    channels: { enabled: ['telegram'], telegram: { bot_token: fake.token, api_root: fake.url } },
    extra: { queue: { lease_ms: 1500, sweep_ms: 200 } },
  });
  await d.start();
  fake.userMessage({ chatId: USER, text: 'hi' });
  const code = await fake.until(
    () =>
      /pairing code is ([A-Z2-9]{8})/.exec(
        fake
          .messagesTo(USER)
          .map((m) => m.text)
          .join('\n'),
      )?.[1],
    'the pairing code',
    60_000,
  );
  await d.api.approvePairing({ body: { code } });
  await fake.until(() => fake.messagesTo(USER).some((m) => /coder done: hi/.test(m.text ?? '')), 'the first reply');
}, 120_000);

afterAll(async () => {
  await d?.cleanup();
  await fake?.close();
});

const count = (pattern: RegExp) => fake.messagesTo(USER).filter((m) => pattern.test(m.text ?? '')).length;

it('the daemon SIGKILLed between a confirmed send and its ack: after the restart every reply arrives, none twice', async () => {
  const held = fake.hold('sendMessage', /coder done: crash one/);
  fake.userMessage({ chatId: USER, text: 'crash one' });
  fake.userMessage({ chatId: USER, text: 'crash two' });
  await held.arrived;
  const channelPid = (await d.api.listChannels()).find((c) => c.name === 'telegram')!.pid!;
  await d.kill();
  const killedAt = performance.now();
  // Telegram confirms the send only now, with the daemon gone: the ack cannot get through.
  held.release();
  await waitFor(() => isGone(channelPid), 20_000, 'the orphaned channel process to exit');
  orphanExitMs.push(performance.now() - killedAt);

  const restartedAt = performance.now();
  await d.start();
  await fake.until(() => count(/coder done: crash two/) > 0, 'the second reply after the restart', 60_000);
  await waitFor(
    async () => {
      const rows = await d.api.listOutbox({ query: { channel: 'telegram', limit: 500 } });
      return rows.filter((r) => /crash (one|two)/.test(r.text)).length === 2 && rows.every((r) => r.status === 'delivered');
    },
    60_000,
    'every reply to be acked',
  );
  expect(count(/coder done: crash one/)).toBe(1);
  expect(count(/coder done: crash two/)).toBe(1);
  // Nothing waited for the 120 s lease of the killed channel: the restarted daemon handed its rows back.
  expect(performance.now() - restartedAt).toBeLessThan(30_000);
  // The orphan noticed its daemon's death through its stdin pipe at once (docs: within a second).
  expect(orphanExitMs[0]).toBeLessThan(1500);
});

const orphanExitMs: number[] = [];
