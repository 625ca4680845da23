/**
 * Approval prompts as Block Kit buttons, with the real SDK (@slack/socket-mode, @slack/web-api)
 * against the fake Slack: the section and actions blocks, a press arriving as a `block_actions`
 * interactivity envelope (acked) and reaching `sink.click`, the ephemeral note only the presser
 * sees, the settle that leaves the outcome without buttons, Block Kit's limits, and the HTTP
 * Request URL mode.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { FakeSlack, SLACK_CHANNEL, slackDmOf } from '@tinyagi/test-kit/fake-slack';
import { freePort, waitFor } from '@tinyagi/test-kit';
import type { ApprovalClick, ApprovalPrompt, InboundMessage, InboundSink } from '../src/adapter.ts';
import { SlackAdapter } from '../src/slack/adapter.ts';

const USER = 'U0ALICE001';
const OTHER = 'U0BOB00001';
const DM = slackDmOf(USER);

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const permission: ApprovalPrompt = {
  id: 'apr_01JSLACK00000000000000001',
  kind: 'permission',
  text: '🔐 **@coder asks for permission:**\n`rm -rf build && echo <done>`\n\nAnswer with a button.',
  actions: [
    { label: 'Allow once', token: 'o', style: 'primary' },
    { label: 'Allow for this session', token: 's' },
    { label: 'Allow always', token: 'a' },
    { label: 'Deny', token: 'd', style: 'danger' },
  ],
};

async function connected(options: { onClick?: (click: ApprovalClick) => Promise<void>; onReceive?: (m: InboundMessage) => Promise<void>; http?: boolean } = {}) {
  const fake = new FakeSlack();
  await fake.start();
  cleanups.push(() => fake.close());
  fake.setUserName(USER, 'Alice');
  fake.setUserName(OTHER, 'Bob');
  const clicks: ApprovalClick[] = [];
  const logs: string[] = [];
  const port = options.http ? await freePort() : 0;
  const adapter = new SlackAdapter({
    botToken: fake.botToken,
    apiUrl: fake.apiUrl,
    ...(options.http ? { http: { signingSecret: fake.signingSecret, port } } : { appToken: fake.appToken }),
    log: (level, message) => logs.push(`${level} ${message}`),
  });
  cleanups.push(() => adapter.stop());
  const sink: InboundSink = {
    receive: options.onReceive ?? (async (_m: InboundMessage) => {}),
    click: async (click) => {
      clicks.push(click);
      await options.onClick?.(click);
    },
  };
  await adapter.start(sink);
  if (options.http) fake.requestUrl = `http://127.0.0.1:${port}/slack/events`;
  return { fake, adapter, clicks, logs };
}

const ts = (messageId: string): string => messageId.split('/')[1]!;

describe('slack approval buttons (real SDK)', () => {
  it('post shows a mrkdwn section and one button per answer; a press is acked and reaches sink.click with the ids and the presser; the note is ephemeral to them', async () => {
    const { fake, adapter, clicks } = await connected({ onClick: (click) => click.notify('Allowed **once**.') });
    const messageId = await adapter.approvals.post(DM, permission);
    expect(messageId).toBe(`${DM}/${ts(messageId)}`);
    const message = fake.botMessages(DM).find((m) => m.ts === ts(messageId))!;
    // The section reads as mrkdwn (bold as *…*, `<` and `>` escaped), the text is the same for notifications.
    expect(message.blocks?.[0]).toEqual({ type: 'section', text: { type: 'mrkdwn', text: expect.stringContaining('*@coder asks for permission:*') } });
    expect(JSON.stringify(message.blocks?.[0])).toContain('&lt;done&gt;');
    expect(message.text).toContain('*@coder asks for permission:*');
    expect(fake.buttonsOf(DM, message.ts).map((b) => [b.action_id, b['value'], (b['text'] as { text: string }).text, b['style']])).toEqual([
      [`${permission.id}:o`, 'o', 'Allow once', 'primary'],
      [`${permission.id}:s`, 's', 'Allow for this session', undefined],
      [`${permission.id}:a`, 'a', 'Allow always', undefined],
      [`${permission.id}:d`, 'd', 'Deny', 'danger'],
    ]);

    const envelope = fake.press({ user: USER, channel: DM, ts: message.ts, actionId: `${permission.id}:o` });
    await fake.until(() => fake.acks.includes(envelope), 'the press to be acked');
    await waitFor(() => clicks.length === 1, 20_000, 'the click');
    expect(clicks[0]).toMatchObject({ approvalId: permission.id, token: 'o', senderId: USER, sender: 'Alice', route: DM });
    await fake.until(() => fake.ephemerals.length === 1, 'the ephemeral note');
    expect(fake.ephemerals[0]).toMatchObject({ channel: DM, user: USER, text: 'Allowed *once*.' });
    // Nobody else sees it: no message was posted in the conversation.
    expect(fake.botMessages(DM)).toHaveLength(1);
    expect(fake.unackedInteractions).toEqual([]);
  });

  it('a press in a channel thread names its route by the thread; the note goes to that presser in the thread', async () => {
    const { fake, adapter, clicks } = await connected({ onClick: (click) => click.notify('You may not answer this.') });
    const thread = fake.channelMessage({ user: USER, channel: SLACK_CHANNEL, text: 'please clean up' });
    const messageId = await adapter.approvals.post(`${SLACK_CHANNEL}:${thread}`, permission);
    const prompt = fake.botMessages(SLACK_CHANNEL, thread)[0]!;
    expect(prompt.ts).toBe(ts(messageId));
    fake.press({ user: OTHER, channel: SLACK_CHANNEL, ts: prompt.ts, actionId: `${permission.id}:a` });
    await waitFor(() => clicks.length === 1, 20_000, 'the click');
    expect(clicks[0]).toMatchObject({ approvalId: permission.id, token: 'a', senderId: OTHER, sender: 'Bob', route: `${SLACK_CHANNEL}:${thread}` });
    await fake.until(() => fake.ephemerals.length === 1, 'the ephemeral note');
    expect(fake.ephemerals[0]).toMatchObject({ channel: SLACK_CHANNEL, user: OTHER, thread_ts: thread, text: 'You may not answer this.' });
  });

  it('settle replaces the blocks with the outcome (the buttons go); settling a deleted prompt is no error', async () => {
    const { fake, adapter } = await connected();
    const messageId = await adapter.approvals.post(DM, permission);
    await adapter.approvals.settle(DM, messageId, '✅ **Allowed once** by Alice.');
    const message = fake.botMessages(DM).find((m) => m.ts === ts(messageId))!;
    expect(message.text).toBe('✅ *Allowed once* by Alice.');
    expect(message.blocks).toEqual([{ type: 'section', text: { type: 'mrkdwn', text: '✅ *Allowed once* by Alice.' } }]);
    expect(fake.buttonsOf(DM, message.ts)).toEqual([]);
    expect(() => fake.press({ user: USER, channel: DM, ts: message.ts, actionId: `${permission.id}:o` })).toThrow(/no button/);

    const gone = await adapter.approvals.post(DM, { ...permission, id: 'apr_01JSLACK00000000000000002' });
    await adapter.live.remove(DM, gone);
    await expect(adapter.approvals.settle(DM, gone, 'Denied.')).resolves.toBeUndefined();
  });

  it('within Block Kit’s limits: the section cut to 3,000, button texts to 75, 25 buttons at most (the last answer kept); a retry after a lost answer posts no second prompt', async () => {
    const { fake, adapter } = await connected();
    const question: ApprovalPrompt = {
      id: 'apr_01JSLACK00000000000000003',
      kind: 'question',
      text: `❓ ${'a very long question & more '.repeat(300)}`,
      actions: [...Array.from({ length: 30 }, (_, i) => ({ label: `${'choice '.repeat(20)}${i}`, token: `c${i}` })), { label: 'Decline', token: 'd', style: 'danger' as const }],
    };
    const messageId = await adapter.approvals.post(DM, question);
    const message = fake.botMessages(DM).find((m) => m.ts === ts(messageId))!;
    const section = (message.blocks![0] as { text: { text: string } }).text.text;
    expect(section.length).toBeLessThanOrEqual(3000);
    expect(section.endsWith('…')).toBe(true);
    // No entity cut in half.
    expect(section).not.toMatch(/&[a-z]*…$/);
    expect(message.text.length).toBeLessThanOrEqual(4000);
    const buttons = fake.buttonsOf(DM, message.ts);
    expect(buttons).toHaveLength(25);
    expect(buttons.every((b) => (b['text'] as { text: string }).text.length <= 75)).toBe(true);
    expect(buttons.at(-1)).toMatchObject({ action_id: `${question.id}:d`, style: 'danger' });

    // Slack created the prompt but the answer was lost (a 5xx): the host's retry finds it by its metadata.
    fake.failNext({ method: 'chat.postMessage', kind: 'server_error', status: 503, afterEffect: true });
    const lost = { ...permission, id: 'apr_01JSLACK00000000000000004' };
    await expect(adapter.approvals.post(DM, lost)).rejects.toThrow();
    const again = await adapter.approvals.post(DM, lost);
    expect(fake.botMessages(DM).filter((m) => m.blocks !== undefined && JSON.stringify(m.blocks).includes(lost.id))).toHaveLength(1);
    expect(fake.buttonsOf(DM, ts(again))).toHaveLength(4);
  });

  it("over Socket Mode, another workspace's press and message (the same app installed there, one app-level token) are acked and dropped; the bot workspace's still arrive", async () => {
    const received: InboundMessage[] = [];
    const { fake, adapter, clicks, logs } = await connected({ onReceive: async (m) => void received.push(m) });
    const messageId = await adapter.approvals.post(DM, permission);
    const other = fake.press({ user: USER, channel: DM, ts: ts(messageId), actionId: `${permission.id}:o`, teamId: 'T0OTHER001' });
    await fake.until(() => fake.acks.includes(other), 'the ack of the other workspace press');
    fake.event({ type: 'message', channel_type: 'im', channel: DM, user: OTHER, text: 'from another workspace', ts: '1700000000.000100' }, { teamId: 'T0OTHER001' });
    // The bot workspace's own, after: once they arrived, the others (sent first on the same socket) were handled.
    fake.press({ user: USER, channel: DM, ts: ts(messageId), actionId: `${permission.id}:d` });
    fake.dm({ user: USER, text: 'from the bot workspace' });
    await waitFor(() => clicks.length === 1 && received.length === 1, 20_000, "the bot workspace's press and message");
    await fake.until(() => fake.acks.length === new Set(fake.sentEnvelopes.map((e) => e.id)).size, 'every envelope acked');
    expect(clicks.map((c) => c.token)).toEqual(['d']);
    expect(received.map((m) => m.text)).toEqual(['from the bot workspace']);
    expect(logs).toContainEqual(expect.stringMatching(/^warn slack events: dropped an interaction of another workspace \(T0OTHER001; the bot's is /));
    expect(logs).toContainEqual(expect.stringMatching(/^warn slack events: dropped an event of another workspace \(T0OTHER001/));
  });

  it('over the HTTP Request URL too: the press is a signed form post, answered 200, and reaches sink.click', async () => {
    const { fake, adapter, clicks } = await connected({ http: true, onClick: (click) => click.notify('Denied.') });
    const messageId = await adapter.approvals.post(DM, permission);
    const envelope = fake.press({ user: USER, channel: DM, ts: ts(messageId), actionId: `${permission.id}:d` });
    await waitFor(() => clicks.length === 1, 20_000, 'the click');
    expect(clicks[0]).toMatchObject({ approvalId: permission.id, token: 'd', senderId: USER, route: DM });
    await fake.until(() => fake.ephemerals.length === 1, 'the ephemeral note');
    expect(fake.httpDeliveries.find((d) => d.id === envelope)?.status).toBe(200);
    expect(fake.unackedInteractions).toEqual([]);
  });
});
