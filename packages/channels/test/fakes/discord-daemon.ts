/**
 * A daemon whose Discord channel runs against a fake Discord, with one user already paired (the
 * e2e suites that start from a working bot).
 */
import type { TestDaemon } from '@tinyagi/test-kit';
import { dmChannelOf, type FakeDiscord } from '@tinyagi/test-kit/fake-discord';
import { createChannelDaemon } from '../daemon.ts';

/** Starts the daemon, pairs `userId` through a DM ('hi', answered), and returns it. */
export async function pairedDiscordDaemon(fake: FakeDiscord, userId: string, options: { discord?: Record<string, unknown>; extra?: Record<string, unknown> } = {}): Promise<TestDaemon> {
  const d = await createChannelDaemon({
    channels: { enabled: ['discord'], discord: { bot_token: fake.token, rest_api: `${fake.url}/api`, ...options.discord } },
    ...(options.extra ? { extra: options.extra } : {}),
  });
  await d.start();
  await fake.until(() => fake.connected, 'the bot on the gateway', 60_000);
  const dm = dmChannelOf(userId);
  fake.dm({ userId, content: 'hi' });
  const code = await fake.until(
    () =>
      /pairing code is ([A-Z2-9]{8})/.exec(
        fake
          .sentTo(dm)
          .map((m) => m.content ?? '')
          .join('\n'),
      )?.[1],
    'the pairing code',
  );
  await d.api.approvePairing({ body: { code } });
  await fake.until(() => fake.sentTo(dm).some((m) => /coder done: hi/.test(m.content ?? '')), 'the first reply');
  return d;
}
