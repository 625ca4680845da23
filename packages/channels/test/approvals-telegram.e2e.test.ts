/**
 * Approvals answered from Telegram, end to end (the built daemon, the real channel process,
 * grammY against the fake Bot API, an agent runtime that asks before it acts —
 * packages/cli/test/fixtures/approval-runtime, installed as a plugin): the request is posted into
 * the group chat it came from with an inline keyboard; a stranger's press is refused and told
 * why; of two paired members pressing at once the first wins and the second is told who
 * decided; the prompt is settled (outcome, no keyboard) and the agent goes on. A decision from
 * the API settles the prompt too, also one made while the channel process was down. An agent's
 * question (ask_human, through POST /api/runs/:id/ask: test/fixtures/question-runtime.mjs) is
 * posted with its suggested answers as buttons, and the one picked reaches the agent. A question
 * made while the channel process was down is posted when it comes back, with its
 * suggested answers as buttons; one is picked, another is answered with `/answer <text>`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { DatabaseSync } from 'node:sqlite';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Approval } from '@tinyagi/client';
import { FakeTelegram, type SentCall } from '@tinyagi/test-kit/fake-telegram';
import { waitFor, type TestDaemon } from '@tinyagi/test-kit';
import { createChannelDaemon } from './daemon.ts';

const RUNTIME = fileURLToPath(new URL('../../cli/test/fixtures/approval-runtime/runtime.mjs', import.meta.url));
const QUESTIONS = fileURLToPath(new URL('./fixtures/question-runtime.mjs', import.meta.url));

let fake: FakeTelegram;
let d: TestDaemon;
const ADA = 6161;
const BOB = 6262;
const STRANGER = 9999;
const GROUP = -100_777;

beforeAll(async () => {
  fake = new FakeTelegram();
  await fake.start();
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
    channels: { enabled: ['telegram'], telegram: { bot_token: fake.token, api_root: fake.url } },
  });
  mkdirSync(join(d.home, 'kinds'), { recursive: true });
  writeFileSync(join(d.home, 'kinds', 'asks-test.mjs'), `export * from ${JSON.stringify(pathToFileURL(RUNTIME).href)};\n`);
  writeFileSync(join(d.home, 'kinds', 'question-test.mjs'), `export * from ${JSON.stringify(pathToFileURL(QUESTIONS).href)};\n`);
  await d.start();
  for (const user of [ADA, BOB]) {
    fake.userMessage({ chatId: user, text: 'hi' });
    const code = await fake.until(
      () =>
        /pairing code is ([A-Z2-9]{8})/.exec(
          fake
            .messagesTo(user)
            .map((m) => m.text)
            .join('\n'),
        )?.[1],
      `the pairing code of ${user}`,
      60_000,
    );
    await d.api.approvePairing({ body: { code } });
    await fake.until(() => fake.messagesTo(user).some((m) => /coder done: hi/.test(m.text ?? '')), `the first reply to ${user}`, 60_000);
  }
}, 180_000);

afterAll(async () => {
  await d?.cleanup();
  await fake?.close();
});

/** Ada asks `agent` (in the group) to run `command`; resolves with the prompt posted into the group and its request. */
async function ask(agent: string, command: string): Promise<{ prompt: SentCall; approval: Approval }> {
  fake.userMessage({ chatId: GROUP, fromId: ADA, chatType: 'group', text: `@tiny_test_bot @${agent} ASK:${JSON.stringify([{ tool: 'Bash', input: { command } }])}` });
  const prompt = await fake.until(() => fake.messagesTo(GROUP).find((m) => m.keyboard !== undefined && m.text?.includes(command)), `the prompt for ${command}`, 60_000);
  const approval = await waitFor(
    async () => (await d.api.listApprovals({ query: { status: 'pending', agent } })).find((a) => a.summary.includes(command)),
    30_000,
    `the pending request for ${command}`,
  );
  return { prompt, approval };
}

const view = (messageId: number) => fake.chatView(GROUP).find((m) => m.messageId === messageId);
const replyWith = (pattern: RegExp) =>
  fake
    .until(() => fake.messagesTo(GROUP).find((m) => pattern.test(m.text ?? '')), `a reply matching ${pattern}`, 60_000)
    .catch((err: unknown) => {
      throw new Error(`${String(err)}; the group got: ${JSON.stringify(fake.messagesTo(GROUP).map((m) => m.text))}`);
    });
const answerTo = (queryId: string) => fake.until(() => fake.callbackAnswers.find((a) => a.id === queryId), `the answer to callback query ${queryId}`, 30_000);

it('a request is posted with an inline keyboard; a stranger is refused; the first paired member wins, the second is told who decided; the prompt is settled and the agent goes on', async () => {
  const { prompt, approval } = await ask('careful', 'make deploy');
  expect(prompt.text).toContain('@careful asks for permission');
  expect(prompt.text).toMatch(/Expires at \d\d:\d\d UTC/);
  const data = prompt.keyboard!.flat().map((b) => b.callback_data!);
  expect(data).toEqual([`${approval.id}:o`, `${approval.id}:s`, `${approval.id}:a`, `${approval.id}:d`]);
  for (const d of data) expect(Buffer.byteLength(d)).toBeLessThanOrEqual(64);
  const click = (fromId: number, token: string) => fake.userClick({ chatId: GROUP, chatType: 'group', messageId: prompt.messageId!, fromId, data: `${approval.id}:${token}` });

  // Not paired: refused, and told why (only the presser sees it); the request still waits.
  const refused = await answerTo(click(STRANGER, 'o'));
  expect(refused.text).toMatch(/not paired/);
  expect((await d.api.getApproval({ params: { id: approval.id } })).status).toBe('pending');
  expect(view(prompt.messageId!)?.text).toContain('make deploy');
  expect(fake.keyboardOf(GROUP, prompt.messageId!)).toHaveLength(2);

  // Two members press at once: Ada's press is handled first and wins; Bob hears who decided.
  const first = click(ADA, 'o');
  const second = click(BOB, 'd');
  expect((await answerTo(first)).text).toBe('Allowed once.');
  expect((await answerTo(second)).text).toMatch(/already answered.*allowed.* by telegram:6161/i);
  expect(await d.api.getApproval({ params: { id: approval.id } })).toMatchObject({ status: 'allowed', decision: 'allow_once', decidedBy: `telegram:${ADA}` });

  // Settled: the outcome, no buttons; the agent went on with the allowance.
  await fake.until(() => fake.keyboardOf(GROUP, prompt.messageId!).length === 0 || undefined, 'the keyboard removed', 30_000);
  expect(view(prompt.messageId!)?.text).toMatch(/^✅ Allowed once by telegram:6161\n@careful asked: .*make deploy/);
  await replyWith(/Bash: allowed \(telegram:6161\)/);
}, 180_000);

it("only the agent's approvers may answer: a paired member who is not one is told so", async () => {
  const { prompt, approval } = await ask('guarded', 'make release');
  const click = (fromId: number, token: string) => fake.userClick({ chatId: GROUP, chatType: 'group', messageId: prompt.messageId!, fromId, data: `${approval.id}:${token}` });
  expect((await answerTo(click(BOB, 'o'))).text).toMatch(/approvers of @guarded.*telegram:6262 is not one of them/);
  expect((await d.api.getApproval({ params: { id: approval.id } })).status).toBe('pending');
  expect((await answerTo(click(ADA, 'd'))).text).toBe('Denied.');
  await fake.until(() => fake.keyboardOf(GROUP, prompt.messageId!).length === 0 || undefined, 'the keyboard removed', 30_000);
  expect(view(prompt.messageId!)?.text).toMatch(/^⛔ Denied by telegram:6161\n@guarded asked: .*make release/);
  await replyWith(/Bash: refused \(telegram:6161\) denied by telegram:6161/);
}, 180_000);

it('a decision from the API settles the prompt, also one made while the channel process was down', async () => {
  const { prompt, approval } = await ask('careful', 'make migrate');
  await d.api.decideApproval({ params: { id: approval.id }, body: { decision: 'deny', reason: 'use staging', by: 'cli' } });
  await fake.until(() => fake.keyboardOf(GROUP, prompt.messageId!).length === 0 || undefined, 'the keyboard removed', 30_000);
  expect(view(prompt.messageId!)?.text).toMatch(/^⛔ Denied by cli: use staging\n@careful asked: .*make migrate/);
  await replyWith(/Bash: refused \(cli\) denied by cli: use staging/);

  // The channel process dies with a prompt out; the request is answered meanwhile: the restarted process settles it.
  const next = await ask('careful', 'make backup');
  const pid = (await d.api.listChannels()).find((c) => c.name === 'telegram')!.pid!;
  process.kill(pid, 'SIGKILL');
  await d.api.decideApproval({ params: { id: next.approval.id }, body: { decision: 'allow_session', by: 'tinyoffice' } });
  await waitFor(async () => ((await d.api.listChannels()).find((c) => c.name === 'telegram')?.pid ?? pid) !== pid, 60_000, 'the channel process restarted');
  await fake.until(() => fake.keyboardOf(GROUP, next.prompt.messageId!).length === 0 || undefined, 'the keyboard removed after the restart', 60_000);
  expect(view(next.prompt.messageId!)?.text).toMatch(/^✅ Allowed for the session by tinyoffice\n@careful asked: .*make backup/);
}, 240_000);

it('a request nobody answers expires: the prompt says so and loses its buttons, and the agent is told', async () => {
  const { prompt, approval } = await ask('hasty', 'make coffee');
  await fake.until(() => fake.keyboardOf(GROUP, prompt.messageId!).length === 0 || undefined, 'the prompt settled at expiry', 90_000);
  expect(view(prompt.messageId!)?.text).toMatch(/^⌛ Expired: nobody answered within 20 s; denied\n@hasty asked: .*make coffee/);
  expect((await d.api.getApproval({ params: { id: approval.id } })).status).toBe('expired');
  await replyWith(/Bash: refused \(expiry\)/);
}, 180_000);

it("an agent's question is posted with its suggested answers as buttons; the one picked reaches the agent", async () => {
  const questions = [{ question: 'Which database?', choices: ['staging', 'production'] }];
  fake.userMessage({ chatId: GROUP, fromId: ADA, chatType: 'group', text: `@tiny_test_bot @curious QUESTION:${JSON.stringify(questions)}` });
  const prompt = await fake.until(() => fake.messagesTo(GROUP).find((m) => m.keyboard !== undefined && m.text?.includes('@curious asks:')), 'the question', 60_000);
  expect(prompt.text).toContain('Which database?');
  const buttons = prompt.keyboard!.flat();
  expect(buttons.map((b) => b.text)).toEqual(['staging', 'production', 'Decline']);
  const production = buttons[1]!.callback_data!;
  expect(production).toMatch(/^apr_\w+:c1$/);
  const picked = fake.userClick({ chatId: GROUP, chatType: 'group', messageId: prompt.messageId!, fromId: BOB, data: production });
  expect((await answerTo(picked)).text).toBe('Answered: production.');
  await fake.until(() => fake.keyboardOf(GROUP, prompt.messageId!).length === 0 || undefined, 'the question settled', 30_000);
  expect(view(prompt.messageId!)?.text).toMatch(/^💬 Answered by telegram:6262: production\n@curious asked: Which database\?/);
  await replyWith(/answered: production \(telegram:6262\)/);
}, 180_000);

/**
 * A question of @careful's run, recorded as the desk records an ask_human question (the built
 * daemon's database; no runtime of the test kit asks questions): the channel process, restarted,
 * finds it among the pending requests of its channel.
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

async function restartChannel(): Promise<void> {
  const pid = (await d.api.listChannels()).find((c) => c.name === 'telegram')!.pid!;
  process.kill(pid, 'SIGKILL');
  await waitFor(
    async () => {
      const now = (await d.api.listChannels()).find((c) => c.name === 'telegram');
      return now?.state === 'running' && now.pid !== pid && now.pid !== null;
    },
    60_000,
    'the channel process restarted',
  );
}

it('a question is posted with its suggested answers as buttons; one is picked; another is answered in words with /answer', async () => {
  const { prompt, approval } = await ask('careful', 'make lint');
  recordQuestion(approval, 'apr_question_db1', 'Which schema?', ['staging', 'production']);
  await restartChannel();
  const question = await fake.until(() => fake.messagesTo(GROUP).find((m) => m.keyboard !== undefined && m.text?.includes('Which schema?')), 'the question', 60_000);
  expect(question.text).toContain('@careful asks:');
  expect(question.text).toContain('/answer <your answer>');
  expect(question.keyboard!.flat().map((b) => [b.text, b.callback_data])).toEqual([
    ['staging', 'apr_question_db1:c0'],
    ['production', 'apr_question_db1:c1'],
    ['Decline', 'apr_question_db1:d'],
  ]);
  const picked = fake.userClick({ chatId: GROUP, chatType: 'group', messageId: question.messageId!, fromId: ADA, data: 'apr_question_db1:c0' });
  expect((await answerTo(picked)).text).toBe('Answered: staging.');
  expect(await d.api.getApproval({ params: { id: 'apr_question_db1' } })).toMatchObject({ status: 'answered', decision: 'answer', answer: 'staging', decidedBy: `telegram:${ADA}` });
  await fake.until(() => fake.keyboardOf(GROUP, question.messageId!).length === 0 || undefined, 'the question settled', 30_000);
  expect(view(question.messageId!)?.text).toMatch(/^💬 Answered by telegram:6161: staging\n@careful asked: Which schema\?/);

  // A question without suggested answers, answered in words: /answer goes to the chat's latest request.
  recordQuestion(approval, 'apr_question_db2', 'What should the release be called?', []);
  await restartChannel();
  const open = await fake.until(() => fake.messagesTo(GROUP).find((m) => m.keyboard !== undefined && m.text?.includes('release be called')), 'the second question', 60_000);
  expect(open.keyboard!.flat().map((b) => b.text)).toEqual(['Decline']);
  fake.userMessage({ chatId: GROUP, fromId: ADA, chatType: 'group', text: '/answer@tiny_test_bot Blue Heron' });
  await fake.until(() => fake.keyboardOf(GROUP, open.messageId!).length === 0 || undefined, 'the second question settled', 60_000);
  expect(view(open.messageId!)?.text).toMatch(/^💬 Answered by telegram:6161: Blue Heron/);
  expect((await d.api.getApproval({ params: { id: 'apr_question_db2' } })).answer).toBe('Blue Heron');

  // The permission still waits (its prompt survived both restarts); answered, the run ends.
  expect(fake.keyboardOf(GROUP, prompt.messageId!)).toHaveLength(2);
  await d.api.decideApproval({ params: { id: approval.id }, body: { decision: 'allow_once', by: 'cli' } });
  await fake.until(() => fake.keyboardOf(GROUP, prompt.messageId!).length === 0 || undefined, 'the permission settled', 30_000);
  await replyWith(/Bash: allowed \(cli\)/);
}, 300_000);
