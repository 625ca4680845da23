/**
 * The Telegram stand-in behaves like the Bot API where the channel depends on it: a second
 * poller is answered 409 (the older getUpdates is terminated), privacy mode hides group chatter,
 * sent text is parsed per parse_mode (an empty text is refused), and failures can be an HTML page
 * or a reset connection.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeTelegram } from '../src/fake-telegram.ts';

let fake: FakeTelegram;
beforeAll(async () => {
  fake = new FakeTelegram();
  await fake.start();
});
afterAll(() => fake.close());

const call = (method: string, body: Record<string, unknown>): Promise<Response> =>
  fetch(`${fake.url}/bot${fake.token}/${method}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe('FakeTelegram', () => {
  it('answers the older of two long polls 409 Conflict, as Telegram does', async () => {
    const first = call('getUpdates', { timeout: 30 });
    await fake.until(() => fake.calls.filter((c) => c === 'getUpdates').length === 1 || undefined, 'the first poll');
    const second = call('getUpdates', { timeout: 0 });
    const older = await first;
    expect(older.status).toBe(409);
    expect(((await older.json()) as { description: string }).description).toMatch(/^Conflict: terminated by other getUpdates request/);
    expect((await second).status).toBe(200);
    expect(fake.conflicts).toBe(1);
  });

  it('in privacy mode a group message reaches the bot only as a command, a mention or a reply to it', async () => {
    fake.userMessage({ chatId: -1, fromId: 5, chatType: 'group', text: 'just chatting' });
    fake.userMessage({ chatId: -1, fromId: 5, chatType: 'group', text: 'hey @tiny_test_bot' });
    fake.userMessage({ chatId: -1, fromId: 5, chatType: 'group', text: '/status' });
    fake.userMessage({ chatId: -1, fromId: 5, chatType: 'group', text: 'this one', replyToBot: true });
    const updates = ((await (await call('getUpdates', { timeout: 0 })).json()) as { result: Array<{ message: { text: string } }> }).result;
    expect(updates.map((u) => u.message.text)).toEqual(['hey @tiny_test_bot', '/status', 'this one']);
  });

  it('parses parse_mode like Telegram and refuses an empty text', async () => {
    expect((await call('sendMessage', { chat_id: 1, text: 'snake_case and my_var', parse_mode: 'Markdown' })).status).toBe(200);
    expect(fake.messagesTo(1).at(-1)).toMatchObject({ text: 'snakecase and myvar', entities: [{ type: 'italic', offset: 5, length: 11 }] });
    const refused = await call('sendMessage', { chat_id: 1, text: 'version 1.2 is out', parse_mode: 'MarkdownV2' });
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { description: string }).description).toBe("Bad Request: can't parse entities: Character '.' is reserved and must be escaped with the preceding '\\'");
    expect(((await (await call('sendMessage', { chat_id: 1, text: '<b>x', parse_mode: 'HTML' })).json()) as { description: string }).description).toBe(
      'Bad Request: can\'t parse entities: Can\'t find end tag corresponding to start tag "b"',
    );
    expect(((await (await call('sendMessage', { chat_id: 1, text: '  ' })).json()) as { description: string }).description).toBe('Bad Request: message text is empty');
  });

  it("fails as a proxy's HTML 502 page or a reset connection when told to", async () => {
    fake.failNext({ method: 'sendMessage', kind: 'html', errorCode: 502 });
    const page = await call('sendMessage', { chat_id: 2, text: 'x' });
    expect(page.status).toBe(502);
    expect(page.headers.get('content-type')).toBe('text/html');
    expect(await page.text()).toContain('<center><h1>502 Bad Gateway</h1></center>');
    fake.failNext({ method: 'sendMessage', kind: 'reset' });
    await expect(call('sendMessage', { chat_id: 2, text: 'x' })).rejects.toThrow();
    expect(fake.messagesTo(2)).toEqual([]);
  });
});
