/**
 * Approvals answered from Discord, end to end (the built daemon, the real channel process,
 * discord.js against the fake Discord, an agent runtime that asks before it acts —
 * packages/cli/test/fixtures/approval-runtime, installed as a plugin): the request is posted into
 * the guild channel it came from with buttons; a stranger's press is refused in an ephemeral
 * reply only they see; a paired member's "Allow once" decides it, the prompt is settled (the
 * outcome, no buttons) and the agent goes on. A decision from the API settles the prompt too.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Approval } from '@tinyagi/client';
import { FakeDiscord, GUILD_CHANNEL, dmChannelOf } from '@tinyagi/test-kit/fake-discord';
import { waitFor, type TestDaemon } from '@tinyagi/test-kit';
import { createChannelDaemon } from './daemon.ts';

const RUNTIME = fileURLToPath(new URL('../../cli/test/fixtures/approval-runtime/runtime.mjs', import.meta.url));

let fake: FakeDiscord;
let d: TestDaemon;
const ADA = '700000000000000061';
const STRANGER = '700000000000000099';

beforeAll(async () => {
  fake = new FakeDiscord();
  await fake.start();
  d = await createChannelDaemon({
    agents: { careful: { provider: 'asks-test', permission_mode: 'ask', permissions: { expires_s: 600 } } },
    channels: { enabled: ['discord'], discord: { bot_token: fake.token, rest_api: `${fake.url}/api` } },
  });
  mkdirSync(join(d.home, 'kinds'), { recursive: true });
  writeFileSync(join(d.home, 'kinds', 'asks-test.mjs'), `export * from ${JSON.stringify(pathToFileURL(RUNTIME).href)};\n`);
  await d.start();
  await fake.until(() => fake.connected, 'the channel on the gateway', 60_000);
  fake.dm({ userId: ADA, content: 'hello' });
  const code = await fake.until(
    () =>
      fake
        .sentTo(dmChannelOf(ADA))
        .map((m) => /pairing code is ([A-Z2-9]{8})/.exec(m.content ?? '')?.[1])
        .find(Boolean),
    'the pairing code',
    60_000,
  );
  await d.api.approvePairing({ body: { code } });
  await fake.until(() => fake.sentTo(dmChannelOf(ADA)).some((m) => /coder done: hello/.test(m.content ?? '')), 'the first reply', 60_000);
}, 180_000);

afterAll(async () => {
  await d?.cleanup();
  await fake?.close();
});

/** Ada asks `careful` (in the guild channel) to run `command`; resolves with the prompt's message id and its request. */
async function ask(command: string): Promise<{ messageId: string; approval: Approval }> {
  fake.guildMessage({ userId: ADA, channelId: GUILD_CHANNEL, mention: true, content: `@careful ASK:${JSON.stringify([{ tool: 'Bash', input: { command } }])}` });
  const prompt = await fake.until(() => fake.sentTo(GUILD_CHANNEL).find((m) => m.content?.includes(command) && fake.componentsOf(GUILD_CHANNEL, m.id).length > 0), `the prompt for ${command}`, 60_000);
  const approval = await waitFor(
    async () => (await d.api.listApprovals({ query: { status: 'pending', agent: 'careful' } })).find((a) => a.summary.includes(command)),
    30_000,
    `the pending request for ${command}`,
  );
  return { messageId: prompt.id, approval };
}

const replyWith = (pattern: RegExp) =>
  fake
    .until(() => fake.sentTo(GUILD_CHANNEL).find((m) => pattern.test(m.content ?? '')), `a reply matching ${pattern}`, 60_000)
    .catch((err: unknown) => {
      throw new Error(`${String(err)}; the channel got: ${JSON.stringify(fake.sentTo(GUILD_CHANNEL).map((m) => m.content))}`);
    });
const noteTo = (interactionId: string) => fake.until(() => fake.repliesTo(interactionId).find((r) => !r.deferred), `the ephemeral note to interaction ${interactionId}`, 30_000);

it('a request is posted with buttons; a stranger is refused in an ephemeral reply; a paired member allows it; the prompt is settled and the agent goes on', async () => {
  const { messageId, approval } = await ask('make deploy');
  expect(fake.messageOf(GUILD_CHANNEL, messageId)?.content).toContain('@careful asks for permission');
  expect(fake.componentsOf(GUILD_CHANNEL, messageId).map((b) => [b.customId, b.style])).toEqual([
    [`${approval.id}:o`, 1],
    [`${approval.id}:s`, 2],
    [`${approval.id}:a`, 2],
    [`${approval.id}:d`, 4],
  ]);
  const press = (userId: string, token: string) => fake.press({ userId, channelId: GUILD_CHANNEL, messageId, customId: `${approval.id}:${token}` });

  // Not paired: refused, and told why in a reply only they see; the request still waits.
  const refused = press(STRANGER, 'o');
  expect(await noteTo(refused.id)).toMatchObject({ ephemeral: true, content: expect.stringMatching(/not paired/) });
  expect((await d.api.getApproval({ params: { id: approval.id } })).status).toBe('pending');
  expect(fake.componentsOf(GUILD_CHANNEL, messageId)).toHaveLength(4);
  expect(fake.channelView(GUILD_CHANNEL).some((m) => /not paired/.test(m.content))).toBe(false);

  const allowed = press(ADA, 'o');
  expect(await noteTo(allowed.id)).toMatchObject({ ephemeral: true, content: 'Allowed once.' });
  expect(await d.api.getApproval({ params: { id: approval.id } })).toMatchObject({ status: 'allowed', decision: 'allow_once', decidedBy: `discord:${ADA}` });
  await fake.until(() => fake.componentsOf(GUILD_CHANNEL, messageId).length === 0 || undefined, 'the buttons removed', 30_000);
  expect(fake.messageOf(GUILD_CHANNEL, messageId)?.content).toMatch(new RegExp(`^✅ Allowed once by discord:${ADA}\\n@careful asked: .*make deploy`));
  await replyWith(new RegExp(`Bash: allowed \\(discord:${ADA}\\)`));
}, 180_000);

it('a decision from the API settles the prompt: the buttons go, the outcome shows', async () => {
  const { messageId, approval } = await ask('make migrate');
  await d.api.decideApproval({ params: { id: approval.id }, body: { decision: 'deny', reason: 'use staging', by: 'cli' } });
  await fake.until(() => fake.componentsOf(GUILD_CHANNEL, messageId).length === 0 || undefined, 'the buttons removed', 30_000);
  expect(fake.messageOf(GUILD_CHANNEL, messageId)?.content).toMatch(/^⛔ Denied by cli: use staging\n@careful asked: .*make migrate/);
  await replyWith(/Bash: refused \(cli\) denied by cli: use staging/);
}, 180_000);
