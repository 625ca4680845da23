/**
 * Slack end to end: the built daemon (`tinyagi start` from test-kit) supervises the real channel
 * process (built @tinyagi/channels runner, the real Slack SDK) against the fake Slack. Pairing in a
 * DM, a mention in a channel answered in its thread, `@agent` routing, files both ways, the
 * status reactions, a long reply in chunks within 4,000 characters, and kill -9 of the channel
 * process (after Slack created a reply whose answer never came back) and of the daemon: every
 * reply lands exactly once.
 */
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FakeSlack, SLACK_CHANNEL, slackDmOf } from '@tinyagi/test-kit/fake-slack';
import { isGone, waitFor, type TestDaemon } from '@tinyagi/test-kit';
import { createChannelDaemon } from './daemon.ts';

const USER = 'U0ALICE042';
const DM = slackDmOf(USER);
const LONG_REPLY = Array.from({ length: 120 }, (_, i) => `Line ${i}: ${'the quick brown fox jumps over the lazy dog '.repeat(2).trim()}`).join('\n');

let fake: FakeSlack;
let d: TestDaemon;

beforeAll(async () => {
  fake = new FakeSlack();
  await fake.start();
  d = await createChannelDaemon({
    coder: (home) => ({
      mock: {
        reply: 'coder done: {{message}}',
        rules: [
          { match: 'a long one', reply: LONG_REPLY },
          { match: 'send the report', reply: `Here. [send_file: ${join(home, 'files', 'report.txt')}]` },
          { match: 'format check', latency_ms: 1500, reply: '**Done** with `a<b` & [docs](https://example.com/?a=1&b=2)' },
        ],
      },
    }),
    agents: { reviewer: { provider: 'mock', mock: { reply: 'reviewer says: {{message}}' } } },
    // Short leases, so what a killed process held comes back within the test.
    channels: { enabled: ['slack'], slack: { bot_token: fake.botToken, app_token: fake.appToken, api_url: fake.apiUrl, lease_ms: 1500 } },
    extra: { queue: { lease_ms: 1500, sweep_ms: 200 } },
  });
  await d.start();
  await fake.until(() => fake.connected, 'the channel on the Socket Mode connection', 60_000);
}, 120_000);

afterEach((context) => {
  if (context.task.result?.state !== 'fail') return;
  let log = '(none)';
  try {
    log = readFileSync(join(d.home, 'logs', 'slack.log'), 'utf8').slice(-4000);
  } catch {}
  console.error(
    `--- logs/slack.log ---\n${log}\n${d.logs()}\nrequests: ${fake.requests
      .slice(-20)
      .map((r) => `${r.method} ${r.status} ${r.error ?? ''}`)
      .join(', ')}`,
  );
});

afterAll(async () => {
  await d?.cleanup();
  await fake?.close();
});

const texts = (channel: string, thread?: string) => fake.botMessages(channel, thread).map((m) => m.text);
const count = (channel: string, pattern: RegExp) => texts(channel).filter((t) => pattern.test(t)).length;

async function channelPid(): Promise<number> {
  return waitFor(async () => (await d.api.listChannels()).find((c) => c.name === 'slack' && c.state === 'running')?.pid ?? undefined, 30_000, 'a running slack channel');
}

async function allDelivered(pattern: RegExp, rows: number): Promise<void> {
  await waitFor(
    async () => {
      const all = (await d.api.listOutbox({ query: { channel: 'slack', limit: 500 } })).filter((r) => pattern.test(r.text));
      return all.length === rows && all.every((r) => r.status === 'delivered');
    },
    60_000,
    `${rows} replies matching ${pattern} to be acked`,
  );
}

describe('slack channel, end to end', () => {
  it('a DM from a new sender is paired, then the held message is answered in the DM', async () => {
    fake.dm({ user: USER, text: 'hello slack' });
    const code = await fake.until(() => /pairing code is ([A-Z2-9]{8})/.exec(texts(DM).join('\n'))?.[1], 'the pairing code', 60_000);
    await d.api.approvePairing({ body: { code } });
    await fake.until(() => count(DM, /coder done: hello slack/) === 1, 'the held message to be answered', 60_000);
  });

  it('a mention in a channel is answered once, in the thread started on it; @agent routes; the thread is its own conversation', async () => {
    const top = fake.channelMessage({ user: USER, channel: SLACK_CHANNEL, text: 'ping channel' });
    await fake.until(() => texts(SLACK_CHANNEL, top).some((t) => /coder done: ping channel/.test(t)), 'the reply in the thread', 60_000);
    fake.channelMessage({ user: USER, channel: SLACK_CHANNEL, text: '@reviewer look at this', threadTs: top });
    await fake.until(() => texts(SLACK_CHANNEL, top).some((t) => /reviewer says: look at this/.test(t)), 'the reviewer in the thread', 60_000);
    // Nothing went to the channel's top level, and the mention's two events made one message.
    expect(fake.botMessages(SLACK_CHANNEL).every((m) => m.thread_ts === top)).toBe(true);
    expect(texts(SLACK_CHANNEL, top).filter((t) => /coder done: ping channel/.test(t))).toHaveLength(1);
    const rows = await d.api.listOutbox({ query: { channel: 'slack', limit: 500 } });
    const thread = rows.find((r) => r.text.includes('ping channel'))!;
    const dm = rows.find((r) => r.text.includes('hello slack'))!;
    expect(thread.recipient['threadId']).toBe(`${SLACK_CHANNEL}:${top}`);
    expect(thread.conversationId).not.toBe(dm.conversationId);
  });

  it('formatting arrives as mrkdwn, and the message worked on gets :eyes: then :white_check_mark:', async () => {
    const ts = fake.dm({ user: USER, text: 'format check' });
    await fake.until(() => texts(DM).find((t) => t.startsWith('*Done*')), 'the formatted reply', 60_000);
    expect(texts(DM).find((t) => t.startsWith('*Done*'))).toMatch(/^\*Done\* with `a&lt;b` &amp; <https:\/\/example\.com\/\?a=1&amp;b=2\|docs>/);
    await fake.until(() => fake.reactionsOn(DM, ts).includes('white_check_mark'), 'the done reaction', 30_000);
    expect(fake.reactions.some((r) => r.ts === ts && r.name === 'eyes' && r.method === 'reactions.add')).toBe(true);
    expect(fake.reactionsOn(DM, ts)).toEqual(['white_check_mark']);
    // A reply faster than the first status leaves no :eyes: behind either.
    const quick = fake.dm({ user: USER, text: 'quick one' });
    await fake.until(() => count(DM, /coder done: quick one/) === 1, 'the quick reply', 60_000);
    await allDelivered(/coder done: quick one/, 1);
    expect(fake.reactionsOn(DM, quick)).not.toContain('eyes');
  });

  it('a reply over 4,000 characters arrives in chunks within the limit, in order, once each', async () => {
    const before = fake.botMessages(DM).length;
    fake.dm({ user: USER, text: 'a long one please' });
    await allDelivered(/Line 119:/, 1);
    const chunks = texts(DM).slice(before);
    expect(chunks.length).toBeGreaterThanOrEqual(2);
    for (const c of chunks) expect(c.length).toBeLessThanOrEqual(4000);
    const row = (await d.api.listOutbox({ query: { channel: 'slack', limit: 500 } })).find((r) => r.text.includes('Line 119:'))!;
    expect(chunks.join('\n').replace(/\s+/g, ' ')).toBe(row.text.replace(/\s+/g, ' '));
  });

  it('a file comes in to files/ and a [send_file] goes out with the upload flow', async () => {
    fake.dm({ user: USER, text: 'see file', files: [{ name: 'notes.txt', bytes: Buffer.from('slack notes') }] });
    await fake.until(() => count(DM, /coder done: see file/) === 1, 'the reply', 60_000);
    const stored = readdirSync(join(d.home, 'files')).find((f) => f.endsWith('notes.txt'))!;
    expect(readFileSync(join(d.home, 'files', stored), 'utf8')).toBe('slack notes');

    mkdirSync(join(d.home, 'files'), { recursive: true });
    writeFileSync(join(d.home, 'files', 'report.txt'), 'slack report');
    fake.dm({ user: USER, text: 'send the report' });
    const withFile = await fake.until(() => fake.botMessages(DM).find((m) => m.files.length > 0), 'the uploaded file', 60_000);
    expect(withFile.files.map((f) => [f.name, f.bytes.toString()])).toEqual([['report.txt', 'slack report']]);
  });

  it('the channel process SIGKILLed after Slack created a reply but before its answer arrived: restarted, the resend finds it, nothing lost or doubled', async () => {
    const held = fake.hold(/coder done: kill one/);
    fake.dm({ user: USER, text: 'kill one' });
    fake.dm({ user: USER, text: 'kill two' });
    await held.arrived;
    await waitFor(async () => (await d.api.listOutbox({ query: { channel: 'slack', limit: 500 } })).some((r) => /kill two/.test(r.text)), 60_000, 'the second reply in the outbox');
    const pid = await channelPid();
    process.kill(pid, 'SIGKILL');
    await waitFor(() => isGone(pid), 10_000, 'the channel process to die');
    held.release();
    await allDelivered(/coder done: kill (one|two)/, 2);
    expect(count(DM, /coder done: kill one/)).toBe(1);
    expect(count(DM, /coder done: kill two/)).toBe(1);
    expect(await channelPid()).not.toBe(pid);
    // The resend was the new process's, and it found the message by its metadata.
    expect(readFileSync(join(d.home, 'logs', 'slack.log'), 'utf8')).toMatch(/was posted before its confirmation was lost; not sent again/);
  });

  it('a DM written while the channel process is down is delivered by Slack after the restart (unacked envelopes come again) and answered once', async () => {
    const pid = await channelPid();
    process.kill(pid, 'SIGKILL');
    await waitFor(() => isGone(pid), 10_000, 'the channel process to die');
    await fake.until(() => !fake.connected, 'the socket to drop');
    fake.dm({ user: USER, text: 'written while down' });
    await allDelivered(/coder done: written while down/, 1);
    expect(count(DM, /coder done: written while down/)).toBe(1);
  });

  it('the daemon SIGKILLed between Slack’s answer and the ack: after the restart every reply arrives, none twice', async () => {
    const held = fake.hold(/coder done: crash one/);
    fake.dm({ user: USER, text: 'crash one' });
    fake.dm({ user: USER, text: 'crash two' });
    await held.arrived;
    await waitFor(async () => (await d.api.listOutbox({ query: { channel: 'slack', limit: 500 } })).some((r) => /crash two/.test(r.text)), 60_000, 'the second reply in the outbox');
    const pid = await channelPid();
    await d.kill();
    held.release();
    await waitFor(() => isGone(pid), 20_000, 'the orphaned channel process to exit');
    await d.start();
    await allDelivered(/coder done: crash (one|two)/, 2);
    expect(count(DM, /coder done: crash one/)).toBe(1);
    expect(count(DM, /coder done: crash two/)).toBe(1);
  });
});
