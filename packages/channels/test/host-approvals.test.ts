/**
 * Approvals answered from the chat apps, run in-process (the channel's adapter and host as the
 * channel process builds them, against the platform's fake) under one built daemon with an agent
 * runtime that asks before it acts (packages/cli/test/fixtures/approval-runtime, installed as a
 * plugin) and one that asks the person questions (fixtures/question-runtime.mjs).
 *
 * On the platforms with buttons (Telegram's inline keyboard, Discord's components, Slack's Block
 * Kit) the request is posted into the group chat it came from; a stranger's press is refused in a
 * note only they see; a paired member's "Allow once" decides it, the prompt is settled (the
 * outcome, no buttons) and the agent goes on; a decision from the API settles the prompt too.
 * Telegram adds two members pressing at once, the agent's approvers, a decision made while the
 * channel was down, expiry and questions (buttons and `/answer`); WhatsApp, without buttons, gets
 * numbered prompts.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { DatabaseSync } from 'node:sqlite';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Approval } from '@tinyagi/client';
import { waitFor, type TestDaemon } from '@tinyagi/test-kit';
import { GUILD_CHANNEL } from '@tinyagi/test-kit/fake-discord';
import { SLACK_CHANNEL } from '@tinyagi/test-kit/fake-slack';
import { createChannelDaemon } from './daemon.ts';
import { describeInOrder, hostPlatforms, pair, type ChatPlatform, type PlatformName } from './platforms.ts';

const RUNTIME = fileURLToPath(new URL('../../cli/test/fixtures/approval-runtime/runtime.mjs', import.meta.url));
const QUESTIONS = fileURLToPath(new URL('./fixtures/question-runtime.mjs', import.meta.url));

const { tg, dc, sl, wa, platforms, channels, close } = hostPlatforms(4400);
let d: TestDaemon;
/** Telegram's group chat (Ada and Bob are members). */
const GROUP = -100_777;
const ADA = Number(tg.user(1));
const BOB = Number(tg.user(2));

beforeAll(async () => {
  await Promise.all(platforms.map((p) => p.start()));
  d = await createChannelDaemon({
    agents: {
      careful: { provider: 'asks-test', permission_mode: 'ask', permissions: { expires_s: 600 } },
      // Only Ada may answer for this one.
      guarded: { provider: 'asks-test', permission_mode: 'ask', permissions: { approvers: [`telegram:${ADA}`] } },
      // Nobody answers in time (long enough for the prompt to be posted first on a loaded machine).
      hasty: { provider: 'asks-test', permission_mode: 'ask', permissions: { expires_s: 20 } },
      // Asks the person questions (as the MCP tool ask_human does).
      curious: { provider: 'question-test' },
    },
  });
  mkdirSync(join(d.home, 'kinds'), { recursive: true });
  writeFileSync(join(d.home, 'kinds', 'asks-test.mjs'), `export * from ${JSON.stringify(pathToFileURL(RUNTIME).href)};\n`);
  writeFileSync(join(d.home, 'kinds', 'question-test.mjs'), `export * from ${JSON.stringify(pathToFileURL(QUESTIONS).href)};\n`);
  await d.start();
  await Promise.all(
    platforms.map(async (p) => {
      channels.set(p.name, await p.startChannel(d));
      for (const n of p === tg ? [1, 2] : [1]) await pair(d, p, p.user(n));
    }),
  );
}, 120_000);

afterAll(() => close(d));

const pending = (agent: string, command: string) =>
  waitFor(async () => (await d.api.listApprovals({ query: { status: 'pending', agent } })).find((a) => a.summary.includes(command)), 30_000, `the pending request for ${command}`);
const asks = (command: string) => `ASK:${JSON.stringify([{ tool: 'Bash', input: { command } }])}`;

/** A platform with buttons, as the approval tests drive it. */
interface ButtonPlatform {
  /** `user` asks `agent` in the group chat to run `command`; resolves with the prompt's message id and its thread there. */
  ask(user: string, agent: string, command: string): Promise<{ messageId: string; thread?: string }>;
  /** The prompt's buttons now: [id, style] (style as the platform names it). */
  buttons(messageId: string): Array<[string, unknown]>;
  /** The styles of Allow once, the two other allows, and Deny. */
  styles: [unknown, unknown, unknown];
  /** The prompt's text now. */
  text(messageId: string): string | undefined;
  /** `user` presses the button `customId`; resolves with the note only they see. */
  press(user: string, messageId: string, customId: string): Promise<string>;
  /** The agent's reply in the group chat (in the prompt's thread). */
  reply(pattern: RegExp, thread?: string): Promise<string>;
  /** Notes only the presser saw never show in the group chat. */
  groupShows(pattern: RegExp): boolean;
}

/** Telegram's group chat `group` as the approval tests drive it. */
function telegramGroup(group: number): ButtonPlatform {
  return {
    async ask(user, agent, command) {
      tg.fake.userMessage({ chatId: group, fromId: Number(user), chatType: 'group', text: `@tiny_test_bot @${agent} ${asks(command)}` });
      const prompt = await tg.until(() => tg.fake.messagesTo(group).find((m) => m.keyboard !== undefined && m.text?.includes(command)), `the prompt for ${command}`);
      return { messageId: String(prompt.messageId) };
    },
    buttons: (id) =>
      tg.fake
        .keyboardOf(group, Number(id))
        .flat()
        .map((b) => [b.callback_data!, undefined]),
    styles: [undefined, undefined, undefined],
    text: (id) => tg.fake.chatView(group).find((m) => m.messageId === Number(id))?.text,
    async press(user, id, data) {
      const query = tg.fake.userClick({ chatId: group, chatType: 'group', messageId: Number(id), fromId: Number(user), data });
      return (await tg.until(() => tg.fake.callbackAnswers.find((a) => a.id === query), `the answer to callback query ${query}`)).text ?? '';
    },
    reply: (pattern) => tg.until(() => tg.fake.messagesTo(group).find((m) => pattern.test(m.text ?? ''))?.text, `a reply matching ${pattern}`),
    groupShows: (pattern) => tg.fake.messagesTo(group).some((m) => pattern.test(m.text ?? '')),
  };
}

const buttonPlatforms: Array<[PlatformName, ChatPlatform, ButtonPlatform]> = [
  ['telegram', tg, telegramGroup(GROUP)],
  [
    'discord',
    dc,
    {
      async ask(user, agent, command) {
        dc.fake.guildMessage({ userId: user, channelId: GUILD_CHANNEL, mention: true, content: `@${agent} ${asks(command)}` });
        const prompt = await dc.until(
          () => dc.fake.sentTo(GUILD_CHANNEL).find((m) => m.content?.includes(command) && dc.fake.componentsOf(GUILD_CHANNEL, m.id).length > 0),
          `the prompt for ${command}`,
        );
        return { messageId: prompt.id };
      },
      buttons: (id) => dc.fake.componentsOf(GUILD_CHANNEL, id).map((b) => [b.customId, b.style]),
      styles: [1, 2, 4],
      text: (id) => dc.fake.messageOf(GUILD_CHANNEL, id)?.content,
      async press(user, messageId, customId) {
        const interaction = dc.fake.press({ userId: user, channelId: GUILD_CHANNEL, messageId, customId });
        const note = await dc.until(() => dc.fake.repliesTo(interaction.id).find((r) => !r.deferred), `the ephemeral note to interaction ${interaction.id}`);
        expect(note.ephemeral).toBe(true);
        return note.content;
      },
      reply: (pattern) => dc.until(() => dc.fake.sentTo(GUILD_CHANNEL).find((m) => pattern.test(m.content ?? ''))?.content, `a reply matching ${pattern}`),
      groupShows: (pattern) => dc.fake.channelView(GUILD_CHANNEL).some((m) => pattern.test(m.content)),
    },
  ],
  [
    'slack',
    sl,
    {
      async ask(user, agent, command) {
        const thread = sl.fake.channelMessage({ user, channel: SLACK_CHANNEL, text: `@${agent} ${asks(command)}` });
        const prompt = await sl.until(
          () => sl.fake.botMessages(SLACK_CHANNEL, thread).find((m) => m.text.includes(command) && sl.fake.buttonsOf(SLACK_CHANNEL, m.ts).length > 0),
          `the prompt for ${command}`,
        );
        return { messageId: prompt.ts, thread };
      },
      buttons: (ts) => sl.fake.buttonsOf(SLACK_CHANNEL, ts).map((b) => [b.action_id, b['style']]),
      styles: ['primary', undefined, 'danger'],
      text: (ts) => sl.fake.botMessages(SLACK_CHANNEL).find((m) => m.ts === ts)?.text,
      async press(user, ts, actionId) {
        const after = Date.now();
        const envelope = sl.fake.press({ user, channel: SLACK_CHANNEL, ts, actionId });
        const note = await sl.until(() => sl.fake.ephemerals.find((e) => e.user === user && e.at >= after), `the ephemeral note to ${user}`);
        // Acked, and shown in the prompt's thread.
        expect(sl.fake.acks).toContain(envelope);
        expect(sl.fake.unackedInteractions).toEqual([]);
        expect(note.channel).toBe(SLACK_CHANNEL);
        expect(note.thread_ts).toBe(sl.fake.botMessages(SLACK_CHANNEL).find((m) => m.ts === ts)?.thread_ts);
        return note.text;
      },
      reply: (pattern, thread) => sl.until(() => sl.fake.botMessages(SLACK_CHANNEL, thread).find((m) => pattern.test(m.text))?.text, `a reply matching ${pattern}`),
      groupShows: (pattern) => sl.fake.botMessages(SLACK_CHANNEL).some((m) => pattern.test(m.text)),
    },
  ],
];

// A request nobody answers waits out its expiry (20 s) beside the other cases, in a group chat of its
// own and with an agent of its own; the other cases share the asking agent (it works on one request
// at a time) and restart the channels, so they run one after another.
describe('telegram, in-process: expiry', { concurrent: true }, () => {
  it('a request nobody answers expires: the prompt says so and loses its buttons, and the agent is told', async ({ expect }) => {
    const t = telegramGroup(GROUP - 1);
    const { messageId } = await t.ask(String(ADA), 'hasty', 'make coffee');
    const approval = await pending('hasty', 'make coffee');
    await tg.until(() => t.buttons(messageId).length === 0 || undefined, 'the prompt settled at expiry', 60_000);
    expect(t.text(messageId)).toMatch(/^⌛ Expired: nobody answered within 20 s; denied\n@hasty asked: .*make coffee/);
    expect((await d.api.getApproval({ params: { id: approval.id } })).status).toBe('expired');
    await t.reply(/Bash: refused \(expiry\)/);
  }, 120_000);
});

describeInOrder('decisions', () => {
  describe.each(buttonPlatforms)('%s, in-process', (name, p, b) => {
    const member = p.user(1);
    const stranger = p.user(9);

    it('a request is posted with buttons; a stranger is refused in a note only they see; a paired member allows it; the prompt is settled and the agent goes on', async () => {
      const { messageId, thread } = await b.ask(member, 'careful', 'make deploy');
      const approval = await pending('careful', 'make deploy');
      expect(b.text(messageId)).toContain('@careful asks for permission');
      expect(b.text(messageId)).toMatch(/Expires at \d\d:\d\d UTC/);
      const [once, other, deny] = b.styles;
      expect(b.buttons(messageId)).toEqual([
        [`${approval.id}:o`, once],
        [`${approval.id}:s`, other],
        [`${approval.id}:a`, other],
        [`${approval.id}:d`, deny],
      ]);

      // Not paired: refused, and told why where only they see it; the request still waits.
      expect(await b.press(stranger, messageId, `${approval.id}:o`)).toMatch(/not paired/);
      expect((await d.api.getApproval({ params: { id: approval.id } })).status).toBe('pending');
      expect(b.buttons(messageId)).toHaveLength(4);
      expect(b.text(messageId)).toContain('make deploy');
      expect(b.groupShows(/not paired/)).toBe(false);

      expect(await b.press(member, messageId, `${approval.id}:o`)).toBe('Allowed once.');
      expect(await d.api.getApproval({ params: { id: approval.id } })).toMatchObject({ status: 'allowed', decision: 'allow_once', decidedBy: `${name}:${member}` });
      // Settled: the outcome, no buttons; the agent went on with the allowance.
      await p.until(() => b.buttons(messageId).length === 0 || undefined, 'the buttons removed');
      expect(b.text(messageId)).toMatch(new RegExp(`^✅ Allowed once by ${name}:${member}\\n@careful asked: .*make deploy`));
      await b.reply(new RegExp(`Bash: allowed \\(${name}:${member}\\)`), thread);
    });

    it('a decision from the API settles the prompt: the buttons go, the outcome shows', async () => {
      const { messageId, thread } = await b.ask(member, 'careful', 'make migrate');
      const approval = await pending('careful', 'make migrate');
      await d.api.decideApproval({ params: { id: approval.id }, body: { decision: 'deny', reason: 'use staging', by: 'cli' } });
      await p.until(() => b.buttons(messageId).length === 0 || undefined, 'the buttons removed');
      expect(b.text(messageId)).toMatch(/^⛔ Denied by cli: use staging\n@careful asked: .*make migrate/);
      await b.reply(/Bash: refused \(cli\) denied by cli: use staging/, thread);
    });
  });

  describe('telegram, in-process', () => {
    const fake = tg.fake;
    const t = buttonPlatforms[0]![2];
    const view = (messageId: string) => t.text(messageId);
    const keyboard = (messageId: string) => fake.keyboardOf(GROUP, Number(messageId));
    const answerOf = (query: string) => fake.until(() => fake.callbackAnswers.find((a) => a.id === query), `the answer to callback query ${query}`);
    const click = (messageId: string, fromId: number, data: string) => fake.userClick({ chatId: GROUP, chatType: 'group', messageId: Number(messageId), fromId, data });
    const restart = async () => {
      await channels.get('telegram')!.stop();
      channels.set('telegram', await tg.startChannel(d));
    };

    it('callback data stays within 64 bytes; of two paired members pressing at once the first wins and the second is told who decided', async () => {
      const { messageId } = await t.ask(String(ADA), 'careful', 'make notes');
      const approval = await pending('careful', 'make notes');
      for (const [data] of t.buttons(messageId)) expect(Buffer.byteLength(data)).toBeLessThanOrEqual(64);
      // Two members press at once: Ada's press is handled first and wins; Bob hears who decided.
      const first = click(messageId, ADA, `${approval.id}:o`);
      const second = click(messageId, BOB, `${approval.id}:d`);
      expect((await answerOf(first)).text).toBe('Allowed once.');
      expect((await answerOf(second)).text).toMatch(new RegExp(`already answered.*allowed.* by telegram:${ADA}`, 'i'));
      expect(await d.api.getApproval({ params: { id: approval.id } })).toMatchObject({ status: 'allowed', decision: 'allow_once', decidedBy: `telegram:${ADA}` });
      await fake.until(() => keyboard(messageId).length === 0 || undefined, 'the keyboard removed');
    });

    it("only the agent's approvers may answer: a paired member who is not one is told so", async () => {
      const { messageId } = await t.ask(String(ADA), 'guarded', 'make release');
      const approval = await pending('guarded', 'make release');
      expect((await answerOf(click(messageId, BOB, `${approval.id}:o`))).text).toMatch(new RegExp(`approvers of @guarded.*telegram:${BOB} is not one of them`));
      expect((await d.api.getApproval({ params: { id: approval.id } })).status).toBe('pending');
      expect((await answerOf(click(messageId, ADA, `${approval.id}:d`))).text).toBe('Denied.');
      await fake.until(() => keyboard(messageId).length === 0 || undefined, 'the keyboard removed');
      expect(view(messageId)).toMatch(new RegExp(`^⛔ Denied by telegram:${ADA}\\n@guarded asked: .*make release`));
      await t.reply(new RegExp(`Bash: refused \\(telegram:${ADA}\\) denied by telegram:${ADA}`));
    });

    it('a decision made while the channel was down settles the prompt when it is back', async () => {
      const { messageId } = await t.ask(String(ADA), 'careful', 'make backup');
      const approval = await pending('careful', 'make backup');
      await channels.get('telegram')!.stop();
      await d.api.decideApproval({ params: { id: approval.id }, body: { decision: 'allow_session', by: 'dashboard' } });
      channels.set('telegram', await tg.startChannel(d));
      await fake.until(() => keyboard(messageId).length === 0 || undefined, 'the keyboard removed after the restart');
      expect(view(messageId)).toMatch(/^✅ Allowed for the session by dashboard\n@careful asked: .*make backup/);
    });

    it("an agent's question is posted with its suggested answers as buttons; the one picked reaches the agent", async () => {
      const questions = [{ question: 'Which database?', choices: ['staging', 'production'] }];
      fake.userMessage({ chatId: GROUP, fromId: ADA, chatType: 'group', text: `@tiny_test_bot @curious QUESTION:${JSON.stringify(questions)}` });
      const prompt = await fake.until(() => fake.messagesTo(GROUP).find((m) => m.keyboard !== undefined && m.text?.includes('@curious asks:')), 'the question');
      expect(prompt.text).toContain('Which database?');
      const buttons = prompt.keyboard!.flat();
      expect(buttons.map((x) => x.text)).toEqual(['staging', 'production', 'Decline']);
      const production = buttons[1]!.callback_data!;
      expect(production).toMatch(/^apr_\w+:c1$/);
      expect((await answerOf(click(String(prompt.messageId), BOB, production))).text).toBe('Answered: production.');
      await fake.until(() => keyboard(String(prompt.messageId)).length === 0 || undefined, 'the question settled');
      expect(view(String(prompt.messageId))).toMatch(new RegExp(`^💬 Answered by telegram:${BOB}: production\\n@curious asked: Which database\\?`));
      await t.reply(new RegExp(`answered: production \\(telegram:${BOB}\\)`));
    });

    it('a question is posted with its suggested answers as buttons; one is picked; another is answered in words with /answer', async () => {
      const { messageId } = await t.ask(String(ADA), 'careful', 'make lint');
      const approval = await pending('careful', 'make lint');
      recordQuestion(approval, 'apr_question_db1', 'Which schema?', ['staging', 'production']);
      await restart();
      const question = await fake.until(() => fake.messagesTo(GROUP).find((m) => m.keyboard !== undefined && m.text?.includes('Which schema?')), 'the question');
      expect(question.text).toContain('@careful asks:');
      expect(question.text).toContain('/answer <your answer>');
      expect(question.keyboard!.flat().map((x) => [x.text, x.callback_data])).toEqual([
        ['staging', 'apr_question_db1:c0'],
        ['production', 'apr_question_db1:c1'],
        ['Decline', 'apr_question_db1:d'],
      ]);
      expect((await answerOf(click(String(question.messageId), ADA, 'apr_question_db1:c0'))).text).toBe('Answered: staging.');
      expect(await d.api.getApproval({ params: { id: 'apr_question_db1' } })).toMatchObject({ status: 'answered', decision: 'answer', answer: 'staging', decidedBy: `telegram:${ADA}` });
      await fake.until(() => keyboard(String(question.messageId)).length === 0 || undefined, 'the question settled');
      expect(view(String(question.messageId))).toMatch(new RegExp(`^💬 Answered by telegram:${ADA}: staging\\n@careful asked: Which schema\\?`));

      // A question without suggested answers, answered in words: /answer goes to the chat's latest request.
      recordQuestion(approval, 'apr_question_db2', 'What should the release be called?', []);
      await restart();
      const open = await fake.until(() => fake.messagesTo(GROUP).find((m) => m.keyboard !== undefined && m.text?.includes('release be called')), 'the second question');
      expect(open.keyboard!.flat().map((x) => x.text)).toEqual(['Decline']);
      fake.userMessage({ chatId: GROUP, fromId: ADA, chatType: 'group', text: '/answer@tiny_test_bot Blue Heron' });
      await fake.until(() => keyboard(String(open.messageId)).length === 0 || undefined, 'the second question settled');
      expect(view(String(open.messageId))).toMatch(new RegExp(`^💬 Answered by telegram:${ADA}: Blue Heron`));
      expect((await d.api.getApproval({ params: { id: 'apr_question_db2' } })).answer).toBe('Blue Heron');

      // The permission still waits (its prompt survived both restarts); answered, the run ends.
      expect(keyboard(messageId)).toHaveLength(2);
      await d.api.decideApproval({ params: { id: approval.id }, body: { decision: 'allow_once', by: 'cli' } });
      await fake.until(() => keyboard(messageId).length === 0 || undefined, 'the permission settled');
      await t.reply(/Bash: allowed \(cli\)/);
    });
  });

  describe('whatsapp, in-process', () => {
    const server = wa.fake;
    const ALICE = wa.user(1);
    const texts = (pattern: RegExp) => server.textsTo(ALICE).filter((t) => pattern.test(t));

    it('a plain prompt is answered by a numbered reply: 2 allows for the session, 4 <reason> denies with it', async () => {
      const requests = [
        { tool: 'Bash', input: { command: 'make deploy' } },
        { tool: 'Bash', input: { command: 'make wipe' } },
      ];
      await server.text(ALICE, `@careful ASK:${JSON.stringify(requests)}`);
      const first = await server.until(() => texts(/asks for permission/).find((t) => t.includes('make deploy')), 'the first prompt');
      expect(first).toMatch(/Reply .?1.? to allow once, .?2.? to allow for this session, .?3.? to allow always, .?4 <reason>.? to deny/);
      expect(first).toMatch(/Expires at \d\d:\d\d UTC/);
      await server.text(ALICE, '2');
      await server.until(() => texts(/^✅ Allowed for the session by whatsapp:/).length === 1 || undefined, 'the outcome of the first');
      const allowed = (await d.api.listApprovals({ query: { agent: 'careful', status: 'allowed' } })).find((a) => a.summary.includes('make deploy') && a.decidedBy?.startsWith('whatsapp:'))!;
      expect(allowed).toMatchObject({ decision: 'allow_session' });

      await server.until(() => texts(/asks for permission/).find((t) => t.includes('make wipe')), 'the second prompt');
      await server.text(ALICE, '4 not on a Friday');
      await server.until(() => texts(/^⛔ Denied by whatsapp:.*: not on a Friday/).length === 1 || undefined, 'the outcome of the second');
      const reply = await server.until(() => texts(/Bash: allowed/).find((t) => /Bash: refused/.test(t)), "the agent's reply");
      expect(reply).toMatch(/Bash: allowed \(whatsapp:[^)]+\)\nBash: refused \(whatsapp:[^)]+\) denied by whatsapp:\S+: not on a Friday/);
      // The numbers were answers, not messages for the agents: nothing else reached them.
      expect(texts(/coder done: [24]/)).toEqual([]);
    });

    it("a question's suggested answers are numbered: the number answers it", async () => {
      // A conversation of Alice's chat and its run (the first test's), for a question recorded as
      // the desk records one; the channel, restarted, finds it among its channel's pending requests.
      const earlier = (await d.api.listApprovals({ query: { agent: 'careful' } })).find((a) => a.decidedBy?.startsWith('whatsapp:'))!;
      recordQuestion(earlier, 'apr_wa_question', 'Which region?', ['eu-west', 'us-east']);
      await channels.get('whatsapp')!.stop();
      channels.set('whatsapp', await wa.startChannel(d));
      const prompt = await server.until(() => texts(/@careful asks:/).find((t) => t.includes('Which region?')), 'the question');
      expect(prompt).toContain('Reply with the number of an answer:\n1. eu-west\n2. us-east');
      expect(prompt).toMatch(/\/answer <your answer>/);
      await server.text(ALICE, '2');
      await server.until(() => texts(/^💬 Answered by whatsapp:\S+: us-east/).length === 1 || undefined, 'the outcome');
      expect(await d.api.getApproval({ params: { id: 'apr_wa_question' } })).toMatchObject({ status: 'answered', answer: 'us-east' });
    });
  });
});

/**
 * A question of `approval`'s run, recorded as the desk records an ask_human question (the built
 * daemon's database): the channel, restarted, finds it among the pending requests of its channel.
 */
function recordQuestion(approval: Approval, id: string, question: string, choices: string[]): void {
  const db = new DatabaseSync(join(d.home, 'tinyagi.db'));
  try {
    db.exec('PRAGMA busy_timeout = 10000');
    db.prepare(
      `INSERT INTO approvals (id, kind, status, agent_id, run_id, conversation_id, session_key, tool, input, summary, requested_at, expires_at)
       VALUES (?, 'question', 'pending', ?, ?, ?, ?, 'ask_human', ?, ?, ?, ?)`,
    ).run(id, approval.agentId, approval.runId, approval.conversationId, approval.sessionKey, JSON.stringify({ question, choices }), question, Date.now(), Date.now() + 600_000);
  } finally {
    db.close();
  }
}
