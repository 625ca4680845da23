/**
 * Slack's HTTP Events API (mode "http", slack/events-http.ts): the real Slack adapter receives
 * events the fake Slack POSTs to its Request URL, signed as Slack signs them, with Slack's retry
 * rules; requests that are not Slack's (no or bad signature, an old timestamp) are refused; the
 * Request URL check (url_verification) and interactivity payloads are answered as Slack expects.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { FakeSlack, slackDmOf } from '@tinyagi/test-kit/fake-slack';
import { freePort } from '@tinyagi/test-kit';
import { requiredChannelSecrets } from '@tinyagi/client/contract';
import type { InboundMessage } from '../src/adapter.ts';
import { SlackAdapter } from '../src/slack/adapter.ts';
import { SlackEventsHttpReceiver, slackSignature } from '../src/slack/events-http.ts';
import { slackKind } from '../src/slack/kind.ts';

const USER = 'U0ALICE001';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function httpAdapter(receive: (m: InboundMessage) => Promise<void>, ackTimeoutMs = 2500) {
  const fake = new FakeSlack({ ackTimeoutMs: ackTimeoutMs + 1500 });
  await fake.start();
  cleanups.push(() => fake.close());
  const port = await freePort();
  const adapter = new SlackAdapter({ botToken: fake.botToken, apiUrl: fake.apiUrl, http: { signingSecret: fake.signingSecret, port, ackTimeoutMs } });
  cleanups.push(() => adapter.stop());
  await adapter.start({ receive });
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
