/**
 * B9: a reply's way out through a channel. Outbox rows are enqueued at a steady rate into a real
 * server; the Telegram channel host (its channel-scoped token, the SSE wake-up, claim, grammY's
 * sendMessage, ack) delivers them to the local fake Bot API. Latency: enqueue -> the fake
 * answered the sendMessage. The floor is the same fake answering a bare HTTP POST of the same
 * sendMessage at the same rate (no daemon, no channel).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApiClient } from '@tinyagi/client';
import { ChannelHost, TelegramAdapter, type ChannelAdapter } from '@tinyagi/channels';
// Its own entry: the Slack SDK's undici 8 must not share a process with discord.js's undici 6 (the index loads discord.js).
import { SlackAdapter } from '@tinyagi/channels/slack';
import { mintChannelToken } from '@tinyagi/server/internal';
import { FakeSlack } from '@tinyagi/test-kit/fake-slack';
import { FakeTelegram } from '@tinyagi/test-kit/fake-telegram';
import { percentile } from './machine.ts';
import { withServer } from './server-bench.ts';

const now = (): number => performance.timeOrigin + performance.now();

/** Runs `task(i)` for i < total, started every 1000/perSecond ms (never early, never in bursts). */
async function paced(total: number, perSecond: number, task: (i: number) => void | Promise<void>): Promise<void> {
  const start = now();
  const running: Array<void | Promise<void>> = [];
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / perSecond;
    const wait = due - now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    running.push(task(i));
  }
  await Promise.all(running);
}

function row(label: string, latencies: number[]): string {
  const sorted = [...latencies].sort((a, b) => a - b);
  return `| ${label} | ${sorted.length} | ${percentile(sorted, 50).toFixed(2)} | ${percentile(sorted, 99).toFixed(2)} | ${sorted.at(-1)!.toFixed(2)} |`;
}

type ServerStores = Parameters<Parameters<typeof withServer>[0]>[0]['stores'];

/**
 * A real server with a channel host (its channel-scoped token) delivering through `adapter(stateDir)`
 * to a fake platform; `maxSendsPerSecond` overrides the host's global pace.
 */
function withChannelHost<T>(channel: string, adapter: (stateDir: string) => ChannelAdapter, run: (stores: ServerStores) => Promise<T>, maxSendsPerSecond?: number): Promise<T> {
  return withServer(async ({ url, token, stores }) => {
    const state = mkdtempSync(join(tmpdir(), 'tinyagi-bench-channel-'));
    const stateDir = join(state, 'channels', channel);
    const host = new ChannelHost({
      channel,
      adapter: adapter(stateDir),
      api: createApiClient({ baseUrl: url, token: mintChannelToken(token, channel) }),
      stateDir,
      filesDir: join(state, 'files'),
      ...(maxSendsPerSecond !== undefined ? { maxSendsPerSecond } : {}),
    });
    await host.start();
    try {
      return await run(stores);
    } finally {
      await host.stop();
      rmSync(state, { recursive: true, force: true });
    }
  });
}

/** The Telegram host (grammY) delivering to `fake` (the host's default pace: 25/s, under Telegram's limit). */
function withTelegramHost<T>(fake: FakeTelegram, run: (stores: ServerStores) => Promise<T>, maxSendsPerSecond?: number): Promise<T> {
  return withChannelHost('telegram', () => new TelegramAdapter({ token: fake.token, apiRoot: fake.url }), run, maxSendsPerSecond);
}

/** The Slack host (@slack/web-api's chat.postMessage, Socket Mode connected) delivering to `fake`. */
function withSlackHost<T>(fake: FakeSlack, run: (stores: ServerStores) => Promise<T>, maxSendsPerSecond?: number): Promise<T> {
  return withChannelHost('slack', (stateDir) => new SlackAdapter({ botToken: fake.botToken, appToken: fake.appToken, apiUrl: fake.apiUrl, stateDir }), run, maxSendsPerSecond);
}

/** Slack's chat.postMessage allows about one a second per channel: the replies go round-robin to this many channels. */
const SLACK_CHANNELS = 100;
const slackChannel = (i: number): string => `C${String(i % SLACK_CHANNELS).padStart(9, '0')}`;

/** B10's two Slack rows: the host's path and the floor, to `SLACK_CHANNELS` channels round-robin. */
async function benchB10Slack(total: number, perSecond: number): Promise<string[]> {
  const fake = new FakeSlack();
  await fake.start();
  try {
    const floor: number[] = [];
    await paced(total, perSecond, async (i) => {
      const t0 = now();
      const res = await fetch(`${fake.apiUrl}chat.postMessage`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Bearer ${fake.botToken}` },
        body: new URLSearchParams({ channel: slackChannel(i), text: `floor ${i}` }).toString(),
      });
      await res.arrayBuffer();
      floor.push(now() - t0);
    });
    const path = await withSlackHost(
      fake,
      async (stores) => {
        const enqueuedAt = new Map<string, number>();
        await paced(total, perSecond, (i) => {
          const text = `reply ${i}`;
          enqueuedAt.set(text, now());
          stores.outbox.enqueue({ idempotencyKey: `b10s-${i}`, channel: 'slack', text, recipient: { threadId: slackChannel(i) } });
        });
        const replies = () => fake.messages.filter((m) => m.text.startsWith('reply '));
        await fake.until(() => replies().length >= total, 'every Slack reply', 120_000);
        return replies().map((m) => m.at - enqueuedAt.get(m.text)!);
      },
      perSecond * 2,
    );
    return [
      row(`Slack: outbox row → channel host → fake Web API received (SSE wake-up, claim, chat.postMessage via @slack/web-api, ack; ${SLACK_CHANNELS} channels round-robin)`, path),
      row('Slack floor: bare HTTP POST chat.postMessage → fake Web API answered', floor),
    ];
  } finally {
    await fake.close();
  }
}

export async function benchB10(total = 1000, perSecond = 100): Promise<string> {
  const fake = new FakeTelegram();
  await fake.start();
  try {
    const floor: number[] = [];
    await paced(total, perSecond, async (i) => {
      const t0 = now();
      const res = await fetch(`${fake.url}/bot${fake.token}/sendMessage`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ chat_id: 1, text: `floor ${i}` }),
      });
      await res.arrayBuffer();
      floor.push(now() - t0);
    });

    const path = await withTelegramHost(
      fake,
      async (stores) => {
        const enqueuedAt = new Map<string, number>();
        await paced(total, perSecond, (i) => {
          const text = `reply ${i}`;
          enqueuedAt.set(text, now());
          stores.outbox.enqueue({ idempotencyKey: `b9-${i}`, channel: 'telegram', text, recipient: { senderId: '1' } });
        });
        await fake.until(() => fake.messagesTo(1).filter((m) => m.text?.startsWith('reply ')).length >= total, 'every reply', 120_000);
        return fake
          .messagesTo(1)
          .filter((m) => m.text?.startsWith('reply '))
          .map((m) => m.at - enqueuedAt.get(m.text!)!);
        // The host's own cost: its global pace (25 sends/s, Telegram's limit) would otherwise set the figure.
      },
      perSecond * 2,
    );

    return [
      '| path | replies | p50 ms | p99 ms | max ms |',
      '|---|---|---|---|---|',
      row('outbox row → channel host → fake Bot API received (SSE wake-up, claim, sendMessage, ack)', path),
      row('floor: bare HTTP POST sendMessage → fake Bot API answered', floor),
      ...(await benchB10Slack(total, perSecond)),
    ].join('\n');
  } finally {
    await fake.close();
  }
}

const FAULTS = [
  { kind: 'json' as const, errorCode: 429, description: 'Too Many Requests: retry after 1', retryAfter: 1 },
  { kind: 'json' as const, errorCode: 500, description: 'Internal Server Error' },
  { kind: 'html' as const, errorCode: 502 },
  { kind: 'reset' as const },
];

/**
 * B14: B10's path with one chat in trouble. Replies go round-robin to `chats` chats at
 * `perSecond`; every `faultEvery`-th reply of chat 1 meets a fault, in turn a 429 with
 * retry_after 1 s, a JSON 500, nginx's HTML 502 page and a reset connection. The other chats
 * must not notice (deliveries are per chat); chat 1's replies arrive in order, none twice.
 */
export async function benchB14(perChat = 60, chats = 10, perSecond = 20, faultEvery = 3): Promise<string> {
  const fake = new FakeTelegram();
  await fake.start();
  const total = perChat * chats;
  try {
    return await withTelegramHost(fake, async (stores) => {
      const enqueuedAt = new Map<string, number>();
      let faults = 0;
      await paced(total, perSecond, (i) => {
        const chat = (i % chats) + 1;
        const text = `b14 ${chat} ${Math.floor(i / chats)}`;
        if (chat === 1 && Math.floor(i / chats) % faultEvery === 0) fake.failNext({ method: 'sendMessage', chatId: 1, ...FAULTS[faults++ % FAULTS.length]! });
        enqueuedAt.set(text, now());
        stores.outbox.enqueue({ idempotencyKey: `b14-${i}`, channel: 'telegram', text, recipient: { senderId: String(chat) } });
      });
      const delivered = () => fake.sent.filter((m) => m.method === 'sendMessage' && m.text?.startsWith('b14 '));
      await fake.until(() => new Set(delivered().map((m) => m.text)).size >= total, 'every reply', 300_000);
      const faulty: number[] = [];
      const healthy: number[] = [];
      for (const m of delivered()) (m.chatId === 1 ? faulty : healthy).push(m.at - enqueuedAt.get(m.text!)!);
      const chat1 = delivered()
        .filter((m) => m.chatId === 1)
        .map((m) => Number(m.text!.split(' ')[2]));
      const inOrder = chat1.every((n, k) => k === 0 || n > chat1[k - 1]!);
      return [
        `Duplicates: ${delivered().length - total}; chat 1 in order: ${inOrder ? 'yes' : 'no'}.`,
        '',
        '| chats | replies | p50 ms | p99 ms | max ms |',
        '|---|---|---|---|---|',
        row(`the ${chats - 1} healthy chats`, healthy),
        row('chat 1 (faults)', faulty),
      ].join('\n');
    });
  } finally {
    await fake.close();
  }
}
