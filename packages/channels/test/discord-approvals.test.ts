/**
 * Approval prompts as Discord buttons, with the real discord.js Client against the fake Discord:
 * the prompt's action rows, a press arriving as INTERACTION_CREATE and reaching `sink.click`,
 * the ephemeral answer only the presser sees, the settle that removes the buttons, and
 * Discord's component limits.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { FakeDiscord, GUILD_CHANNEL, dmChannelOf } from '@tinyagi/test-kit/fake-discord';
import { waitFor } from '@tinyagi/test-kit';
import type { ApprovalClick, ApprovalPrompt, InboundMessage, InboundSink } from '../src/adapter.ts';
import { DiscordAdapter } from '../src/discord/adapter.ts';

const USER = '700000000000000077';
const OTHER = '700000000000000078';
const DM = dmChannelOf(USER);

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const permission: ApprovalPrompt = {
  id: 'apr_01JDISCORD0000000000000001',
  kind: 'permission',
  text: '🔐 **@coder asks for permission:**\n`rm -rf build`\n\nAnswer with a button.',
  actions: [
    { label: 'Allow once', token: 'o', style: 'primary' },
    { label: 'Allow for this session', token: 's' },
    { label: 'Allow always', token: 'a' },
    { label: 'Deny', token: 'd', style: 'danger' },
  ],
};

/** What the test's sink does with a click: records it and answers through `notify` (unless told not to). */
async function connected(options: { onClick?: (click: ApprovalClick) => Promise<void>; interactionWindowMs?: number } = {}) {
  const fake = new FakeDiscord(options.interactionWindowMs !== undefined ? { interactionWindowMs: options.interactionWindowMs } : {});
  await fake.start();
  cleanups.push(() => fake.close());
  const received: InboundMessage[] = [];
  const clicks: ApprovalClick[] = [];
  const logs: string[] = [];
  const adapter = new DiscordAdapter({ token: fake.token, restApi: `${fake.url}/api`, log: (level, message) => logs.push(`${level} ${message}`) });
  cleanups.push(() => adapter.stop());
  const sink: InboundSink = {
    receive: async (m) => void received.push(m),
    click: async (click) => {
      clicks.push(click);
      await options.onClick?.(click);
    },
  };
  await adapter.start(sink);
  // The DM channels exist on the platform (the users wrote first).
  fake.dm({ userId: USER, content: 'hello' });
  fake.dm({ userId: OTHER, content: 'hello' });
  await waitFor(() => received.length === 2, 20_000, 'the first two DMs');
  return { fake, adapter, clicks, logs };
}

describe('discord approval buttons (real discord.js)', () => {
  it('post shows one button per answer with its custom id and style; a press reaches sink.click with the ids and the presser; the note is ephemeral to them alone', async () => {
    const { fake, adapter, clicks } = await connected({ onClick: (click) => click.notify('Allowed once.') });
    const messageId = await adapter.approvals.post(`ch:${DM}`, permission);
    expect(fake.messageOf(DM, messageId)?.content).toBe(permission.text);
    expect(fake.componentsOf(DM, messageId)).toEqual([
      { customId: `${permission.id}:o`, label: 'Allow once', style: 1, row: 0 },
      { customId: `${permission.id}:s`, label: 'Allow for this session', style: 2, row: 0 },
      { customId: `${permission.id}:a`, label: 'Allow always', style: 2, row: 0 },
      { customId: `${permission.id}:d`, label: 'Deny', style: 4, row: 0 },
    ]);

    const press = fake.press({ userId: USER, channelId: DM, messageId, customId: `${permission.id}:o` });
    await waitFor(() => clicks.length === 1, 20_000, 'the click');
    expect(clicks[0]).toMatchObject({ approvalId: permission.id, token: 'o', senderId: USER, sender: `User ${USER.slice(-4)}`, route: `ch:${DM}` });
    // Answered within Discord's 3 s (a deferred ephemeral reply), then filled with the note.
    await fake.until(() => fake.repliesTo(press.id).some((r) => r.content === 'Allowed once.'), 'the ephemeral note');
    expect(press.callback).toBe(5);
    expect(fake.repliesTo(press.id)).toEqual([{ content: 'Allowed once.', ephemeral: true, deferred: false }]);
    // Nobody else sees it: the channel has the prompt and the users' messages only.
    expect(fake.channelView(DM).map((m) => m.content)).toEqual(['hello', permission.text]);
  });

  it('a press in a guild channel names the member; a second note is an ephemeral follow-up; a press the host says nothing about leaves no "thinking…" reply', async () => {
    let say: string[] = [];
    const { fake, adapter, clicks } = await connected({
      onClick: async (click) => {
        for (const text of say) await click.notify(text);
      },
    });
    const messageId = await adapter.approvals.post(`ch:${GUILD_CHANNEL}`, permission);
    say = ['Refused: not an approver.', 'Ask the owner.'];
    const first = fake.press({ userId: OTHER, channelId: GUILD_CHANNEL, messageId, customId: `${permission.id}:a` });
    await fake.until(() => fake.repliesTo(first.id).length === 2, 'two notes');
    expect(clicks[0]).toMatchObject({ token: 'a', senderId: OTHER, route: `ch:${GUILD_CHANNEL}` });
    expect(fake.repliesTo(first.id)).toEqual([
      { content: 'Refused: not an approver.', ephemeral: true, deferred: false },
      { content: 'Ask the owner.', ephemeral: true, deferred: false },
    ]);

    say = [];
    const second = fake.press({ userId: USER, channelId: GUILD_CHANNEL, messageId, customId: `${permission.id}:d` });
    await waitFor(() => clicks.length === 2, 20_000, 'the second click');
    await fake.until(() => second.replies.length === 1 && second.replies[0]!.deleted, 'the empty deferred reply to be deleted');
    expect(fake.repliesTo(second.id)).toEqual([]);
    // The prompt is unchanged by presses: settling is the host's call.
    expect(fake.componentsOf(GUILD_CHANNEL, messageId)).toHaveLength(4);
  });

  it('a press acknowledged too late (Discord answers Unknown interaction) still reaches the host; the failure is logged, nothing thrown', async () => {
    const { fake, adapter, clicks, logs } = await connected({ interactionWindowMs: -1, onClick: (click) => click.notify('Allowed once.') });
    const messageId = await adapter.approvals.post(`ch:${DM}`, permission);
    const press = fake.press({ userId: USER, channelId: DM, messageId, customId: `${permission.id}:o` });
    await waitFor(() => clicks.length === 1, 20_000, 'the click');
    expect(clicks[0]).toMatchObject({ approvalId: permission.id, token: 'o', senderId: USER });
    await waitFor(() => logs.some((l) => /could not acknowledge the button press/.test(l)), 20_000, 'the log line');
    expect(press.callback).toBeUndefined();
    expect(fake.repliesTo(press.id)).toEqual([]);
  });

  it('settle replaces the text with the outcome and removes the buttons; settling a deleted prompt is no error', async () => {
    const { fake, adapter } = await connected();
    const messageId = await adapter.approvals.post(`ch:${DM}`, permission);
    await adapter.approvals.settle(`ch:${DM}`, messageId, '✅ Allowed once by User 0077.');
    expect(fake.messageOf(DM, messageId)).toEqual({ content: '✅ Allowed once by User 0077.', components: 0 });
    expect(fake.componentsOf(DM, messageId)).toEqual([]);
    expect(() => fake.press({ userId: USER, channelId: DM, messageId, customId: `${permission.id}:o` })).toThrow(/no button/);

    const gone = await adapter.approvals.post(`ch:${DM}`, { ...permission, id: 'apr_01JDISCORD0000000000000002' });
    await adapter.live!.remove(`ch:${DM}`, gone);
    await expect(adapter.approvals.settle(`ch:${DM}`, gone, 'Denied.')).resolves.toBeUndefined();
  });

  it('within Discord’s limits: long text cut to 2,000, labels to 80, at most 5 rows of 5 (the last answer kept), a retried post creates one prompt', async () => {
    const { fake, adapter } = await connected();
    const choices = Array.from({ length: 30 }, (_, i) => ({ label: `${'choice '.repeat(20)}${i}`, token: `c${i}` }));
    const question: ApprovalPrompt = {
      id: 'apr_01JDISCORD0000000000000003',
      kind: 'question',
      text: `❓ ${'a very long question '.repeat(200)}`,
      actions: [...choices, { label: 'Decline', token: 'd', style: 'danger' }],
    };
    const messageId = await adapter.approvals.post(`ch:${DM}`, question);
    const shown = fake.messageOf(DM, messageId)!;
    expect(shown.content.length).toBe(2000);
    expect(shown.content.endsWith('…')).toBe(true);
    const buttons = fake.componentsOf(DM, messageId);
    expect(buttons).toHaveLength(25);
    expect(new Set(buttons.map((b) => b.row)).size).toBe(5);
    expect(buttons.every((b) => b.label.length <= 80)).toBe(true);
    expect(buttons.at(-1)).toMatchObject({ customId: `${question.id}:d`, label: 'Decline', style: 4 });
    expect(buttons[23]!.customId).toBe(`${question.id}:c23`);

    // The same prompt posted again (the host's retry after a lost answer): Discord's nonce returns the first.
    const again = await adapter.approvals.post(`ch:${DM}`, question);
    expect(again).toBe(messageId);
    expect(fake.deduplicated).toBe(1);

    // A custom id Discord would refuse is refused before sending.
    await expect(adapter.approvals.post(`ch:${DM}`, { ...permission, id: `apr_${'x'.repeat(100)}` })).rejects.toThrow(/longer than Discord's 100/);
  });
});
