/**
 * Approvals answered from Slack, end to end (the built daemon, the real channel process, the
 * Slack SDK against the fake Slack over Socket Mode, an agent runtime that asks before it acts —
 * packages/cli/test/fixtures/approval-runtime, installed as a plugin): the request is posted into
 * the thread it came from as Block Kit buttons; a stranger's press is acked and refused in an
 * ephemeral message only they see; a paired member's "Allow once" decides it, the prompt is
 * settled by chat.update (the outcome, no buttons) and the agent goes on. A decision from the API
 * settles the prompt too.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Approval } from '@tinyagi/client';
import { FakeSlack, SLACK_CHANNEL, slackDmOf, type SlackMessage } from '@tinyagi/test-kit/fake-slack';
import { waitFor, type TestDaemon } from '@tinyagi/test-kit';
import { createChannelDaemon } from './daemon.ts';

const RUNTIME = fileURLToPath(new URL('../../cli/test/fixtures/approval-runtime/runtime.mjs', import.meta.url));

let fake: FakeSlack;
let d: TestDaemon;
const ADA = 'U0ADA00061';
const STRANGER = 'U0STRANGE9';

beforeAll(async () => {
  fake = new FakeSlack();
  await fake.start();
  d = await createChannelDaemon({
    agents: { careful: { provider: 'asks-test', permission_mode: 'ask', permissions: { expires_s: 600 } } },
    channels: { enabled: ['slack'], slack: { bot_token: fake.botToken, app_token: fake.appToken, api_url: fake.apiUrl } },
  });
  mkdirSync(join(d.home, 'kinds'), { recursive: true });
  writeFileSync(join(d.home, 'kinds', 'asks-test.mjs'), `export * from ${JSON.stringify(pathToFileURL(RUNTIME).href)};\n`);
  await d.start();
  await fake.until(() => fake.connected, 'the channel on the Socket Mode connection', 60_000);
  fake.dm({ user: ADA, text: 'hello' });
  const code = await fake.until(
    () =>
      fake
        .botMessages(slackDmOf(ADA))
        .map((m) => /pairing code is ([A-Z2-9]{8})/.exec(m.text)?.[1])
        .find(Boolean),
    'the pairing code',
    60_000,
  );
  await d.api.approvePairing({ body: { code } });
  await fake.until(() => fake.botMessages(slackDmOf(ADA)).some((m) => /coder done: hello/.test(m.text)), 'the first reply', 60_000);
}, 180_000);

afterAll(async () => {
  await d?.cleanup();
  await fake?.close();
});

/** Ada asks `careful` (mentioning the bot in the channel) to run `command`; resolves with the prompt, its thread and its request. */
async function ask(command: string): Promise<{ prompt: SlackMessage; thread: string; approval: Approval }> {
  const thread = fake.channelMessage({ user: ADA, channel: SLACK_CHANNEL, text: `@careful ASK:${JSON.stringify([{ tool: 'Bash', input: { command } }])}` });
  const prompt = await fake.until(
    () => fake.botMessages(SLACK_CHANNEL, thread).find((m) => m.text.includes(command) && fake.buttonsOf(SLACK_CHANNEL, m.ts).length > 0),
    `the prompt for ${command}`,
    60_000,
  );
  const approval = await waitFor(
    async () => (await d.api.listApprovals({ query: { status: 'pending', agent: 'careful' } })).find((a) => a.summary.includes(command)),
    30_000,
    `the pending request for ${command}`,
  );
  return { prompt, thread, approval };
}

const replyWith = (thread: string, pattern: RegExp) =>
  fake
    .until(() => fake.botMessages(SLACK_CHANNEL, thread).find((m) => pattern.test(m.text)), `a reply matching ${pattern}`, 60_000)
    .catch((err: unknown) => {
      throw new Error(`${String(err)}; the thread got: ${JSON.stringify(fake.botMessages(SLACK_CHANNEL, thread).map((m) => m.text))}`);
    });
const noteTo = (user: string, after: number) => fake.until(() => fake.ephemerals.find((e) => e.user === user && e.at >= after), `the ephemeral note to ${user}`, 30_000);

it('a request is posted as Block Kit buttons in its thread; a stranger is refused ephemerally; a paired member allows it; the prompt is settled and the agent goes on', async () => {
  const { prompt, thread, approval } = await ask('make deploy');
  expect(prompt.text).toContain('@careful asks for permission');
  expect(fake.buttonsOf(SLACK_CHANNEL, prompt.ts).map((b) => [b.action_id, b['style']])).toEqual([
    [`${approval.id}:o`, 'primary'],
    [`${approval.id}:s`, undefined],
    [`${approval.id}:a`, undefined],
    [`${approval.id}:d`, 'danger'],
  ]);
  const press = (user: string, token: string) => fake.press({ user, channel: SLACK_CHANNEL, ts: prompt.ts, actionId: `${approval.id}:${token}` });

  // Not paired: refused, told why in a message only they see; the request still waits.
  const before = Date.now();
  const refused = press(STRANGER, 'o');
  expect(await noteTo(STRANGER, before)).toMatchObject({ channel: SLACK_CHANNEL, thread_ts: thread, text: expect.stringMatching(/not paired/) });
  expect(fake.acks).toContain(refused);
  expect((await d.api.getApproval({ params: { id: approval.id } })).status).toBe('pending');
  expect(fake.buttonsOf(SLACK_CHANNEL, prompt.ts)).toHaveLength(4);

  const now = Date.now();
  press(ADA, 'o');
  expect(await noteTo(ADA, now)).toMatchObject({ channel: SLACK_CHANNEL, text: 'Allowed once.' });
  expect(await d.api.getApproval({ params: { id: approval.id } })).toMatchObject({ status: 'allowed', decision: 'allow_once', decidedBy: `slack:${ADA}` });
  await fake.until(() => fake.buttonsOf(SLACK_CHANNEL, prompt.ts).length === 0 || undefined, 'the buttons removed', 30_000);
  expect(prompt.text).toMatch(new RegExp(`^✅ Allowed once by slack:${ADA}\\n@careful asked: .*make deploy`));
  await replyWith(thread, new RegExp(`Bash: allowed \\(slack:${ADA}\\)`));
  expect(fake.unackedInteractions).toEqual([]);
}, 180_000);

it('a decision from the API settles the prompt: the buttons go, the outcome shows', async () => {
  const { prompt, thread, approval } = await ask('make migrate');
  await d.api.decideApproval({ params: { id: approval.id }, body: { decision: 'deny', reason: 'use staging', by: 'cli' } });
  await fake.until(() => fake.buttonsOf(SLACK_CHANNEL, prompt.ts).length === 0 || undefined, 'the buttons removed', 30_000);
  expect(prompt.text).toMatch(/^⛔ Denied by cli: use staging\n@careful asked: .*make migrate/);
  await replyWith(thread, /Bash: refused \(cli\) denied by cli: use staging/);
}, 180_000);
