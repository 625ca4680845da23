/**
 * Slack's HTTP Events API (mode "http", slack/events-http.ts): the real Slack adapter receives
 * events the fake Slack POSTs to its Request URL, signed as Slack signs them, with Slack's retry
 * rules; requests that are not Slack's (no or bad signature, an old timestamp) are refused; the
 * Request URL check (url_verification) and interactivity payloads are answered as Slack expects;
 * events and button presses of another workspace than the bot's are answered 200 and dropped.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { FakeSlack, SLACK_APP, SLACK_TEAM, slackDmOf } from '@tinyagi/test-kit/fake-slack';
import { freePort } from '@tinyagi/test-kit';
import { requiredChannelSecrets } from '@tinyagi/client/contract';
import type { ApprovalClick, InboundMessage } from '../src/adapter.ts';
import { SlackAdapter } from '../src/slack/adapter.ts';
import { SlackEventsHttpReceiver, slackSignature } from '../src/slack/events-http.ts';
import { slackKind } from '../src/slack/kind.ts';

const USER = 'U0ALICE001';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function httpAdapter(receive: (m: InboundMessage) => Promise<void>, ackTimeoutMs = 2500, click?: (c: ApprovalClick) => Promise<void>, logged: string[] = []) {
  const fake = new FakeSlack({ ackTimeoutMs: ackTimeoutMs + 1500 });
  await fake.start();
  cleanups.push(() => fake.close());
  const port = await freePort();
  const adapter = new SlackAdapter({
    botToken: fake.botToken,
    apiUrl: fake.apiUrl,
    http: { signingSecret: fake.signingSecret, port, ackTimeoutMs },
    log: (level, message) => logged.push(`${level} ${message}`),
  });
  cleanups.push(() => adapter.stop());
  await adapter.start({ receive, ...(click ? { click } : {}) });
  fake.requestUrl = `http://127.0.0.1:${port}/slack/events`;
  return { fake, port };
}

async function receiver(signingSecret = 'the-signing-secret') {
  const r = new SlackEventsHttpReceiver({ signingSecret, port: await freePort(), ackTimeoutMs: 2000 });
  await r.start();
  cleanups.push(() => r.disconnect());
  const post = (body: string, headers: Record<string, string>, path = '/slack/events') =>
    fetch(`http://127.0.0.1:${r.port}${path}`, { method: 'POST', headers, body }).then(async (res) => ({ status: res.status, text: await res.text() }));
  const signed = (body: string, contentType = 'application/json', at = Math.floor(Date.now() / 1000)) => {
    const timestamp = String(at);
    return post(body, { 'content-type': contentType, 'x-slack-request-timestamp': timestamp, 'x-slack-signature': slackSignature(signingSecret, timestamp, body) });
  };
  return { r, post, signed };
}

describe('slack over the HTTP Events API (real adapter, fake Slack posting signed events)', () => {
  it('a DM posted to the Request URL reaches the host once and is answered 200', async () => {
    const received: InboundMessage[] = [];
    const { fake } = await httpAdapter(async (m) => void received.push(m));
    fake.setUserName(USER, 'Alice');
    fake.dm({ user: USER, text: 'hello over http' });
    await fake.until(() => fake.acks.length === 1, 'the 200');
    expect(received).toEqual([expect.objectContaining({ senderId: USER, sender: 'Alice', route: slackDmOf(USER), text: 'hello over http', isPrivate: true })]);
    expect(fake.httpDeliveries).toEqual([expect.objectContaining({ attempt: 0, status: 200 })]);
  });

  it('an event the host has not taken in time is answered 503; Slack retries and the message reaches the host once', async () => {
    const received: InboundMessage[] = [];
    let fake!: FakeSlack;
    const s = await httpAdapter(async (m) => {
      // The host takes its time with the first delivery: Slack gives up waiting and retries.
      if (received.length === 0) await fake.until(() => fake.httpDeliveries.some((d) => d.status === 503), 'a 503');
      received.push(m);
    }, 800);
    fake = s.fake;
    fake.dm({ user: USER, text: 'slow to take' });
    await fake.until(() => fake.acks.length === 1, 'a 200 for the event', 60_000);
    expect(received.map((m) => m.text)).toEqual(['slow to take']);
    expect(fake.httpDeliveries[0]).toMatchObject({ attempt: 0, status: 503 });
    expect(fake.httpDeliveries.at(-1)).toMatchObject({ status: 200 });
    expect(fake.httpDeliveries.at(-1)!.attempt).toBeGreaterThan(0);
  });

  it("drops (answered 200, so Slack does not retry) a signed event or button press of another workspace than the bot's; its own still arrive", async () => {
    const received: InboundMessage[] = [];
    const clicks: ApprovalClick[] = [];
    const logged: string[] = [];
    const { fake, port } = await httpAdapter(
      async (m) => void received.push(m),
      2500,
      async (c) => void clicks.push(c),
      logged,
    );
    // What Slack posts for a workspace where the same app is installed too: signed with the app's one signing secret.
    const signedPost = (body: string, contentType = 'application/json') => {
      const timestamp = String(Math.floor(Date.now() / 1000));
      return fetch(`http://127.0.0.1:${port}/slack/events`, {
        method: 'POST',
        headers: { 'content-type': contentType, 'x-slack-request-timestamp': timestamp, 'x-slack-signature': slackSignature(fake.signingSecret, timestamp, body) },
        body,
      }).then((res) => res.status);
    };
    const event = (teamId: string, text: string, id: string) =>
      JSON.stringify({
        token: 'verification-token',
        team_id: teamId,
        api_app_id: SLACK_APP,
        type: 'event_callback',
        event_id: id,
        event_time: Math.floor(Date.now() / 1000),
        authorizations: [{ enterprise_id: null, team_id: teamId, user_id: 'U0BOTOTHER', is_bot: true, is_enterprise_install: false }],
        event: { type: 'message', channel_type: 'im', channel: 'D0OTHER001', user: 'U0MALLORY1', text, ts: `${Math.floor(Date.now() / 1000)}.000100`, event_ts: '1.1', team: teamId },
      });
    expect(await signedPost(event('T0OTHER001', 'from another workspace', 'Ev0OTHER1'))).toBe(200);
    // Dropped before the answer (an event's 200 waits for the host to take it, so a taken one would be in `received` now).
    expect(received).toEqual([]);
    expect(logged).toContainEqual(expect.stringMatching(/^warn slack events: dropped an event of another workspace \(T0OTHER001; the bot's is T0FAKE001\)/));
    // The same, named as the bot's workspace: taken, so the test's event shape is one the adapter takes.
    expect(await signedPost(event(SLACK_TEAM, 'from the bot workspace', 'Ev0OWN001'))).toBe(200);
    const press = (teamId: string) =>
      `payload=${encodeURIComponent(
        JSON.stringify({
          type: 'block_actions',
          team: { id: teamId, domain: 'other' },
          enterprise: null,
          user: { id: 'U0MALLORY1', team_id: teamId },
          api_app_id: SLACK_APP,
          trigger_id: `${teamId}.1`,
          channel: { id: 'D0OTHER001' },
          container: { type: 'message', channel_id: 'D0OTHER001', message_ts: '1.1' },
          actions: [{ type: 'button', action_id: 'apr_1:tok', value: 'allow_once' }],
        }),
      )}`;
    expect(await signedPost(press('T0OTHER001'), 'application/x-www-form-urlencoded')).toBe(200);
    expect(logged).toContainEqual(expect.stringMatching(/^warn slack events: dropped an interaction of another workspace/));
    expect(await signedPost(press(SLACK_TEAM), 'application/x-www-form-urlencoded')).toBe(200);
    await fake.until(() => clicks.length > 0, "the bot workspace's press");
    expect(received.map((m) => m.text)).toEqual(['from the bot workspace']);
    expect(clicks.map((c) => c.approvalId)).toEqual(['apr_1']);
  });

  it('refuses what Slack did not sign: no signature, a wrong one, an old timestamp (401); other paths 404, other methods 405', async () => {
    const { post, signed, r } = await receiver();
    const events: unknown[] = [];
    r.on('slack_event', (e: { ack: () => Promise<void> }) => {
      events.push(e);
      void e.ack();
    });
    const body = JSON.stringify({ type: 'event_callback', event_id: 'Ev1', event: { type: 'message', text: 'x' } });
    expect((await post(body, { 'content-type': 'application/json' })).status).toBe(401);
    const now = String(Math.floor(Date.now() / 1000));
    const wrong = await post(body, { 'content-type': 'application/json', 'x-slack-request-timestamp': now, 'x-slack-signature': slackSignature('another-secret', now, body) });
    expect(wrong).toEqual({ status: 401, text: 'the signature does not match the signing secret' });
    expect((await signed(body, 'application/json', Math.floor(Date.now() / 1000) - 600)).status).toBe(401);
    expect((await signed(body)).status).toBe(200);
    expect((await post('{}', {}, '/other')).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${r.port}/slack/events`)).status).toBe(405);
    expect(events).toHaveLength(1);
  });

  it('answers the Request URL check with its challenge; an interactivity payload is emitted as Socket Mode emits it, answered once acked', async () => {
    const { signed, r } = await receiver();
    expect(await signed(JSON.stringify({ type: 'url_verification', token: 't', challenge: 'c-123' }))).toEqual({ status: 200, text: '{"challenge":"c-123"}' });
    r.on('interactive', (args: { ack: () => Promise<void>; body: { type: string; actions: Array<{ action_id: string }> } }) => {
      expect(args.body.actions[0]!.action_id).toBe('apr_1:once');
      void args.ack();
    });
    const payload = JSON.stringify({ type: 'block_actions', trigger_id: 'T1', user: { id: USER }, actions: [{ action_id: 'apr_1:once' }] });
    expect((await signed(`payload=${encodeURIComponent(payload)}`, 'application/x-www-form-urlencoded')).status).toBe(200);
    expect((await signed('payload-missing=1', 'application/x-www-form-urlencoded')).status).toBe(400);
  });

  it('the kind needs the app-level token for Socket Mode and the signing secret for HTTP (doctor)', () => {
    expect(requiredChannelSecrets(slackKind, {})).toEqual(['bot_token', 'app_token']);
    expect(requiredChannelSecrets(slackKind, { mode: 'http' })).toEqual(['bot_token', 'signing_secret']);
    expect(slackKind.settings.safeParse({ mode: 'webhook' }).success).toBe(false);
  });
});
