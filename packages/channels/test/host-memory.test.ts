/**
 * Memory proposals decided from the chat apps (docs/channels.md#memory-proposals), run in-process
 * (the channel's adapter and host as the channel process builds them, against the platform's fake)
 * under one built daemon with an agent runtime that proposes entries as the MCP tool `remember`
 * does (fixtures/memory-runtime.mjs, installed as a plugin). Each platform has an agent of its own
 * (`keeper-<platform>`), so one platform's entries never read as another's contradictions.
 *
 * On the platforms with buttons (Telegram's inline keyboard, Discord's components, Slack's Block
 * Kit) the proposal is posted into the group chat it came from with its text, kind, scope and
 * reason; a stranger's press is refused in a note only they see; a paired member's Accept decides
 * it through the memory decision route, the prompt shows the outcome without buttons; a decision
 * from the API settles it too. Telegram adds a replacement (Replace / Keep both / Reject, the
 * entry it replaces shown) pressed by two members at once (the first wins, the second hears who
 * decided), a proposal to forget (Forget / Keep), the agent's approvers, and a decision made
 * while the channel was down; WhatsApp,
 * without buttons, is answered with `/accept` and `/reject`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MemoryRecord } from '@tinyagi/client';
import { waitFor, type TestDaemon } from '@tinyagi/test-kit';
import { GUILD_CHANNEL } from '@tinyagi/test-kit/fake-discord';
import { SLACK_CHANNEL } from '@tinyagi/test-kit/fake-slack';
import { createChannelDaemon } from './daemon.ts';
import { describeInOrder, hostPlatforms, pair, type ChatPlatform, type PlatformName } from './platforms.ts';

const RUNTIME = fileURLToPath(new URL('./fixtures/memory-runtime.mjs', import.meta.url));

const { tg, dc, sl, wa, platforms, channels, close } = hostPlatforms(4500);
let d: TestDaemon;
/** Telegram's group chat (Ada and Bob are members). */
const GROUP = -100_555;
const ADA = Number(tg.user(1));
const BOB = Number(tg.user(2));

beforeAll(async () => {
  await Promise.all(platforms.map((p) => p.start()));
  const keeper = { provider: 'memory-test' };
  d = await createChannelDaemon({
    agents: {
      'keeper-telegram': keeper,
      'keeper-discord': keeper,
      'keeper-slack': keeper,
      'keeper-whatsapp': keeper,
      // Only Ada may decide its proposals.
      guarded: { ...keeper, permissions: { approvers: [`telegram:${ADA}`] } },
    },
  });
  mkdirSync(join(d.home, 'kinds'), { recursive: true });
  writeFileSync(join(d.home, 'kinds', 'memory-test.mjs'), `export * from ${JSON.stringify(pathToFileURL(RUNTIME).href)};\n`);
  await d.start();
  await Promise.all(
    platforms.map(async (p) => {
      channels.set(p.name, await p.startChannel(d));
      for (const n of p === tg ? [1, 2] : [1]) await pair(d, p, p.user(n));
    }),
  );
}, 120_000);

afterAll(() => close(d));

const remembers = (proposals: Array<{ text: string; kind: string; reason: string; replaces?: string }>) => `REMEMBER:${JSON.stringify(proposals)}`;
const proposal = (agent: string, text: string) =>
  waitFor(async () => (await d.api.listMemory({ query: { scope: 'agent', id: agent, status: 'proposed' } })).find((e) => e.text === text), 30_000, `the proposal "${text}"`);
const entry = (id: string): Promise<MemoryRecord> => d.api.getMemoryRecord({ params: { id } });

/** A platform with buttons, as the memory tests drive it. */
interface ButtonPlatform {
  /** `user` asks `agent` in the group chat to propose `text`; resolves with the prompt's message id. */
  propose(user: string, agent: string, text: string, replaces?: string): Promise<{ messageId: string }>;
  /** The prompt's buttons now: [id, label]. */
  buttons(messageId: string): Array<[string, string]>;
  text(messageId: string): string | undefined;
  /** `user` presses the button `id`; resolves with the note only they see. */
  press(user: string, messageId: string, id: string): Promise<string>;
  groupShows(pattern: RegExp): boolean;
}

function telegramGroup(group: number): ButtonPlatform {
  return {
    async propose(user, agent, text, replaces) {
      const body = remembers([{ text, kind: 'decision', reason: 'the team agreed in this chat', ...(replaces ? { replaces } : {}) }]);
      tg.fake.userMessage({ chatId: group, fromId: Number(user), chatType: 'group', text: `@tiny_test_bot @${agent} ${body}` });
      const prompt = await tg.until(() => tg.fake.messagesTo(group).find((m) => m.keyboard !== undefined && m.text?.includes(text) && m.text.includes('proposes')), `the prompt for ${text}`);
      return { messageId: String(prompt.messageId) };
    },
    buttons: (id) =>
      tg.fake
        .keyboardOf(group, Number(id))
        .flat()
        .map((b) => [b.callback_data!, b.text]),
    text: (id) => tg.fake.chatView(group).find((m) => m.messageId === Number(id))?.text,
    async press(user, id, data) {
      const query = tg.fake.userClick({ chatId: group, chatType: 'group', messageId: Number(id), fromId: Number(user), data });
      return (await tg.until(() => tg.fake.callbackAnswers.find((a) => a.id === query), `the answer to callback query ${query}`)).text ?? '';
    },
    groupShows: (pattern) => tg.fake.messagesTo(group).some((m) => pattern.test(m.text ?? '')),
  };
}

const buttonPlatforms: Array<[PlatformName, ChatPlatform, ButtonPlatform]> = [
  ['telegram', tg, telegramGroup(GROUP)],
  [
    'discord',
    dc,
    {
      async propose(user, agent, text) {
        dc.fake.guildMessage({ userId: user, channelId: GUILD_CHANNEL, mention: true, content: `@${agent} ${remembers([{ text, kind: 'decision', reason: 'the team agreed in this chat' }])}` });
        const prompt = await dc.until(
          () => dc.fake.sentTo(GUILD_CHANNEL).find((m) => m.content?.includes(text) && m.content.includes('proposes') && dc.fake.componentsOf(GUILD_CHANNEL, m.id).length > 0),
          `the prompt for ${text}`,
        );
        return { messageId: prompt.id };
      },
      buttons: (id) => dc.fake.componentsOf(GUILD_CHANNEL, id).map((b) => [b.customId, b.label]),
      text: (id) => dc.fake.messageOf(GUILD_CHANNEL, id)?.content,
      async press(user, messageId, customId) {
        const interaction = dc.fake.press({ userId: user, channelId: GUILD_CHANNEL, messageId, customId });
        const note = await dc.until(() => dc.fake.repliesTo(interaction.id).find((r) => !r.deferred), `the ephemeral note to interaction ${interaction.id}`);
        expect(note.ephemeral).toBe(true);
        return note.content;
      },
      groupShows: (pattern) => dc.fake.channelView(GUILD_CHANNEL).some((m) => pattern.test(m.content)),
    },
  ],
  [
    'slack',
    sl,
    {
      async propose(user, agent, text) {
        const thread = sl.fake.channelMessage({ user, channel: SLACK_CHANNEL, text: `@${agent} ${remembers([{ text, kind: 'decision', reason: 'the team agreed in this chat' }])}` });
        const prompt = await sl.until(
          () => sl.fake.botMessages(SLACK_CHANNEL, thread).find((m) => m.text.includes(text) && m.text.includes('proposes') && sl.fake.buttonsOf(SLACK_CHANNEL, m.ts).length > 0),
          `the prompt for ${text}`,
        );
        return { messageId: prompt.ts };
      },
      buttons: (ts) => sl.fake.buttonsOf(SLACK_CHANNEL, ts).map((b) => [b.action_id, String((b['text'] as { text?: string } | undefined)?.text ?? '')]),
      text: (ts) => sl.fake.botMessages(SLACK_CHANNEL).find((m) => m.ts === ts)?.text,
      async press(user, ts, actionId) {
        const after = Date.now();
        const envelope = sl.fake.press({ user, channel: SLACK_CHANNEL, ts, actionId });
        const note = await sl.until(() => sl.fake.ephemerals.find((e) => e.user === user && e.at >= after), `the ephemeral note to ${user}`);
        expect(sl.fake.acks).toContain(envelope);
        return note.text;
      },
      groupShows: (pattern) => sl.fake.botMessages(SLACK_CHANNEL).some((m) => pattern.test(m.text)),
    },
  ],
];

describeInOrder('memory proposals', () => {
  describe.each(buttonPlatforms)('%s, in-process', (name, p, b) => {
    const member = p.user(1);
    const stranger = p.user(9);
    const agent = `keeper-${name}`;

    it('a proposal is posted with its text, kind, scope and reason and Accept / Reject; a stranger is refused in a note only they see; a paired member accepts; the prompt shows who accepted, without buttons', async () => {
      const text = `The ${name} staging database is reset every Monday.`;
      const { messageId } = await b.propose(member, agent, text);
      const proposed = await proposal(agent, text);
      const shown = b.text(messageId)!;
      expect(shown).toContain(`@${agent} proposes to remember`);
      expect(shown).toContain(`decision, memory of agent ${agent}`);
      expect(shown).toContain('the team agreed in this chat');
      expect(b.buttons(messageId)).toEqual([
        [`${proposed.id}:a`, 'Accept'],
        [`${proposed.id}:r`, 'Reject'],
      ]);

      expect(await b.press(stranger, messageId, `${proposed.id}:a`)).toMatch(/not paired/);
      expect((await entry(proposed.id)).status).toBe('proposed');
      expect(b.groupShows(/not paired/)).toBe(false);

      expect(await b.press(member, messageId, `${proposed.id}:a`)).toBe('Accepted: remembered.');
      expect(await entry(proposed.id)).toMatchObject({ status: 'accepted', decidedBy: `${name}:${member}` });
      await p.until(() => b.buttons(messageId).length === 0 || undefined, 'the buttons removed');
      expect(b.text(messageId)).toMatch(new RegExp(`^✅ Accepted by ${name}:${member}\\n@${agent} proposed to remember: The ${name} staging database`));
    });

    it('a decision from the API (the CLI and TinyOffice decide there) settles the prompt', async () => {
      const text = `Invoices for ${name} customers go out on the first working day.`;
      const { messageId } = await b.propose(member, agent, text);
      const proposed = await proposal(agent, text);
      await d.api.decideMemory({ params: { id: proposed.id }, body: { decision: 'reject', by: 'cli' } });
      await p.until(() => b.buttons(messageId).length === 0 || undefined, 'the buttons removed');
      expect(b.text(messageId)).toMatch(new RegExp(`^⛔ Rejected by cli\\n@${agent} proposed to remember: Invoices`));
    });
  });

  describe('telegram, in-process', () => {
    const t = buttonPlatforms[0]![2];
    const agent = 'keeper-telegram';

    it('a replacement shows the entry it replaces with Replace / Keep both / Reject; of two members pressing at once the first wins and the second hears who decided', async () => {
      const old = await d.api.createMemory({ body: { scope: { kind: 'agent', id: agent }, kind: 'fact', text: 'The office wifi password rotates monthly.', by: 'cli' } });
      const text = 'The office wifi password rotates every week now.';
      const { messageId } = await t.propose(String(ADA), agent, text, old.id);
      const proposed = await proposal(agent, text);
      expect(proposed.targetId).toBe(old.id);
      expect(t.text(messageId)).toContain(`It replaces ${old.id}: The office wifi password rotates monthly.`);
      const buttons = t.buttons(messageId);
      expect(buttons).toEqual([
        [`${proposed.id}:a`, 'Replace'],
        [`${proposed.id}:k`, 'Keep both'],
        [`${proposed.id}:r`, 'Reject'],
      ]);
      for (const [data] of buttons) expect(Buffer.byteLength(data)).toBeLessThanOrEqual(64);
      // The command menu offers the typed answers too.
      expect((tg.fake.commands as Array<{ command: string }>).map((c) => c.command)).toEqual(expect.arrayContaining(['accept', 'keep', 'reject']));

      const first = t.press(String(ADA), messageId, `${proposed.id}:k`);
      const second = t.press(String(BOB), messageId, `${proposed.id}:r`);
      expect(await first).toBe('Accepted: remembered, and the old entry is kept too.');
      expect(await second).toBe(`Already decided: accepted by telegram:${ADA}.`);
      expect(await entry(proposed.id)).toMatchObject({ status: 'accepted', decidedBy: `telegram:${ADA}` });
      // Kept both: the old entry is still accepted.
      expect((await entry(old.id)).status).toBe('accepted');
      await tg.until(() => t.buttons(messageId).length === 0 || undefined, 'the keyboard removed');
    });

    it('a proposal to forget an entry offers Forget / Keep; Forget retires the entry', async () => {
      const old = await d.api.createMemory({ body: { scope: { kind: 'agent', id: agent }, kind: 'fact', text: 'The coffee machine is on the third floor.', by: 'cli' } });
      tg.fake.userMessage({ chatId: GROUP, fromId: ADA, chatType: 'group', text: `@tiny_test_bot @${agent} FORGET:${JSON.stringify([{ id: old.id, reason: 'it moved' }])}` });
      const prompt = await tg.until(
        () => tg.fake.messagesTo(GROUP).find((m) => m.keyboard !== undefined && m.text?.includes('proposes to forget') && m.text.includes('coffee machine')),
        'the prompt to forget',
      );
      const messageId = String(prompt.messageId);
      expect(prompt.text).toContain('Why: it moved');
      const proposed = (await d.api.listMemory({ query: { scope: 'agent', id: agent, status: 'proposed' } })).find((e) => e.action === 'forget' && e.targetId === old.id)!;
      expect(t.buttons(messageId)).toEqual([
        [`${proposed.id}:a`, 'Forget'],
        [`${proposed.id}:r`, 'Keep'],
      ]);
      expect(await t.press(String(ADA), messageId, `${proposed.id}:a`)).toBe('Accepted: the entry is forgotten.');
      expect((await entry(old.id)).status).toBe('retired');
      await tg.until(() => t.buttons(messageId).length === 0 || undefined, 'the keyboard removed');
      expect(t.text(messageId)).toMatch(new RegExp(`^✅ Accepted by telegram:${ADA}\\n@${agent} proposed to forget: The coffee machine`));
    });

    it("only the agent's approvers may decide: a paired member who is not one is told so", async () => {
      const text = 'Release notes are written by whoever merges last.';
      const { messageId } = await t.propose(String(ADA), 'guarded', text);
      const proposed = await proposal('guarded', text);
      expect(await t.press(String(BOB), messageId, `${proposed.id}:a`)).toMatch(new RegExp(`approvers of @guarded.*telegram:${BOB} is not one of them`));
      expect((await entry(proposed.id)).status).toBe('proposed');
      expect(await t.press(String(ADA), messageId, `${proposed.id}:r`)).toBe('Rejected.');
      await tg.until(() => t.buttons(messageId).length === 0 || undefined, 'the keyboard removed');
      expect(t.text(messageId)).toMatch(new RegExp(`^⛔ Rejected by telegram:${ADA}`));
    });

    it('a decision made while the channel was down settles the prompt when it is back', async () => {
      const text = 'Backups are kept for ninety days.';
      const { messageId } = await t.propose(String(ADA), agent, text);
      const proposed = await proposal(agent, text);
      await channels.get('telegram')!.stop();
      await d.api.decideMemory({ params: { id: proposed.id }, body: { decision: 'accept', by: 'dashboard' } });
      channels.set('telegram', await tg.startChannel(d));
      await tg.until(() => t.buttons(messageId).length === 0 || undefined, 'the keyboard removed after the restart');
      expect(t.text(messageId)).toMatch(/^✅ Accepted by dashboard\n/);
    });
  });

  describe('whatsapp, in-process', () => {
    const server = wa.fake;
    const ALICE = wa.user(1);
    const texts = (pattern: RegExp) => server.textsTo(ALICE).filter((t) => pattern.test(t));

    it('a plain prompt is answered with /accept and /reject, which never reach the agent', async () => {
      const first = 'The WhatsApp support line closes at six.';
      await server.text(ALICE, `@keeper-whatsapp ${remembers([{ text: first, kind: 'fact', reason: 'Alice said so' }])}`);
      const prompt = await server.until(() => texts(/proposes to remember/).find((t) => t.includes(first)), 'the prompt');
      expect(prompt).toMatch(/Reply .?\/accept.? to remember it, .?\/reject.? to drop it/);
      const proposed = await proposal('keeper-whatsapp', first);
      await server.text(ALICE, '/accept');
      await server.until(() => texts(/^✅ Accepted by whatsapp:/).length === 1 || undefined, 'the outcome');
      expect(await entry(proposed.id)).toMatchObject({ status: 'accepted', decidedBy: `whatsapp:${ALICE}` });

      const second = 'Refunds need a manager on WhatsApp orders.';
      await server.text(ALICE, `@keeper-whatsapp ${remembers([{ text: second, kind: 'procedure', reason: 'Alice said so' }])}`);
      await server.until(() => texts(/proposes to remember/).find((t) => t.includes(second)), 'the second prompt');
      const again = await proposal('keeper-whatsapp', second);
      await server.text(ALICE, '/reject');
      await server.until(() => texts(/^⛔ Rejected by whatsapp:/).length === 1 || undefined, 'the second outcome');
      expect((await entry(again.id)).status).toBe('rejected');
      // Nothing waits now: /accept says so, and still never reaches the agent.
      await server.text(ALICE, '/accept');
      await server.until(() => texts(/No memory proposal waits/).length === 1 || undefined, 'the note that nothing waits');
      expect(texts(/coder done: \/(accept|reject)/)).toEqual([]);
    });
  });
});
