/**
 * A burst of approval requests in a Telegram group (docs/approvals.md, "A burst of requests"),
 * in-process against test-kit's fake Telegram under one built daemon with the CLI suite's
 * approval runtime: four agents each ask two `npm install`s at once (ASKALL) in the group, and the
 * chat gets one message for the eight, not eight; one request answered from the API in between
 * is counted out; "Allow all 7 once" answers the rest, each recorded on its own, and the message
 * then says how they ended without buttons. The bot never edits faster than Telegram allows.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { waitFor, type TestDaemon } from '@tinyagi/test-kit';
import { createChannelDaemon, type InProcessChannel } from './daemon.ts';
import { pair, telegram } from './platforms.ts';

const RUNTIME = fileURLToPath(new URL('../../cli/test/fixtures/approval-runtime/runtime.mjs', import.meta.url));
const AGENTS = ['b1', 'b2', 'b3', 'b4'];
const tg = telegram(4800);
const GROUP = -100_000 - 4800;
let d: TestDaemon;
let channel: InProcessChannel | undefined;

beforeAll(async () => {
  await tg.start();
  d = await createChannelDaemon({
    agents: Object.fromEntries(AGENTS.map((id) => [id, { provider: 'asks-test', permission_mode: 'ask', permissions: { expires_s: 600 } }])),
    extra: { queue: { concurrency: 8 } },
  });
  mkdirSync(join(d.home, 'kinds'), { recursive: true });
  writeFileSync(join(d.home, 'kinds', 'asks-test.mjs'), `export * from ${JSON.stringify(pathToFileURL(RUNTIME).href)};\n`);
  await d.start();
  channel = await tg.startChannel(d);
  await pair(d, tg, tg.user(1));
}, 120_000);

afterAll(async () => {
  await channel?.stop();
  await d?.cleanup();
  await tg.close();
});

const prompts = () => tg.fake.chatView(GROUP).filter((m) => m.text.includes('ask for permission') || m.text.includes('requests answered'));

it('a burst arrives as one message whose buttons answer all of it; each request is recorded on its own', async () => {
  for (const agent of AGENTS) {
    const asks = [`npm install left-pad-${agent}`, `cd web && npm install react-${agent}`].map((command) => ({ tool: 'Bash', input: { command } }));
    await tg.mention(tg.user(1), `@${agent} ASKALL:${JSON.stringify(asks)}`);
  }
  const pending = () => d.api.listApprovals({ query: { status: 'pending' } });
  await waitFor(async () => ((await pending()).length === 8 ? true : undefined), 60_000, 'eight pending requests');
  // Edits keep Telegram's 3 s interval in a group: on a loaded machine the eight arrive over several.
  const burst = await tg.until(() => prompts().find((m) => m.text.includes('8 requests ask for permission')), 'one message for the eight', 90_000);
  expect(prompts()).toHaveLength(1);
  expect(burst.text).toContain('Bash: npm install');
  expect(burst.text).toContain('From @b1, @b2, @b3, @b4.');
  expect(
    tg.fake
      .keyboardOf(GROUP, burst.messageId)
      .flat()
      .map((b) => b.text),
  ).toEqual(['Allow all 8 once', 'Deny all 8']);

  // One answered elsewhere in between: the message counts it out.
  const one = (await pending())[0]!;
  await d.api.decideApproval({ params: { id: one.id }, body: { decision: 'deny', by: 'cli', reason: 'not this one' } });
  await tg.until(() => prompts().find((m) => m.text.includes('7 requests ask for permission') && m.text.includes('1 answered already.')), 'the message with seven');
  const allow = tg.fake
    .keyboardOf(GROUP, burst.messageId)
    .flat()
    .find((b) => b.text === 'Allow all 7 once')!;
  const query = tg.fake.userClick({ chatId: GROUP, chatType: 'supergroup', messageId: burst.messageId, fromId: Number(tg.user(1)), data: allow.callback_data! });
  const note = await tg.until(() => tg.fake.callbackAnswers.find((a) => a.id === query), 'the note to the presser');
  expect(note.text).toBe(`Allowed once by telegram:${tg.user(1)}: 7 requests.`);

  const done = await tg.until(() => prompts().find((m) => m.messageId === burst.messageId && m.text.includes('8 requests answered')), 'the settled message');
  expect(done.text).toContain(`Allowed once by telegram:${tg.user(1)} (7), Denied by cli (1)`);
  expect(tg.fake.keyboardOf(GROUP, burst.messageId)).toEqual([]);
  const all = (await d.api.listApprovals({ query: {} })).filter((a) => AGENTS.includes(a.agentId));
  expect(all.filter((a) => a.status === 'allowed' && a.decidedBy === `telegram:${tg.user(1)}` && a.batchId !== undefined)).toHaveLength(7);
  expect(new Set(all.map((a) => a.batchId).filter(Boolean)).size).toBe(1);
  // Each agent goes on and answers in the group.
  await tg.until(() => tg.groupTexts().filter((t) => /Bash: (allowed|refused)/.test(t)).length === 4, 'every agent to answer');
  expect(prompts()).toHaveLength(1);
  expect(tg.fake.unexpected429).toBe(0);
}, 180_000);
