/**
 * Live replies on each platform, run in-process (the channel's adapter and host as the channel
 * process builds them, against the platform's fake) under one built daemon whose mock agent
 * reports progress with delays: one progress message edited in place no closer than the adapter's
 * interval and never past the platform's limits, the answer once, the progress message gone
 * (Telegram in `status` mode, Discord and Slack in `text` mode); Telegram's quick answers, `off`
 * and message drafts; WhatsApp's status message that is never edited but deleted for everyone.
 * A kill -9 of the channel process mid-run is *.e2e.test.ts.
 */
import { proto } from 'baileys';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestDaemon } from '@tinyagi/test-kit';
import { dmChannelOf } from '@tinyagi/test-kit/fake-discord';
import { slackDmOf } from '@tinyagi/test-kit/fake-slack';
import { createChannelDaemon } from './daemon.ts';
import { hostPlatforms, pair, type ChatPlatform, type PlatformName } from './platforms.ts';

/** The edit interval of the Telegram, Discord and Slack adapters. */
const EDIT_INTERVAL_MS = 1500;
/** `count` status steps, one every `everyMs`. */
const steps = (what: string, count: number, everyMs: number) => Array.from({ length: count }, (_, i) => ({ status: `${what} step ${i + 1} of ${count}`, after_ms: everyMs }));
/** A tool call, then 40 pieces of ~90 characters, one every `everyMs`: the text outgrows one Discord message. */
const pieces = (tag: string, everyMs: number) => [
  { tool: 'Read', after_ms: everyMs },
  ...Array.from({ length: 40 }, (_, i) => ({ text: `${tag} sentence ${String(i + 1).padStart(2, '0')} ${'lorem ipsum dolor sit amet '.repeat(3)}`, after_ms: everyMs })),
];

const { tg, dc, sl, wa, platforms, channels, close } = hostPlatforms(4300);
let d: TestDaemon;

beforeAll(async () => {
  await Promise.all(platforms.map((p) => p.start()));
  const mock = {
    reply: 'coder done: {{message}}',
    replies: [
      // 40 progress events over ~8 s: far more than a message may be edited.
      { match: 'long job', progress: steps('long', 40, 200), reply: 'long job finished' },
      { match: 'stream it', progress: pieces('streamed', 150), reply: 'stream finished' },
      { match: 'quiet job', progress: steps('quiet', 12, 300), reply: 'quiet job finished' },
      { match: 'draft job', progress: steps('draft', 20, 250), reply: 'draft job finished: {{message}}' },
      { match: 'slow job', progress: Array.from({ length: 12 }, (_, i) => ({ status: `slow step ${i + 1}`, after_ms: 300 })), reply: 'slow job finished' },
    ],
  };
  // An agent works on one batch at a time: each platform's runs go to an agent of their own, so they run side by side.
  d = await createChannelDaemon({ coder: () => ({ mock }), agents: Object.fromEntries(platforms.map((p) => [`on-${p.name}`, { provider: 'mock', mock }])) });
  await d.start();
  const blocks: Partial<Record<PlatformName, Record<string, unknown>>> = { discord: { live_replies: 'text' }, slack: { live_replies: 'text' } };
  await Promise.all(
    platforms.map(async (p) => {
      channels.set(p.name, await p.startChannel(d, blocks[p.name]));
      for (const n of p === tg ? [1, 2] : [1]) await pair(d, p, p.user(n));
    }),
  );
}, 120_000);

afterAll(() => close(d));

const now = () => performance.timeOrigin + performance.now();

/** What a live run shows on a platform with editable progress messages: its progress posts, their edits, their removal, and what is left in the chat. */
interface LiveView {
  /** The message that runs the job (`status` or `text` mode). */
  job: string;
  answer: RegExp;
  /** Progress messages posted to the user since `after` (removed ones too). */
  posts(after: number): Array<{ id: string; at: number; text: string }>;
  edits(id: string): Array<{ at: number; text: string }>;
  removedAt(id: string): number | undefined;
  /** Progress messages the user's chat still shows. */
  stale(): string[];
  /** 429s the platform answered (it answers one past its limits). */
  limited(): number;
  /** What the edits must show of the progress. */
  progress: RegExp;
}

const live: Array<[PlatformName, ChatPlatform, LiveView]> = [
  [
    'telegram',
    tg,
    {
      job: '@on-telegram long job',
      answer: /long job finished/,
      posts: (after) =>
        tg.fake
          .messagesTo(Number(tg.user(1)))
          .filter((m) => m.at > after && m.silent === true && /working/.test(m.text ?? ''))
          .map((m) => ({ id: String(m.messageId), at: m.at, text: m.text ?? '' })),
      edits: (id) => tg.fake.sent.filter((s) => s.method === 'editMessageText' && String(s.messageId) === id).map((s) => ({ at: s.at, text: s.text ?? '' })),
      removedAt: (id) => tg.fake.sent.find((s) => s.method === 'deleteMessage' && String(s.messageId) === id)?.at,
      stale: () =>
        tg.fake
          .chatView(Number(tg.user(1)))
          .filter((m) => /working/.test(m.text))
          .map((m) => m.text),
      limited: () => tg.fake.unexpected429,
      progress: /@on-telegram: long step \d+ of 40/,
    },
  ],
  [
    'discord',
    dc,
    {
      job: '@on-discord stream it',
      answer: /stream finished/,
      posts: (after) =>
        dc.fake
          .sentTo(dmChannelOf(dc.user(1)))
          .filter((m) => m.at >= after && /^⏳ working/.test(m.content ?? ''))
          .map((m) => ({ id: m.id, at: m.at, text: m.content ?? '' })),
      edits: (id) => dc.fake.edits.filter((e) => e.id === id).map((e) => ({ at: e.at, text: e.content })),
      removedAt: (id) => dc.fake.deletions.find((x) => x.id === id)?.at,
      stale: () =>
        dc.fake
          .channelView(dmChannelOf(dc.user(1)))
          .filter((m) => m.bot && /^⏳ working/.test(m.content))
          .map((m) => m.content),
      limited: () => dc.fake.unexpected429,
      progress: /streamed sentence \d\d/,
    },
  ],
  [
    'slack',
    sl,
    {
      job: '@on-slack stream it',
      answer: /stream finished/,
      // `messages` keeps deleted ones; a progress message's first text says it is one.
      posts: (after) =>
        sl.fake.messages
          .filter((m) => m.channel === slackDmOf(sl.user(1)) && m.bot_id !== undefined && m.at >= after && /working/.test(m.edits[0] ?? m.text))
          .map((m) => ({ id: m.ts, at: m.at, text: m.edits[0] ?? m.text })),
      edits: (id) => sl.fake.updates.filter((e) => e.ts === id).map((e) => ({ at: e.at, text: e.text })),
      removedAt: (id) => sl.fake.deletions.find((x) => x.ts === id)?.at,
      stale: () =>
        sl.fake
          .botMessages(slackDmOf(sl.user(1)))
          .filter((m) => /working/.test(m.text) && !/coder done|finished/.test(m.text))
          .map((m) => m.text),
      limited: () => (sl.fake.rateLimited.get('chat.update') ?? 0) + (sl.fake.rateLimited.get('chat.postMessage') ?? 0),
      progress: /streamed sentence \d\d/,
    },
  ],
];

// The runs of different chats side by side; then the Telegram channel restarted with other settings.
describe('runs side by side', { concurrent: true }, () => {
  describe.each(live)('%s, in-process', (name, p, view) => {
    it('a long run shows one progress message, edited within the limits, removed once the answer is delivered once', async ({ expect }) => {
      const user = p.user(1);
      const start = now() - 1;
      await p.dm(user, view.job);
      const post = await p.until(() => view.posts(start)[0], 'the progress message', 30_000);
      await p.until(() => p.texts(user).some((t) => view.answer.test(t)), 'the answer', 60_000);
      const removedAt = await p.until(() => view.removedAt(post.id), 'the progress message to be removed');

      const edits = view.edits(post.id);
      // The progress showed: edits carried it as it came.
      expect(edits.length).toBeGreaterThan(1);
      expect(edits.some((e) => view.progress.test(e.text))).toBe(true);
      // Within the limits: no 429, never two edits closer than the interval, no more than the time allows.
      expect(view.limited()).toBe(0);
      for (const [i, e] of edits.entries()) if (i > 0) expect(e.at - edits[i - 1]!.at).toBeGreaterThanOrEqual(EDIT_INTERVAL_MS - 50);
      expect(edits.length).toBeLessThanOrEqual(Math.ceil((removedAt - post.at) / EDIT_INTERVAL_MS) + 2);
      // One progress message, the answer exactly once, and nothing stale left in the chat.
      expect(view.posts(start)).toHaveLength(1);
      expect(p.texts(user).filter((t) => view.answer.test(t))).toHaveLength(1);
      expect(view.stale()).toEqual([]);
      if (name === 'telegram') {
        expect(post.text).toMatch(/^⏳ working… \d+s\n@on-telegram: /);
        // The answer is a message of its own (it notifies); the progress message was silent.
        expect(tg.fake.messagesTo(Number(user)).find((m) => view.answer.test(m.text ?? ''))!.silent).toBeUndefined();
      }
      if (name === 'discord') {
        // `text` mode: the text so far, its end once it outgrew the message, always within Discord's 2,000 characters.
        expect(edits.some((e) => e.text.includes('\n…'))).toBe(true);
        for (const e of edits) expect(e.text.length).toBeLessThanOrEqual(2000);
      }
      if (name === 'slack') for (const e of edits) expect(e.text.length).toBeLessThanOrEqual(4000 + 200);
    }, 120_000);
  });

  describe('telegram, in-process', () => {
    it('a quick answer gets no progress message at all', async ({ expect }) => {
      const chat = Number(tg.user(2));
      const start = now();
      tg.fake.userMessage({ chatId: chat, text: 'quick one' });
      await tg.until(() => tg.fake.messagesTo(chat).find((m) => /coder done: quick one/.test(m.text ?? '')), 'the answer');
      expect(tg.fake.messagesTo(chat).filter((m) => m.at > start && m.silent === true)).toEqual([]);
    });

    it('the settings check refuses a live_replies value that is not a mode', async ({ expect }) => {
      await expect(d.api.patchSettings({ body: { channels: { telegram: { live_replies: 'loud' } } } })).rejects.toThrow(/live_replies/);
    });
  });

  describe('whatsapp, in-process', () => {
    it('a slow run: one short status message, never edited, deleted for everyone once the answer is there', async ({ expect }) => {
      const server = wa.fake;
      const ALICE = wa.user(1);
      const before = server.received.length;
      await server.text(ALICE, '@on-whatsapp slow job');
      await server.until(() => server.textsTo(ALICE).some((t) => /slow job finished/.test(t)), 'the answer', 60_000);
      const mine = () => server.received.slice(before).filter((r) => r.to === ALICE);
      const status = mine().find((r) => /^⏳ working/.test(r.message.conversation ?? r.message.extendedTextMessage?.text ?? ''));
      expect(status).toBeDefined();
      const revoke = await server.until(
        () => mine().find((r) => r.message.protocolMessage?.type === proto.Message.ProtocolMessage.Type.REVOKE && r.message.protocolMessage.key?.id === status!.id),
        'the status message to be deleted for everyone',
      );
      expect(revoke.message.protocolMessage?.key?.fromMe).toBe(true);
      // Never edited; the answer once.
      expect(mine().filter((r) => r.message.protocolMessage?.type === proto.Message.ProtocolMessage.Type.MESSAGE_EDIT)).toEqual([]);
      expect(server.textsTo(ALICE).filter((t) => /slow job finished/.test(t))).toHaveLength(1);
      expect(server.textsTo(ALICE).filter((t) => /^⏳ working/.test(t))).toHaveLength(1);
    }, 120_000);
  });
});

describe('telegram, in-process: restarted with other settings', () => {
  const fake = tg.fake;
  const USER = Number(tg.user(1));
  const answers = (pattern: RegExp) => fake.messagesTo(USER).filter((m) => pattern.test(m.text ?? ''));
  const progressPosts = (after: number) => fake.messagesTo(USER).filter((m) => m.at > after && m.silent === true && /working/.test(m.text ?? ''));
  /** Restarts the in-process channel with `block` (what a settings change and a restart of the channel process do). */
  const restart = async (block: Record<string, unknown>) => {
    await channels.get('telegram')!.stop();
    channels.set('telegram', await tg.startChannel(d, block));
  };

  it('live_replies "off": typing only, no progress message', async () => {
    await restart({ live_replies: 'off' });
    const start = now();
    fake.userMessage({ chatId: USER, text: 'quiet job' });
    await fake.until(() => answers(/quiet job finished/)[0], 'the answer', 60_000);
    expect(progressPosts(start)).toEqual([]);
    expect(fake.sent.filter((s) => s.at > start && s.method === 'sendChatAction').length).toBeGreaterThan(0);
    expect(answers(/quiet job finished/)).toHaveLength(1);
  }, 120_000);

  it('live_drafts: a private chat gets a message draft updated in place, gone with the answer; nothing to delete', async () => {
    await restart({ live_replies: 'status', live_drafts: true });
    const start = now();
    fake.userMessage({ chatId: USER, text: 'draft job one' });
    await fake.until(() => fake.draftView(USER)?.text.includes('draft step'), 'the draft with a step', 30_000);
    await fake.until(() => answers(/draft job finished: draft job one/)[0], 'the answer', 60_000);
    const drafts = fake.sent.filter((s) => s.method === 'sendMessageDraft' && s.at > start);
    expect(drafts.length).toBeGreaterThan(1);
    // One draft, updated in place (the same id), no closer than the interval.
    expect(new Set(drafts.map((x) => x.draftId)).size).toBe(1);
    for (const [i, x] of drafts.entries()) if (i > 0) expect(x.at - drafts[i - 1]!.at).toBeGreaterThanOrEqual(EDIT_INTERVAL_MS - 50);
    // No progress message, nothing deleted; the answer (a message) ended the draft.
    expect(progressPosts(start)).toEqual([]);
    expect(fake.sent.some((x) => x.at > start && x.method === 'deleteMessage')).toBe(false);
    expect(fake.draftView(USER)).toBeUndefined();
    expect(answers(/draft job finished: draft job one/)).toHaveLength(1);
  }, 120_000);

  it('live_drafts on a Bot API server without drafts: an edited message instead, removed after the answer', async () => {
    fake.drafts = false;
    const start = now();
    fake.userMessage({ chatId: USER, text: 'draft job two' });
    const post = await fake.until(() => progressPosts(start)[0], 'the progress message instead of a draft', 30_000);
    await fake.until(() => answers(/draft job finished: draft job two/)[0], 'the answer', 60_000);
    await fake.until(() => fake.sent.find((s) => s.method === 'deleteMessage' && s.messageId === post.messageId), 'the progress message to be removed');
    expect(fake.chatView(USER).filter((m) => /working/.test(m.text))).toEqual([]);
    expect(answers(/draft job finished: draft job two/)).toHaveLength(1);
  }, 120_000);
});
