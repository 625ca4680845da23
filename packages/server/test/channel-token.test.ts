/**
 * Channel-scoped tokens: a channel process may post messages as its channel, claim/ack/fail its
 * own outbox rows, check its senders and raise pairing requests for its channel and read its own wake-up events and
 * the run events of its own conversations (live replies); read and answer the approval requests
 * of its own conversations, for a paired sender of its channel, and see their events; the same for
 * the memory proposals of its own conversations;
 * every other route, and every other channel, is 403 SCOPE_FORBIDDEN. The daemon itself checks
 * that the sender a channel token posts, resets or answers for is paired on its channel
 * (403 SENDER_NOT_PAIRED), whatever the channel process checked.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiContract, type RouteDef } from '@tinyagi/client/contract';
import { createApiClient, type TinyEvent } from '@tinyagi/client';
import { mintChannelToken } from '../src/internal.ts';
import { waitFor } from '@tinyagi/test-kit';
import { eventsOf, httpRequest, secretLeaks, startHarness, type ServerHarness } from './harness.ts';

/** Pairs `senderId` on `channel` as the owner does (`tinyagi pairing approve <code>`). */
async function pair(stores: ServerHarness['stores'], channel: string, senderId: string): Promise<void> {
  const asked = await stores.pairings.request({ channel, senderId, sender: senderId });
  await stores.pairings.approve(asked.code!);
}

let h: ServerHarness;
beforeAll(async () => {
  h = await startHarness();
  h.stores.outbox.registerClientChannel('telegram');
  h.stores.outbox.registerClientChannel('discord');
  // The senders the channel token posts for below: the daemon takes messages of paired senders only.
  for (const senderId of ['u1', 'u5', 'u7', 'u8', 'u9', 'a1']) await pair(h.stores, 'telegram', senderId);
});
afterAll(async () => {
  await h?.close();
  expect(secretLeaks).toEqual([]);
});

const CHANNEL_ROUTES = [
  'sendMessage',
  'claimOutbox',
  'ackOutbox',
  'failOutbox',
  'checkSender',
  'requestPairing',
  'cancelConversation',
  'chatStatus',
  'resetChat',
  'listApprovals',
  'getApproval',
  'decideApproval',
  'listApprovalGroups',
  'decideApprovals',
  'listMemory',
  'getMemoryRecord',
  'decideMemory',
];

function codeOf(text: string): string | undefined {
  try {
    return (JSON.parse(text) as { error?: { code?: string } }).error?.code;
  } catch {
    return undefined;
  }
}

const callOn = (server: ServerHarness) => (token: string) => (method: string, path: string, body?: unknown) =>
  httpRequest(server.port, {
    method,
    path,
    headers: { host: `127.0.0.1:${server.port}`, authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
const call = (token: string) => callOn(h)(token);

const outboxRow = async (channel: string, key: string) => (await h.stores.outbox.enqueue({ idempotencyKey: key, channel, text: `to ${channel}`, recipient: { senderId: 'u1' } })).row;

describe('channel-scoped tokens', () => {
  it('make their channel one with a client: its replies wait in the outbox, registered kind or not', async () => {
    expect(h.stores.outbox.hasClient('matrix')).toBe(false);
    expect((await outboxRow('matrix', 'mx:before')).status).toBe('delivered');
    const mx = call(mintChannelToken(h.token, 'matrix'));
    expect((await mx('POST', '/api/outbox/claim', { channel: 'matrix' })).status).toBe(200);
    expect(h.stores.outbox.hasClient('matrix')).toBe(true);
    expect((await outboxRow('matrix', 'mx:after')).status).toBe('pending');
  });

  it('are refused on every route not declared for channels, and on the OpenAPI document', async () => {
    const tg = call(mintChannelToken(h.token, 'telegram'));
    const routes = (Object.entries(apiContract) as Array<[string, RouteDef]>)
      .filter(([name, def]) => def.auth !== 'none' && !CHANNEL_ROUTES.includes(name))
      .map(([name, def]) => ({ name, method: def.method, path: def.path.replace(/:([A-Za-z]+)/g, 'x') }));
    routes.push({ name: 'openapi', method: 'GET', path: '/api/openapi.json' });
    expect(routes.length).toBeGreaterThan(40);
    const answers = await Promise.all(routes.map(async (r) => `${r.name} ${codeOf((await tg(r.method, r.path)).text)}`));
    expect(answers.filter((a) => !a.endsWith(' SCOPE_FORBIDDEN'))).toEqual([]);
  });

  it('post messages as their own channel only', async () => {
    const tg = call(mintChannelToken(h.token, 'telegram'));
    const own = await tg('POST', '/api/message', { message: 'hi', agent: 'reviewer', channel: 'telegram', senderId: 'u1', idempotencyKey: 'tg:1' });
    expect(own.status).toBe(202);
    for (const body of [
      { message: 'hi', agent: 'reviewer', channel: 'discord', senderId: 'u1' },
      { message: 'hi', agent: 'reviewer', senderId: 'u1' },
    ]) {
      const res = await tg('POST', '/api/message', body);
      expect({ status: res.status, code: codeOf(res.text) }).toEqual({ status: 403, code: 'SCOPE_FORBIDDEN' });
    }
  });

  it("claim, ack and fail their own outbox, never another channel's", async () => {
    const tg = call(mintChannelToken(h.token, 'telegram'));
    const mine = await outboxRow('telegram', 'k-tg-1');
    const theirs = await outboxRow('discord', 'k-dc-1');
    const claimed = await tg('POST', '/api/outbox/claim', { channel: 'telegram' });
    expect(claimed.status).toBe(200);
    expect((JSON.parse(claimed.text) as Array<{ id: string }>).map((r) => r.id)).toContain(mine.id);
    expect(codeOf((await tg('POST', '/api/outbox/claim', { channel: 'discord' })).text)).toBe('SCOPE_FORBIDDEN');
    expect(codeOf((await tg('POST', `/api/outbox/${theirs.id}/ack`)).text)).toBe('SCOPE_FORBIDDEN');
    expect(codeOf((await tg('POST', `/api/outbox/${theirs.id}/fail`, { error: 'x' })).text)).toBe('SCOPE_FORBIDDEN');
    expect((await h.stores.outbox.get(theirs.id))?.status).toBe('pending');
    expect((await tg('POST', `/api/outbox/${mine.id}/ack`)).status).toBe(200);
    expect((await h.stores.outbox.get(mine.id))?.status).toBe('delivered');
  });

  it("cancel their own channel's conversations only (a chat's /stop)", async () => {
    const tg = call(mintChannelToken(h.token, 'telegram'));
    const own = JSON.parse((await tg('POST', '/api/message', { message: 'slow please', agent: 'coder', channel: 'telegram', senderId: 'u9', idempotencyKey: 'tg:stop' })).text) as {
      conversationId: string;
    };
    const other = await h.client.sendMessage({ body: { message: 'slow too', agent: 'coder', channel: 'discord', senderId: 'u9' } });
    expect(codeOf((await tg('POST', `/api/conversations/${other.conversationId}/cancel`)).text)).toBe('SCOPE_FORBIDDEN');
    expect(codeOf((await tg('POST', '/api/conversations/conv_unknown/cancel')).text)).toBe('SCOPE_FORBIDDEN');
    const cancelled = await tg('POST', `/api/conversations/${own.conversationId}/cancel`);
    expect(cancelled.status).toBe(200);
    expect(JSON.parse(cancelled.text)).toMatchObject({ conversationId: own.conversationId, status: 'cancelled' });
    // The refused cancel left the other channel's conversation alone; the API token ends it ("slow" works until cancelled).
    expect((await h.client.getConversation({ params: { id: other.conversationId } })).conversation.status).toBe('active');
    expect(await h.client.cancelConversation({ params: { id: other.conversationId } })).toMatchObject({ status: 'cancelled' });
  });

  it("read the status of their own channel's chats only (a chat's /status)", async () => {
    const tg = call(mintChannelToken(h.token, 'telegram'));
    const sent = JSON.parse(
      (await tg('POST', '/api/message', { message: 'status me', agent: 'reviewer', channel: 'telegram', senderId: 'u7', threadKey: 'chat-7', idempotencyKey: 'tg:st' })).text,
    ) as {
      conversationId: string;
    };
    const own = await tg('GET', '/api/chats/status?channel=telegram&threadKey=chat-7');
    expect(own.status).toBe(200);
    expect(JSON.parse(own.text)).toMatchObject({ conversation: { id: sent.conversationId, channel: 'telegram', threadKey: 'chat-7' } });
    const none = JSON.parse((await tg('GET', '/api/chats/status?channel=telegram&threadKey=never')).text) as unknown;
    expect(none).toEqual({ conversation: null, running: [], queued: 0 });
    await h.client.sendMessage({ body: { message: 'theirs', agent: 'reviewer', channel: 'discord', senderId: 'u7', threadKey: 'chat-7' } });
    expect(codeOf((await tg('GET', '/api/chats/status?channel=discord&threadKey=chat-7')).text)).toBe('SCOPE_FORBIDDEN');
    expect(codeOf((await tg('GET', '/api/chats/status?threadKey=chat-7')).text)).toBe('VALIDATION_FAILED');
  });

  it("reset their own channel's chats only (a chat's /reset): default target and this chat's sessions", async () => {
    const tg = call(mintChannelToken(h.token, 'telegram'));
    await h.stores.senderDefaults.set('telegram', 'u8', 'coder');
    await h.stores.senderDefaults.set('discord', 'u8', 'coder');
    const turn = { provider: 'mock', user: 'hi', assistant: 'hello' };
    await h.stores.agentSessions.recordTurn('coder', 'thread:telegram:chat-8', turn);
    await h.stores.agentSessions.recordTurn('reviewer', 'sender:telegram:u8', turn);
    await h.stores.agentSessions.recordTurn('coder', 'thread:telegram:chat-other', turn);
    await h.stores.agentSessions.recordTurn('coder', 'shared', turn);
    expect(codeOf((await tg('POST', '/api/chats/reset', { channel: 'discord', senderId: 'u8', threadKey: 'chat-8' })).text)).toBe('SCOPE_FORBIDDEN');
    expect(await h.stores.senderDefaults.get('discord', 'u8')).toBe('coder');
    const res = await tg('POST', '/api/chats/reset', { channel: 'telegram', senderId: 'u8', threadKey: 'chat-8' });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.text)).toEqual({ defaultCleared: true, sessionsCleared: 2 });
    expect(await h.stores.senderDefaults.get('telegram', 'u8')).toBeUndefined();
    expect(await h.stores.senderDefaults.get('discord', 'u8')).toBe('coder');
    expect(await h.stores.agentSessions.get('coder', 'thread:telegram:chat-other')).toBeDefined();
    expect(await h.stores.agentSessions.get('coder', 'shared')).toBeDefined();
    expect(await h.stores.agentSessions.get('coder', 'thread:telegram:chat-8')).toBeUndefined();
  });

  it('check senders and raise pairing requests for their own channel only', async () => {
    const tg = call(mintChannelToken(h.token, 'telegram'));
    const check = await tg('POST', '/api/pairing/check', { channel: 'telegram', senderId: 'p1' });
    expect({ status: check.status, body: JSON.parse(check.text) }).toEqual({ status: 200, body: { approved: false } });
    expect(codeOf((await tg('POST', '/api/pairing/check', { channel: 'discord', senderId: 'p1' })).text)).toBe('SCOPE_FORBIDDEN');
    const own = await tg('POST', '/api/pairing/request', { channel: 'telegram', senderId: 'p1', sender: 'Pat' });
    expect(own.status).toBe(200);
    expect(codeOf((await tg('POST', '/api/pairing/request', { channel: 'discord', senderId: 'p1' })).text)).toBe('SCOPE_FORBIDDEN');
    // Approving is the owner's decision, never the channel's.
    const code = (JSON.parse(own.text) as { code: string }).code;
    expect(codeOf((await tg('POST', '/api/pairing/approve', { code })).text)).toBe('SCOPE_FORBIDDEN');
  });

  it("see only their own channel's wake-up events on the stream", async () => {
    const tgClient = createApiClient({ baseUrl: h.url, token: mintChannelToken(h.token, 'telegram') });
    const seen: TinyEvent[] = [];
    // message.received names the channel too: still not a channel's to read.
    const sub = tgClient.subscribe({ types: ['outbox.enqueued', 'message.received'] });
    sub.onEvent((e) => seen.push(e));
    await waitFor(() => sub.state === 'open', 10_000, 'the stream to open');
    await outboxRow('discord', 'k-dc-2');
    const pairing = await h.stores.pairings.request({ channel: 'telegram', senderId: 'p2', sender: 'Quinn' });
    await h.stores.pairings.approve(pairing.code!);
    const mine = await outboxRow('telegram', 'k-tg-2');
    await waitFor(() => seen.some((e) => e.type === 'outbox.enqueued' && e.data.outboxId === mine.id), 10_000, 'its own reply event');
    sub.close();
    // (the reply to an earlier test's message may be among them: still telegram's)
    expect(new Set(seen.map((e) => `${e.type} ${(e.data as { channel: string }).channel}`))).toEqual(new Set(['outbox.enqueued telegram']));
    // Without a types filter it gets both of its wake-ups (approvals too), still only its own.
    const all: TinyEvent[] = [];
    const sub2 = tgClient.subscribe({ lastEventId: 0 });
    sub2.onEvent((e) => all.push(e));
    await waitFor(() => all.some((e) => e.type === 'outbox.enqueued' && e.data.outboxId === mine.id), 10_000, 'the replay');
    sub2.close();
    expect(new Set(all.map((e) => `${e.type} ${(e.data as { channel: string }).channel}`))).toEqual(new Set(['outbox.enqueued telegram', 'pairing.approved telegram']));
  });

  it("follow the run events of their own channel's conversations only (live replies)", async () => {
    const tg = call(mintChannelToken(h.token, 'telegram'));
    const tgClient = createApiClient({ baseUrl: h.url, token: mintChannelToken(h.token, 'telegram') });
    const seen: TinyEvent[] = [];
    const sub = tgClient.subscribe({ types: ['run.started', 'run.progress', 'run.completed', 'conversation.completed', 'message.enqueued'] });
    sub.onEvent((e) => seen.push(e));
    await waitFor(() => sub.state === 'open', 10_000, 'the stream to open');
    const theirs = await h.client.sendMessage({ body: { message: 'for discord', agent: 'coder', channel: 'discord', senderId: 'u5', threadKey: 'dc-live' } });
    const own = JSON.parse(
      (await tg('POST', '/api/message', { message: 'for telegram', agent: 'coder', channel: 'telegram', senderId: 'u5', threadKey: 'tg-live', idempotencyKey: 'tg:live' })).text,
    ) as { conversationId: string };
    await waitFor(() => seen.some((e) => e.type === 'run.completed' && e.conversationId === own.conversationId), 20_000, 'its own run to complete');
    // Give the other channel's run every chance to show up (its run was enqueued first): it must not.
    await waitFor(async () => (await h.client.getConversation({ params: { id: theirs.conversationId } })).conversation.status !== 'active', 20_000, 'the other run to end');
    await waitFor(() => seen.some((e) => e.type === 'conversation.completed' && e.conversationId === own.conversationId), 20_000, 'its own conversation to complete');
    sub.close();
    expect(seen.some((e) => e.type === 'run.started' && e.conversationId === own.conversationId)).toBe(true);
    expect(seen.filter((e) => e.conversationId !== own.conversationId)).toEqual([]);
    // message.enqueued was asked for and is not a channel's.
    expect(seen.some((e) => e.type === 'message.enqueued')).toBe(false);
  });

  it("read and answer the approval requests of their own channel's conversations only, for a paired sender of theirs, and see only those requests' events", async () => {
    const tg = call(mintChannelToken(h.token, 'telegram'));
    const tgClient = createApiClient({ baseUrl: h.url, token: mintChannelToken(h.token, 'telegram') });
    const seen: TinyEvent[] = [];
    const sub = tgClient.subscribe({ types: ['approval.requested', 'approval.decided'] });
    sub.onEvent((e) => seen.push(e));
    await waitFor(() => sub.state === 'open', 10_000, 'the stream to open');
    const own = JSON.parse((await tg('POST', '/api/message', { message: 'ask me', agent: 'coder', channel: 'telegram', senderId: 'a1', threadKey: 'tg-apr', idempotencyKey: 'tg:apr' })).text) as {
      conversationId: string;
    };
    const other = await h.client.sendMessage({ body: { message: 'ask them', agent: 'coder', channel: 'discord', senderId: 'a1', threadKey: 'dc-apr' } });
    const now = Date.now();
    const request = async (id: string, conversationId: string) => {
      const record = await h.stores.approvals.create({
        id,
        kind: 'permission',
        agentId: 'coder',
        runId: 'run_apr',
        conversationId,
        sessionKey: 'shared',
        tool: 'Bash',
        input: { command: 'make deploy' },
        summary: 'Bash: make deploy',
        requestedAt: now,
        expiresAt: now + 600_000,
      });
      await h.stores.events.append({ type: 'approval.requested', conversationId, runId: 'run_apr', agentId: 'coder', data: { approval: record } });
      return record;
    };
    const mine = await request('apr_chan_own', own.conversationId);
    const theirs = await request('apr_chan_other', other.conversationId);
    const forbidden = async (method: string, path: string, body?: unknown) => {
      const res = await tg(method, path, body);
      return { status: res.status, code: codeOf(res.text), message: (JSON.parse(res.text) as { error?: { message?: string } }).error?.message ?? '' };
    };

    // Listing: its own channel's only, and it must say so.
    const listed = JSON.parse((await tg('GET', '/api/approvals?status=pending&channel=telegram')).text) as Array<{ id: string }>;
    expect(listed.map((a) => a.id)).toContain(mine.id);
    expect(listed.map((a) => a.id)).not.toContain(theirs.id);
    expect((await forbidden('GET', '/api/approvals?status=pending')).code).toBe('SCOPE_FORBIDDEN');
    expect((await forbidden('GET', '/api/approvals?channel=discord')).code).toBe('SCOPE_FORBIDDEN');
    // The full token sees every channel's, and may filter by channel too.
    expect((await h.client.listApprovals({ query: { channel: 'discord' } })).map((a) => a.id)).toEqual([theirs.id]);
    // Reading: its own only.
    expect((await tg('GET', `/api/approvals/${mine.id}`)).status).toBe(200);
    expect((await forbidden('GET', `/api/approvals/${theirs.id}`)).code).toBe('SCOPE_FORBIDDEN');
    // Answering: its own only, for a paired sender of its channel named in `by`.
    expect((await forbidden('POST', `/api/approvals/${theirs.id}/decision`, { decision: 'allow_once', by: 'telegram:a1' })).code).toBe('SCOPE_FORBIDDEN');
    expect(await forbidden('POST', `/api/approvals/${mine.id}/decision`, { decision: 'allow_once' })).toMatchObject({ status: 403, code: 'SCOPE_FORBIDDEN', message: expect.stringContaining('"by"') });
    expect((await forbidden('POST', `/api/approvals/${mine.id}/decision`, { decision: 'allow_once', by: 'discord:a1' })).code).toBe('SCOPE_FORBIDDEN');
    expect(await forbidden('POST', `/api/approvals/${mine.id}/decision`, { decision: 'allow_once', by: 'telegram:stranger' })).toMatchObject({
      status: 403,
      code: 'SENDER_NOT_PAIRED',
      message: expect.stringContaining('not paired'),
    });
    expect((await h.stores.approvals.get(mine.id))?.status).toBe('pending');
    const decided = await tg('POST', `/api/approvals/${mine.id}/decision`, { decision: 'allow_once', by: 'telegram:a1' });
    expect(decided.status).toBe(200);
    expect(JSON.parse(decided.text)).toMatchObject({ status: 'allowed', decidedBy: 'telegram:a1' });
    // The first answer won: a later one hears who decided.
    expect(await forbidden('POST', `/api/approvals/${mine.id}/decision`, { decision: 'deny', by: 'telegram:a1' })).toMatchObject({
      status: 409,
      code: 'APPROVAL_DECIDED',
      message: expect.stringContaining('by telegram:a1'),
    });

    // A batch: its own channel's requests only (another's is as unknown as a missing one), for a paired sender who may answer each.
    const mine2 = await request('apr_chan_own2', own.conversationId);
    const theirs2 = await request('apr_chan_other2', other.conversationId);
    expect((await forbidden('GET', '/api/approvals/groups')).code).toBe('SCOPE_FORBIDDEN');
    const groups = JSON.parse((await tg('GET', '/api/approvals/groups?channel=telegram')).text) as Array<{ ids: string[] }>;
    expect(groups.flatMap((g) => g.ids)).toEqual([mine2.id]);
    expect((await forbidden('POST', '/api/approvals/decisions', { ids: [mine2.id], decision: 'deny', by: 'telegram:a1' })).code).toBe('SCOPE_FORBIDDEN');
    expect((await forbidden('POST', '/api/approvals/decisions', { ids: [mine2.id], decision: 'deny', by: 'telegram:a1', channel: 'discord' })).code).toBe('SCOPE_FORBIDDEN');
    const stranger = JSON.parse((await tg('POST', '/api/approvals/decisions', { group: 'Bash: make deploy', decision: 'deny', by: 'telegram:stranger', channel: 'telegram' })).text);
    expect(stranger).toMatchObject({ decided: [], skipped: [{ id: mine2.id, why: 'forbidden' }] });
    const batch = JSON.parse((await tg('POST', '/api/approvals/decisions', { ids: [mine2.id, theirs2.id], decision: 'deny', by: 'telegram:a1', channel: 'telegram' })).text);
    expect(batch).toMatchObject({ decided: [{ id: mine2.id, status: 'denied', decidedBy: 'telegram:a1' }], skipped: [{ id: theirs2.id, why: 'not_found' }] });
    expect((await h.stores.approvals.get(theirs2.id))?.status).toBe('pending');
    await h.client.decideApproval({ params: { id: theirs2.id }, body: { decision: 'deny', by: 'test' } });

    // Events: its own conversation's requests and decisions, nothing of the other channel's.
    await waitFor(() => seen.some((e) => e.type === 'approval.decided' && e.data.approval.id === mine.id), 10_000, 'its own decision event');
    await h.client.decideApproval({ params: { id: theirs.id }, body: { decision: 'deny', by: 'test' } });
    const marker = await request('apr_chan_marker', own.conversationId);
    await waitFor(() => seen.some((e) => e.type === 'approval.requested' && e.data.approval.id === marker.id), 10_000, 'the marker request');
    sub.close();
    expect(seen.filter((e) => e.conversationId !== own.conversationId)).toEqual([]);
    expect(seen.some((e) => e.type === 'approval.requested' && e.data.approval.id === mine.id)).toBe(true);
  });

  it("read and decide the memory proposals of their own channel's conversations only, for a paired sender of theirs, and see only those decisions' events", async () => {
    const tg = call(mintChannelToken(h.token, 'telegram'));
    const tgClient = createApiClient({ baseUrl: h.url, token: mintChannelToken(h.token, 'telegram') });
    const seen: TinyEvent[] = [];
    const sub = tgClient.subscribe({ types: ['memory.proposed', 'memory.decided'] });
    sub.onEvent((e) => seen.push(e));
    await waitFor(() => sub.state === 'open', 10_000, 'the stream to open');
    const own = JSON.parse((await tg('POST', '/api/message', { message: 'note this', agent: 'coder', channel: 'telegram', senderId: 'a1', threadKey: 'tg-mem', idempotencyKey: 'tg:mem' })).text) as {
      conversationId: string;
    };
    const other = await h.client.sendMessage({ body: { message: 'note that', agent: 'coder', channel: 'discord', senderId: 'a1', threadKey: 'dc-mem' } });
    const propose = (id: string, conversationId: string) =>
      h.stores.memory.create({
        id,
        scope: { kind: 'agent', id: 'coder' },
        kind: 'fact',
        action: 'remember',
        text: `${id} holds`,
        reason: 'said so',
        conversationId,
        proposedBy: '@coder',
        now: Date.now(),
      });
    const mine = await propose('mem_chan_own', own.conversationId);
    const theirs = await propose('mem_chan_other', other.conversationId);
    const res = async (method: string, path: string, body?: unknown) => {
      const r = await tg(method, path, body);
      return { status: r.status, code: codeOf(r.text), body: JSON.parse(r.text) as { id?: string; status?: string; decidedBy?: string; error?: { message?: string } } };
    };

    const listed = JSON.parse((await tg('GET', '/api/memory?status=proposed&channel=telegram')).text) as Array<{ id: string }>;
    expect(listed.map((e) => e.id)).toEqual([mine.id]);
    expect((await res('GET', '/api/memory?status=proposed')).code).toBe('SCOPE_FORBIDDEN');
    expect((await res('GET', '/api/memory?channel=discord')).code).toBe('SCOPE_FORBIDDEN');
    expect((await h.client.listMemory({ query: { channel: 'discord' } })).map((e) => e.id)).toEqual([theirs.id]);
    expect((await res('GET', `/api/memory/${mine.id}`)).status).toBe(200);
    expect((await res('GET', `/api/memory/${theirs.id}`)).code).toBe('SCOPE_FORBIDDEN');
    expect((await res('POST', `/api/memory/${theirs.id}/decision`, { decision: 'accept', by: 'telegram:a1' })).code).toBe('SCOPE_FORBIDDEN');
    expect((await res('POST', `/api/memory/${mine.id}/decision`, { decision: 'accept' })).code).toBe('SCOPE_FORBIDDEN');
    expect((await res('POST', `/api/memory/${mine.id}/decision`, { decision: 'accept', by: 'discord:a1' })).code).toBe('SCOPE_FORBIDDEN');
    expect((await res('POST', `/api/memory/${mine.id}/decision`, { decision: 'accept', by: 'telegram:stranger' })).code).toBe('SENDER_NOT_PAIRED');
    expect((await h.stores.memory.get(mine.id))?.status).toBe('proposed');
    expect(await res('POST', `/api/memory/${mine.id}/decision`, { decision: 'accept', by: 'telegram:a1' })).toMatchObject({ status: 200, body: { status: 'accepted', decidedBy: 'telegram:a1' } });
    // The first decision won: a later one hears who decided.
    const late = await res('POST', `/api/memory/${mine.id}/decision`, { decision: 'reject', by: 'telegram:a1' });
    expect({ status: late.status, code: late.code, message: late.body.error?.message }).toMatchObject({
      status: 409,
      code: 'INVALID_STATE',
      message: expect.stringContaining('decided by telegram:a1'),
    });

    await waitFor(() => seen.some((e) => e.type === 'memory.decided' && e.data.entry.id === mine.id), 10_000, 'its own decision event');
    await h.client.decideMemory({ params: { id: theirs.id }, body: { decision: 'reject' } });
    const marker = await propose('mem_chan_marker', own.conversationId);
    await tg('POST', `/api/memory/${marker.id}/decision`, { decision: 'reject', by: 'telegram:a1' });
    await waitFor(() => seen.some((e) => e.type === 'memory.decided' && e.data.entry.id === marker.id), 10_000, 'the marker decision');
    sub.close();
    expect(seen.filter((e) => e.conversationId !== own.conversationId)).toEqual([]);
  });

  it('a forged channel token is 401, a malformed channel name too', async () => {
    const forged = call(mintChannelToken('not-the-server-token-000000', 'telegram'));
    expect((await forged('POST', '/api/outbox/claim', { channel: 'telegram' })).status).toBe(401);
    const odd = call('channel.TELEGRAM.abc');
    expect((await odd('POST', '/api/outbox/claim', { channel: 'telegram' })).status).toBe(401);
  });
});

describe('the sender a channel token acts for must be paired on its channel (checked by the daemon)', () => {
  // A server of its own: its queue holds only what these tests enqueue.
  let s: ServerHarness;
  beforeAll(async () => {
    s = await startHarness();
  });
  afterAll(async () => {
    await s?.close();
  });
  const tg = () => callOn(s)(mintChannelToken(s.token, 'telegram'));
  const answer = (res: { status: number; text: string }) => ({ status: res.status, code: codeOf(res.text), message: (JSON.parse(res.text) as { error?: { message?: string } }).error?.message ?? '' });
  const enqueued = async () => Object.values(await s.stores.queue.counts()).reduce((sum, n) => sum + n, 0);

  it('a message for a sender not paired on its channel is 403 SENDER_NOT_PAIRED and nothing is enqueued', async () => {
    await pair(s.stores, 'discord', 'elsewhere');
    await s.stores.pairings.request({ channel: 'telegram', senderId: 'waiting', sender: 'Wes' });
    await pair(s.stores, 'telegram', 'revoked');
    await s.stores.pairings.revoke('telegram', 'revoked');
    // A stranger, a sender paired on another channel only, one whose request is pending, one revoked; a bare @target is a message too.
    for (const [senderId, message] of [
      ['stranger', 'hi'],
      ['elsewhere', 'hi'],
      ['waiting', 'hi'],
      ['revoked', 'hi'],
      ['stranger', '@coder'],
    ] as const) {
      const res = await tg()('POST', '/api/message', { message, agent: 'reviewer', channel: 'telegram', senderId, idempotencyKey: `tg:${senderId}:${message}` });
      expect(answer(res)).toEqual({ status: 403, code: 'SENDER_NOT_PAIRED', message: expect.stringContaining(`Sender ${senderId} is not paired on telegram`) });
    }
    // A channel posts for one of its senders: it must name it.
    expect(answer(await tg()('POST', '/api/message', { message: 'hi', agent: 'reviewer', channel: 'telegram', sender: 'stranger' }))).toMatchObject({ status: 403, code: 'SCOPE_FORBIDDEN' });
    expect(await enqueued()).toBe(0);
    expect(await eventsOf(s.stores, { types: ['message.received', 'message.enqueued'] })).toEqual([]);
    expect(await s.stores.senderDefaults.get('telegram', 'stranger')).toBeUndefined();
  });

  it('a message refused before its sender was paired goes through once the sender is paired (the same idempotency key)', async () => {
    const body = { message: 'let me in', agent: 'reviewer', channel: 'telegram', senderId: 'newcomer', idempotencyKey: 'tg:newcomer:1' };
    expect(answer(await tg()('POST', '/api/message', body)).code).toBe('SENDER_NOT_PAIRED');
    await pair(s.stores, 'telegram', 'newcomer');
    const res = await tg()('POST', '/api/message', body);
    expect(res.status).toBe(202);
    const sent = JSON.parse(res.text) as { messageId: string; action: string; created: boolean };
    expect(sent).toMatchObject({ action: 'enqueued', created: true });
    expect(await s.stores.queue.get(sent.messageId)).toMatchObject({ channel: 'telegram', senderId: 'newcomer' });
  });

  it('the API token posts for any sender of any channel, paired or not, where the channel token is refused', async () => {
    const body = { message: 'from the CLI', agent: 'reviewer', channel: 'telegram', senderId: 'nobody-paired', threadKey: 'cli-chat' };
    expect(answer(await tg()('POST', '/api/message', body)).code).toBe('SENDER_NOT_PAIRED');
    const sent = await s.client.sendMessage({ body });
    expect(sent).toMatchObject({ action: 'enqueued', created: true });
    expect(await s.stores.queue.get(sent.messageId)).toMatchObject({ channel: 'telegram', senderId: 'nobody-paired' });
  });

  it("a chat reset for a sender not paired on its channel is refused and keeps the sender's default target", async () => {
    await s.stores.senderDefaults.set('telegram', 'resetter', 'coder');
    expect(answer(await tg()('POST', '/api/chats/reset', { channel: 'telegram', senderId: 'resetter', threadKey: 'chat-r' }))).toMatchObject({ status: 403, code: 'SENDER_NOT_PAIRED' });
    expect(await s.stores.senderDefaults.get('telegram', 'resetter')).toBe('coder');
    await pair(s.stores, 'telegram', 'resetter');
    expect(JSON.parse((await tg()('POST', '/api/chats/reset', { channel: 'telegram', senderId: 'resetter', threadKey: 'chat-r' })).text)).toEqual({ defaultCleared: true, sessionsCleared: 0 });
  });
});

describe('GET /api/channels/:name/login (QR-login channels)', () => {
  it('is unknown before the channel ran, then shows what the channel process wrote', async () => {
    expect(await h.client.channelLogin({ params: { name: 'whatsapp' } })).toEqual({ channel: 'whatsapp', state: 'unknown', qr: null, at: null });
    const dir = join(h.home, 'channels', 'whatsapp');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'state.json'), JSON.stringify({ state: 'qr', qr: '2@code', at: 1234 }));
    expect(await h.client.channelLogin({ params: { name: 'whatsapp' } })).toEqual({ channel: 'whatsapp', state: 'qr', qr: '2@code', at: 1234 });
    writeFileSync(join(dir, 'state.json'), JSON.stringify({ state: 'open', qr: 'stale', at: 1300 }));
    expect(await h.client.channelLogin({ params: { name: 'whatsapp' } })).toEqual({ channel: 'whatsapp', state: 'open', qr: null, at: 1300 });
    writeFileSync(join(dir, 'state.json'), '{ broken');
    expect((await h.client.channelLogin({ params: { name: 'whatsapp' } })).state).toBe('unknown');
  });

  it('only exists for QR-login channels, and never for a channel token', async () => {
    const res = await call(h.token)('GET', '/api/channels/telegram/login');
    expect(res.status).toBe(400);
    const scoped = await call(mintChannelToken(h.token, 'whatsapp'))('GET', '/api/channels/whatsapp/login');
    expect(codeOf(scoped.text)).toBe('SCOPE_FORBIDDEN');
  });
});
