/**
 * Contract tests: every route of the contract, through real HTTP on 127.0.0.1, with a real
 * orchestrator (mock-provider agents). Each route is called on its happy path and with at least
 * one bad input; the last test checks from the server's own record that every operation
 * answered both a 2xx and a 4xx.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ApiError, createApiClient } from '@tinyagi/client';
import { apiContract, defineChannelKind, ErrorBodySchema, EVENT_TYPES, EventSchema, EVENTS_PATH, EventsQuerySchema, type ChannelStatus, type RouteDef } from '@tinyagi/client/contract';
import { commitFile, gitRepos, sh, waitFor } from '@tinyagi/test-kit';
import { startGitHubStandIn } from '@tinyagi/test-kit/github-standin';
import { mintRunToken } from '../src/internal.ts';
import { channelKinds } from '@tinyagi/core';
import { holdFolder } from '@tinyagi/core/internal';
import { SECRETS, answered, clientCalls, eventsOf, raw, recordingFetch, secretLeaks, sessionClient, startHarness, type ServerHarness } from './harness.ts';

let h: ServerHarness;
const channelLog: string[] = [];
let restarts = 0;

/** The daemon's channel supervisor, as the server sees it. */
const channels = {
  state: new Map<string, ChannelStatus>([['telegram', { name: 'telegram', running: false, pid: null }]]),
  status() {
    return [...this.state.values()];
  },
  start(name: string) {
    channelLog.push(`start:${name}`);
    this.state.set(name, { name, running: true, pid: 4242 });
  },
  stop(name: string) {
    channelLog.push(`stop:${name}`);
    this.state.set(name, { name, running: false, pid: null });
  },
  restart(name: string) {
    channelLog.push(`restart:${name}`);
    this.state.set(name, { name, running: true, pid: 4343 });
  },
};

beforeAll(async () => {
  h = await startHarness({
    daemon: {
      channels,
      restart: async () => {
        restarts++;
      },
      heartbeat: () => ({ lastSent: { coder: 1700000000000 } }),
    },
  });
});

afterAll(async () => {
  await h?.close();
});

async function rejects(p: Promise<unknown>, status: number, code: string): Promise<ApiError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApiError);
  expect(err).toMatchObject({ status, code });
  return err as ApiError;
}

async function bad(method: string, path: string, status: number, code: string, body?: string): Promise<{ error: { code: string; message: string } }> {
  const res = await raw(h, method, path, body !== undefined ? { body } : {});
  expect({ status: res.status, code: (res.body as { error?: { code?: string } }).error?.code }).toEqual({ status, code });
  return res.body as { error: { code: string; message: string } };
}

async function completed(messageId: string) {
  return waitFor(
    async () => {
      const d = await h.client.getMessage({ params: { id: messageId } });
      return d.message.status === 'completed' && d.run?.status === 'completed' ? d : undefined;
    },
    15_000,
    `message ${messageId} to complete`,
  );
}

describe('system', () => {
  it('health answers without a token and rejects unknown query keys', async () => {
    const res = await raw(h, 'GET', '/api/health', { auth: false });
    expect(res).toMatchObject({ status: 200, body: { ok: true, version: '0.0.0-test' } });
    expect(await h.client.health()).toEqual({ ok: true, version: '0.0.0-test' });
    const body = await bad('GET', '/api/health?verbose=1', 400, 'VALIDATION_FAILED');
    expect(body.error.message).toContain('verbose');
  });

  it('status reports queue, outbox, orchestrator and channels', async () => {
    const status = await h.client.status();
    expect(status).toMatchObject({ ok: true, version: '0.0.0-test', pid: process.pid, channels: [{ name: 'telegram' }] });
    expect(status.queue).toHaveProperty('pending');
    expect(status.orchestrator).toMatchObject({ running: [], paused: [] });
    expect(status.heartbeat).toEqual({ lastSent: { coder: 1700000000000 } });
    await bad('GET', '/api/status?x=1', 400, 'VALIDATION_FAILED');
  });

  it('a daemon restart answers first, then restarts; so does its old operation restartServices', async () => {
    expect(await h.client.restartDaemon()).toEqual({ ok: true, action: 'restart' });
    await waitFor(() => restarts === 1, 5000, 'restart');
    await bad('POST', '/api/daemon/restart?now=1', 400, 'VALIDATION_FAILED');
    // The old name and path (POST /api/services/restart) still restart the daemon.
    expect(await h.client.restartServices()).toEqual({ ok: true, action: 'restart' });
    await waitFor(() => restarts === 2, 5000, 'the restart through the old route');
    await bad('POST', '/api/services/restart?now=1', 400, 'VALIDATION_FAILED');
  });

  it('channels: list and start/stop/restart; unknown channel and action are refused', async () => {
    expect(await h.client.listChannels()).toEqual([{ name: 'telegram', running: false, pid: null }]);
    const started = await h.client.channelAction({ params: { name: 'telegram', action: 'start' } });
    expect(started).toMatchObject({ ok: true, channel: 'telegram', action: 'start', status: { running: true, pid: 4242 } });
    await h.client.channelAction({ params: { name: 'telegram', action: 'restart' } });
    await h.client.channelAction({ params: { name: 'telegram', action: 'stop' } });
    expect(channelLog).toEqual(['start:telegram', 'restart:telegram', 'stop:telegram']);
    await rejects(h.client.channelAction({ params: { name: 'discord', action: 'start' } }), 404, 'CHANNEL_NOT_FOUND');
    await bad('POST', '/api/channels/telegram/explode', 400, 'VALIDATION_FAILED');
    await bad('GET', '/api/channels?all=1', 400, 'VALIDATION_FAILED');
  });

  it('channel login: the state of a QR-login channel; other channels are refused', async () => {
    expect(await h.client.channelLogin({ params: { name: 'whatsapp' } })).toMatchObject({ channel: 'whatsapp', state: 'unknown', qr: null });
    await rejects(h.client.channelLogin({ params: { name: 'telegram' as 'whatsapp' } }), 400, 'VALIDATION_FAILED');
  });

  it('kinds: a channel kind registered in this process is listed with its settings schema; no token is 401', async () => {
    const unregister = channelKinds.register(
      defineChannelKind({
        name: 'contract-chat',
        title: 'Contract chat',
        description: 'A throw-away channel kind of this test',
        settings: z.looseObject({ api_token: z.string().optional() }),
        secrets: ['api_token'],
        env: [{ variable: 'CONTRACT_CHAT_TOKEN', path: 'api_token' }],
        login: 'token',
        processEnv: [],
        maxMessageChars: 500,
        capabilities: { threads: true, editsMessages: true, privateReplies: false, files: false, buttons: false },
      }),
    );
    try {
      const kinds = await h.client.listKinds();
      const chat = kinds.channels.find((k) => k.name === 'contract-chat');
      expect(chat).toMatchObject({ family: 'channel', secrets: ['api_token'], login: 'token', settings: { type: 'object', properties: { api_token: { type: 'string' } } } });
      expect(kinds.runtimes.every((r) => r.family === 'runtime')).toBe(true);
    } finally {
      unregister();
    }
    expect((await h.client.listKinds()).channels.some((k) => k.name === 'contract-chat')).toBe(false);
    expect((await raw(h, 'GET', '/api/kinds', { auth: false })).status).toBe(401);
  });

  it('sessions: the warm agent processes of this node (none here) with the pool limits; closing those of an agent; an unknown agent is 404; no token is 401', async () => {
    expect(await h.client.listSessions()).toEqual({ sessions: [], limits: { maxTotal: 16, maxPerAgent: 4, idleMinutes: 15, memoryShare: 0.6 } });
    expect(await h.client.closeSessions({ body: { agent: 'coder' } })).toEqual({ ok: true, closed: 0 });
    await rejects(h.client.closeSessions({ body: { agent: 'nobody-here' } }), 404, 'AGENT_NOT_FOUND');
    await rejects(createApiClient({ baseUrl: h.url }).listSessions(), 401, 'AUTH_REQUIRED');
  });

  it('quotas: a held account with the agents on it, soonest reset first, an expired one left out; no token is 401', async () => {
    expect(await h.client.listQuotas()).toEqual({ holds: [] });
    const base = { runtime: 'mock', label: 'mock · default login', limit: 'five_hour', message: 'usage limit reached', reportedBy: 'coder' };
    await h.stores.quotas.put({ ...base, account: 'mock:default', resetsAt: Date.now() + 600_000 });
    await h.stores.quotas.put({ ...base, account: 'mock:0123456789ab', resetsAt: Date.now() + 60_000 });
    await h.stores.quotas.put({ ...base, account: 'mock:expired', resetsAt: Date.now() - 1000 });
    try {
      const { holds } = await h.client.listQuotas();
      expect(holds.map((q) => q.account)).toEqual(['mock:0123456789ab', 'mock:default']);
      expect(holds[1]).toMatchObject({ runtime: 'mock', status: 'exhausted', limit: 'five_hour', reportedBy: 'coder' });
      // Every mock agent without an account of its own is on the runtime's default one; no agent is on the other.
      expect(holds[1]!.agents).toContain('coder');
      expect(holds[0]!.agents).toEqual([]);
    } finally {
      for (const account of ['mock:default', 'mock:0123456789ab', 'mock:expired']) await h.stores.quotas.remove(account);
    }
    await rejects(createApiClient({ baseUrl: h.url }).listQuotas(), 401, 'AUTH_REQUIRED');
  });

  it('logs: the tail of the daemon log, bounded by lines', async () => {
    const logFile = join(h.home, 'logs', 'daemon.log');
    mkdirSync(join(h.home, 'logs'), { recursive: true });
    writeFileSync(logFile, Array.from({ length: 50 }, (_, i) => `line ${i}`).join('\n') + '\n');
    const tail = await h.client.logs({ query: { lines: 3 } });
    expect(tail).toEqual({ file: logFile, lines: ['line 47', 'line 48', 'line 49'], truncated: true });
    await bad('GET', '/api/logs?lines=0', 400, 'VALIDATION_FAILED');
    await bad('GET', '/api/logs?lines=abc', 400, 'VALIDATION_FAILED');
  });

  it('tickets: short-lived, event stream only', async () => {
    const { ticket, expiresAt } = await h.client.createTicket();
    expect(expiresAt).toBeGreaterThan(Date.now());
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + 61_000);
    // A ticket is not a token for other routes.
    const res = await raw(h, 'GET', '/api/status', { auth: false, headers: { authorization: `Bearer ${ticket}` } });
    expect(res.status).toBe(401);
    await bad('POST', '/api/auth/ticket?ttl=999999', 400, 'VALIDATION_FAILED');
  });

  it('TinyOffice login: a one-time code for a session cookie; session info; logout', async () => {
    const { code, expiresAt } = await h.client.createLoginCode();
    expect(expiresAt).toBeGreaterThan(Date.now());
    // The page's client sends no token: the exchange answers a cookie (office-session.test.ts checks its flags).
    let cookie = '';
    const capture: typeof fetch = async (input, init) => {
      const headers = new Headers(init?.headers);
      headers.set('origin', h.url);
      const res = await recordingFetch(input, { ...init, headers });
      const set = res.headers.get('set-cookie');
      if (set) cookie = set.split(';')[0]!;
      return res;
    };
    const page = createApiClient({ baseUrl: h.url, fetch: capture });
    expect((await page.createSession({ body: { code } })).ok).toBe(true);
    await rejects(page.createSession({ body: { code } }), 401, 'LOGIN_CODE_INVALID');
    const session = sessionClient(h, cookie);
    expect(await session.getSession()).toMatchObject({ kind: 'session' });
    expect(await h.client.getSession()).toEqual({ kind: 'token', expiresAt: null });
    await rejects(session.createLoginCode(), 403, 'SCOPE_FORBIDDEN');
    expect(await session.deleteSession()).toEqual({ ok: true });
    await rejects(session.getSession(), 401, 'SESSION_INVALID');
    await rejects(session.deleteSession(), 401, 'SESSION_INVALID');
  });
});

describe('messages and queue', () => {
  it('POST /api/message enqueues, the mock agent answers, GET /api/messages/:id shows status, run and reply', async () => {
    const sent = await h.client.sendMessage({ body: { message: 'build the site', agent: 'coder', sender: 'Ada', senderId: 'ada' } });
    expect(sent).toMatchObject({ agentId: 'coder', teamId: 'dev', created: true });
    expect(sent.messageId).toMatch(/^msg_/);
    const detail = await completed(sent.messageId);
    expect(detail.message).toMatchObject({ id: sent.messageId, agentId: 'coder', conversationId: sent.conversationId, content: 'build the site' });
    expect(detail.run).toMatchObject({ agentId: 'coder', status: 'completed', output: 'coder done: build the site' });
    expect(detail.replies.map((r) => r.text).join('\n')).toContain('coder done: build the site');
  });

  it('idempotency key: the same key returns the same message', async () => {
    const a = await h.client.sendMessage({ body: { message: 'once', agent: 'reviewer', idempotencyKey: 'key-1' } });
    const b = await h.client.sendMessage({ body: { message: 'once', agent: 'reviewer', idempotencyKey: 'key-1' } });
    expect(b).toMatchObject({ messageId: a.messageId, created: false });
  });

  it('@team prefix routes to the leader', async () => {
    const sent = await h.client.sendMessage({ body: { message: '@dev plan the release' } });
    expect(sent).toMatchObject({ agentId: 'coder', teamId: 'dev' });
  });

  it('bad message bodies are 400 with the field named; malformed JSON is 400, never 500', async () => {
    expect((await bad('POST', '/api/message', 400, 'VALIDATION_FAILED', '{}')).error.message).toContain('body.message');
    expect((await bad('POST', '/api/message', 400, 'VALIDATION_FAILED', '{"message":""}')).error.message).toContain('body.message');
    expect((await bad('POST', '/api/message', 400, 'VALIDATION_FAILED', '{"message":"hi","agnet":"coder"}')).error.message).toContain('agnet');
    const syntax = await bad('POST', '/api/message', 400, 'INVALID_JSON', '{"message": "hi",');
    expect(syntax.error.message).toMatch(/not valid JSON/);
    await bad('POST', '/api/message', 400, 'INVALID_JSON', '{"__proto__": {"x": 1}, "message": "hi"}');
    await bad('POST', '/api/message', 404, 'AGENT_NOT_FOUND', '{"message":"@nobody hi"}');
    const wrongType = await raw(h, 'POST', '/api/message', { body: 'message=hi', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(wrongType).toMatchObject({ status: 415, body: { error: { code: 'UNSUPPORTED_MEDIA_TYPE' } } });
  });

  it('attachments must be inside the workspace or TINYAGI_HOME/files', async () => {
    await rejects(h.client.sendMessage({ body: { message: 'see file', agent: 'coder', attachments: ['/etc/passwd'] } }), 400, 'INVALID_PATH');
    mkdirSync(join(h.home, 'files'), { recursive: true });
    const file = join(h.home, 'files', 'spec.txt');
    writeFileSync(file, 'spec');
    const ok = await h.client.sendMessage({ body: { message: 'see file', agent: 'reviewer', attachments: [file] } });
    expect((await h.client.getMessage({ params: { id: ok.messageId } })).message.attachments).toEqual([file]);
  });

  it('GET /api/messages/:id of an unknown id is 404', async () => {
    await rejects(h.client.getMessage({ params: { id: 'msg_nope' } }), 404, 'MESSAGE_NOT_FOUND');
  });

  it('cancel a queued message; unknown id is 404', async () => {
    const sent = await h.client.sendMessage({ body: { message: 'later', agent: 'reviewer' } });
    const outcome = await h.client.cancelMessage({ params: { id: sent.messageId } });
    expect(['cancelled', 'not_cancellable', 'cancelling']).toContain(outcome.state);
    await rejects(h.client.cancelMessage({ params: { id: 'msg_nope' } }), 404, 'MESSAGE_NOT_FOUND');
  });

  it('cancel a running message: answered once its run, the conversation and the message have ended', async () => {
    const sent = await h.client.sendMessage({ body: { message: 'slow, then cancelled', agent: 'coder' } });
    await waitFor(async () => (await h.client.getMessage({ params: { id: sent.messageId } })).message.status === 'processing' || undefined, 15_000, 'the message to run');
    const outcome = await h.client.cancelMessage({ params: { id: sent.messageId } });
    expect(outcome).toEqual({ id: sent.messageId, state: 'cancelled', status: 'cancelled' });
    const detail = await h.client.getMessage({ params: { id: sent.messageId } });
    expect(detail.run?.status).toBe('cancelled');
    const tree = await h.client.getConversation({ params: { id: sent.conversationId } });
    expect(tree.conversation).toMatchObject({ status: 'cancelled', stopReason: 'cancelled by the API' });
  });

  it('cancel a conversation; unknown id is 404', async () => {
    const sent = await h.client.sendMessage({ body: { message: 'slow, then the conversation is cancelled', agent: 'coder' } });
    const result = await h.client.cancelConversation({ params: { id: sent.conversationId } });
    expect(result).toMatchObject({ conversationId: sent.conversationId, status: 'cancelled' });
    expect((await h.client.getMessage({ params: { id: sent.messageId } })).message.status).toBe('cancelled');
    await rejects(h.client.cancelConversation({ params: { id: 'conv_nope' } }), 404, 'CONVERSATION_NOT_FOUND');
  });

  it('a conversation a guard holds waits for a decision: continue raises its limits, stop ends it (also through its old operation decideConversation); anything else is 409, 404 or 400', async () => {
    await h.client.putAgent({ params: { id: 'ping' }, body: { name: 'Ping', provider: 'mock', mock: { reply: 'Over to you. [@pong: your turn]' } } });
    await h.client.putAgent({ params: { id: 'pong' }, body: { name: 'Pong', provider: 'mock', mock: { reply: 'Back at you. [@ping: yours]' } } });
    await h.client.putTeam({ params: { id: 'pingpong' }, body: { name: 'Ping-pong', agents: ['ping', 'pong'], leader_agent: 'ping' } });
    const sent = await h.client.sendMessage({ body: { message: 'start the rally', team: 'pingpong' } });
    const waiting = () =>
      waitFor(async () => ((await h.client.getConversation({ params: { id: sent.conversationId } })).conversation.awaitingDecision ? true : undefined), 20_000, 'the guard to hold the rally');
    await waiting();

    const resumed = await h.client.answerConversation({ params: { id: sent.conversationId }, body: { decision: 'continue' } });
    expect(resumed).toEqual({ conversationId: sent.conversationId, decision: 'continue', reply: 'Limits raised to 2× for this conversation; 1 held message delivered.' });
    // The rally goes on until the raised limit holds it again.
    await waiting();
    // The old operation (POST /api/conversations/:id/decision) still answers, the same way.
    const stopped = await h.client.decideConversation({ params: { id: sent.conversationId }, body: { decision: 'stop' } });
    expect(stopped.reply).toMatch(/^Stopped\. \d+ outstanding runs? cancelled\.$/);
    const tree = await h.client.getConversation({ params: { id: sent.conversationId } });
    expect(tree.conversation).toMatchObject({ status: 'stopped', awaitingDecision: false });
    const notices = (await eventsOf(h.stores, { conversationId: sent.conversationId, types: ['system.notice'] })).map((e) => e.data.action);
    expect(notices).toEqual(['continue', 'stop']);

    await rejects(h.client.answerConversation({ params: { id: sent.conversationId }, body: { decision: 'continue' } }), 409, 'INVALID_STATE');
    await rejects(h.client.answerConversation({ params: { id: 'conv_nope' }, body: { decision: 'stop' } }), 404, 'CONVERSATION_NOT_FOUND');
    await rejects(h.client.answerConversation({ params: { id: sent.conversationId }, body: { decision: 'maybe' } as never }), 400, 'VALIDATION_FAILED');
    await rejects(h.client.decideConversation({ params: { id: sent.conversationId }, body: { decision: 'continue' } }), 409, 'INVALID_STATE');
    await rejects(h.client.decideConversation({ params: { id: sent.conversationId }, body: { decision: 'maybe' } as never }), 400, 'VALIDATION_FAILED');
    await h.client.deleteTeam({ params: { id: 'pingpong' } });
    for (const id of ['ping', 'pong']) await h.client.deleteAgent({ params: { id } });
  });

  it("a chat's status and reset; a missing or bad field is 400", async () => {
    const sent = await h.client.sendMessage({ body: { message: 'status of this chat', agent: 'coder', channel: 'discord', senderId: 's1', threadKey: 'chat-s1' } });
    const status = await h.client.chatStatus({ query: { channel: 'discord', threadKey: 'chat-s1' } });
    expect(status.conversation?.id).toBe(sent.conversationId);
    expect(await h.client.chatStatus({ query: { channel: 'discord', threadKey: 'no-such-chat' } })).toEqual({ conversation: null, running: [], queued: 0 });
    await rejects(h.client.chatStatus({ query: { channel: 'discord' } as never }), 400, 'VALIDATION_FAILED');
    expect(await h.client.resetChat({ body: { channel: 'discord', senderId: 's1', threadKey: 'chat-s1' } })).toEqual({ defaultCleared: false, sessionsCleared: 0 });
    await rejects(h.client.resetChat({ body: { channel: 'discord', threadKey: 'chat-s1' } as never }), 400, 'VALIDATION_FAILED');
  });

  it('queue status, per agent and processing', async () => {
    const slow = await h.client.sendMessage({ body: { message: 'slow job', agent: 'coder' } });
    const processing = await waitFor(
      async () => {
        const list = await h.client.queueProcessing();
        return list.find((m) => m.id === slow.messageId);
      },
      10_000,
      'slow message to be processing',
    );
    expect(processing.durationMs).toBeGreaterThanOrEqual(0);
    const status = await h.client.queueStatus();
    expect(status.processing).toBeGreaterThanOrEqual(1);
    expect(status).toHaveProperty('outboxPending');
    const agents = await h.client.queueAgents();
    expect(agents.find((a) => a.agentId === 'coder')?.processing).toBe(1);
    await bad('GET', '/api/queue/status?agent=coder', 400, 'VALIDATION_FAILED');
    await bad('GET', '/api/queue/agents?x=1', 400, 'VALIDATION_FAILED');
    await bad('GET', '/api/queue/processing?x=1', 400, 'VALIDATION_FAILED');
    await h.client.cancelRun({ params: { id: (await h.client.getMessage({ params: { id: slow.messageId } })).message.runId! } }).catch(() => undefined);
  });

  /**
   * `n` dead letters of an agent the orchestrator does not know. Enqueued available in an hour and
   * claimed by the test "then", so the orchestrator's worker (which claims at the real time, and
   * on PostgreSQL is woken by the enqueue) never takes them first.
   */
  async function deadLetters(agentId: string, conversationId: string, n: number): Promise<Array<{ id: string }>> {
    const later = Date.now() + 3_600_000;
    for (let i = 0; i < n; i++) await h.stores.queue.enqueue({ kind: 'user', agentId, conversationId, channel: 'api', content: 'x', maxAttempts: 1, availableAt: later });
    const claimed = await h.stores.queue.claim({ owner: 'test', leaseMs: 60_000, maxAgents: 10, policy: () => 'collect', agents: new Set([agentId]), now: later });
    expect(claimed.map((b) => [b.agentId, b.messages.length])).toEqual([[agentId, n]]);
    const ids = claimed[0]!.messages.map((m) => m.id);
    await h.stores.queue.fail('test', ids, { kind: 'permanent', error: 'boom' });
    return ids.map((id) => ({ id }));
  }

  it('dead letters: list, retry, delete; unknown ids are 404', async () => {
    const ghost = (await deadLetters('ghost', 'conv_dead', 1))[0]!;
    const dead = await h.client.queueDead({ query: { limit: 10 } });
    expect(dead.map((m) => m.id)).toContain(ghost.id);
    expect(dead.find((m) => m.id === ghost.id)?.lastError).toBe('boom');
    await bad('GET', '/api/queue/dead?limit=0', 400, 'VALIDATION_FAILED');
    const retried = await h.client.retryDead({ params: { id: ghost.id } });
    expect(retried).toMatchObject({ id: ghost.id, attempts: 0 });
    expect(retried.status).not.toBe('dead');
    await rejects(h.client.retryDead({ params: { id: 'msg_nope' } }), 404, 'MESSAGE_NOT_FOUND');
    // The orchestrator has no agent "ghost": the retried message dies again.
    await waitFor(async () => (await h.stores.queue.get(ghost.id))?.status === 'dead', 10_000, 'ghost message to die again');
    expect(await h.client.deleteDead({ params: { id: ghost.id } })).toEqual({ ok: true });
    await rejects(h.client.deleteDead({ params: { id: ghost.id } }), 404, 'MESSAGE_NOT_FOUND');
  });

  it('DELETE /api/queue/dead purges every dead letter, or one agent’s; a bad agent filter is 400', async () => {
    const kill = (agentId: string, n: number) => deadLetters(agentId, `conv_purge_${agentId}`, n);
    const before = (await h.stores.queue.counts()).dead;
    await kill('phantom', 3);
    await kill('spectre', 2);
    expect((await h.stores.queue.counts()).dead).toBe(before + 5);
    await rejects(h.client.purgeDead({ query: { agent: 'Not An Id' } }), 400, 'INVALID_ID');
    await bad('DELETE', '/api/queue/dead?agnet=phantom', 400, 'VALIDATION_FAILED');
    expect((await h.stores.queue.counts()).dead).toBe(before + 5); // refused requests deleted nothing
    expect(await h.client.purgeDead({ query: { agent: 'phantom' } })).toEqual({ deleted: 3 });
    expect((await h.client.queueDead()).filter((m) => m.agentId === 'phantom' || m.agentId === 'spectre').map((m) => m.agentId)).toEqual(['spectre', 'spectre']);
    expect(await h.client.purgeDead()).toEqual({ deleted: before + 2 });
    expect(await h.client.purgeDead()).toEqual({ deleted: 0 });
  });
});

describe('outbox and proactive responses', () => {
  it('list, claim, ack, fail for a client channel; unknown ids are 404 (not ok)', async () => {
    const a = (await h.stores.outbox.enqueue({ idempotencyKey: 'o-1', channel: 'telegram', text: 'hello A', recipient: { senderId: '42' } })).row;
    const b = (await h.stores.outbox.enqueue({ idempotencyKey: 'o-2', channel: 'telegram', text: 'hello B', recipient: { senderId: '42' } })).row;
    const listed = await h.client.listOutbox({ query: { channel: 'telegram', status: 'pending' } });
    expect(listed.map((r) => r.id)).toEqual([a.id, b.id]);
    const claimed = await h.client.claimOutbox({ body: { channel: 'telegram', limit: 5, leaseMs: 30_000 } });
    expect(claimed.map((r) => r.status)).toEqual(['delivering', 'delivering']);
    expect(await h.client.ackOutbox({ params: { id: a.id } })).toMatchObject({ id: a.id, status: 'delivered' });
    expect(await h.client.ackOutbox({ params: { id: a.id } })).toMatchObject({ status: 'delivered' });
    expect(await h.client.failOutbox({ params: { id: b.id }, body: { error: 'chat not found', permanent: true } })).toMatchObject({ status: 'failed', lastError: 'chat not found' });
    await rejects(h.client.ackOutbox({ params: { id: 'out_nope' } }), 404, 'OUTBOX_NOT_FOUND');
    await rejects(h.client.failOutbox({ params: { id: 'out_nope' }, body: { error: 'x' } }), 404, 'OUTBOX_NOT_FOUND');
    await rejects(h.client.failOutbox({ params: { id: b.id }, body: { error: 'again' } }), 409, 'INVALID_STATE');
    await bad('POST', `/api/outbox/${b.id}/fail`, 400, 'VALIDATION_FAILED', '{}');
    await bad('GET', '/api/outbox?status=lost', 400, 'VALIDATION_FAILED');
    await bad('POST', '/api/outbox/claim', 400, 'VALIDATION_FAILED', '{"channel":"telegram","limit":0}');
  });

  it('POST /api/responses needs a paired sender and confined files', async () => {
    await rejects(h.client.sendResponse({ body: { channel: 'telegram', senderId: '777', message: 'hi' } }), 404, 'PAIRING_NOT_FOUND');
    const { code } = await h.client.requestPairing({ body: { channel: 'telegram', senderId: '777', sender: 'Bob' } });
    await h.client.approvePairing({ body: { code: code! } });
    const row = await h.client.sendResponse({ body: { channel: 'telegram', senderId: '777', message: 'your report is ready', agent: 'coder' } });
    expect(row).toMatchObject({ channel: 'telegram', status: 'pending', text: 'your report is ready', recipient: { senderId: '777' }, agentId: 'coder' });
    await rejects(h.client.sendResponse({ body: { channel: 'telegram', senderId: '777', message: 'x', files: [join(h.home, 'settings.json')] } }), 400, 'INVALID_PATH');
    await bad('POST', '/api/responses', 400, 'VALIDATION_FAILED', '{"channel":"telegram","message":"x"}');
    // Channels without a delivering client store the reply at once.
    expect(await h.client.sendResponse({ body: { channel: 'web', senderId: 'u1', message: 'stored' } })).toMatchObject({ status: 'delivered' });
  });
});

describe('conversations and runs', () => {
  let conversationId: string;
  let runId: string;

  beforeAll(async () => {
    const sent = await h.client.sendMessage({ body: { message: 'tree please', agent: 'reviewer' } });
    const detail = await completed(sent.messageId);
    conversationId = sent.conversationId;
    runId = detail.run!.id;
    await waitFor(async () => (await eventsOf(h.stores, { conversationId, types: ['conversation.completed'] }))[0], 10_000, 'conversation completion');
  });

  it('list with filters; bad filters are 400', async () => {
    const list = await h.client.listConversations({ query: { agent: 'reviewer', limit: 50 } });
    expect(list.map((c) => c.id)).toContain(conversationId);
    expect(list.every((c) => c.rootAgentId === 'reviewer')).toBe(true);
    await bad('GET', '/api/conversations?status=sleeping', 400, 'VALIDATION_FAILED');
    expect(await h.client.listConversations({ query: { status: 'waiting' } })).toEqual([]);
    expect((await h.client.listConversations({ query: { status: 'completed' } })).map((c) => c.id)).toContain(conversationId);
    await bad('GET', '/api/conversations?limit=5000', 400, 'VALIDATION_FAILED');
  });

  it('get: the run tree with status, depth and usage', async () => {
    const tree = await h.client.getConversation({ params: { id: conversationId } });
    expect(tree.conversation).toMatchObject({ id: conversationId, status: 'completed' });
    expect(tree.roots).toEqual([expect.objectContaining({ runId, agentId: 'reviewer', depth: 0, status: 'completed', children: [] })]);
    await rejects(h.client.getConversation({ params: { id: 'conv_nope' } }), 404, 'CONVERSATION_NOT_FOUND');
  });

  it('transcript as JSON and markdown', async () => {
    const t = await h.client.getTranscript({ params: { id: conversationId } });
    expect(t.entries.map((e) => `${e.direction}:${e.text}`)).toEqual(['in:tree please', 'out:reviewed']);
    const md = await h.client.getTranscriptMarkdown({ params: { id: conversationId } });
    expect(md).toContain('tree please');
    const res = await raw(h, 'GET', `/api/conversations/${conversationId}/transcript.md`);
    expect(res.headers.get('content-type')).toMatch(/^text\/markdown/);
    expect(res.text).toBe(md);
    await rejects(h.client.getTranscript({ params: { id: 'conv_nope' } }), 404, 'CONVERSATION_NOT_FOUND');
    await rejects(h.client.getTranscriptMarkdown({ params: { id: 'conv_nope' } }), 404, 'CONVERSATION_NOT_FOUND');
  });

  it('get run with children; unknown run is 404', async () => {
    const run = await h.client.getRun({ params: { id: runId } });
    expect(run).toMatchObject({ run: { id: runId, status: 'completed', output: 'reviewed' }, children: [] });
    await rejects(h.client.getRun({ params: { id: 'run_nope' } }), 404, 'RUN_NOT_FOUND');
  });

  it('steer: answered with accepted false for an ended run; bad command is 400', async () => {
    const res = await h.client.steerRun({ params: { id: runId }, body: { command: 'inject', payload: 'also check links' } });
    expect(res).toMatchObject({ runId, command: 'inject', accepted: false });
    expect(res.reason).toContain('ended');
    await bad('POST', `/api/runs/${runId}/steer`, 400, 'VALIDATION_FAILED', '{"command":"explode"}');
    await rejects(h.client.steerRun({ params: { id: 'run_nope' }, body: { command: 'pause' } }), 404, 'RUN_NOT_FOUND');
  });

  it('steer and cancel a running run', async () => {
    const sent = await h.client.sendMessage({ body: { message: 'slow work', agent: 'coder' } });
    const running = await waitFor(
      async () => {
        const d = await h.client.getMessage({ params: { id: sent.messageId } });
        return d.run?.status === 'running' ? d.run : undefined;
      },
      10_000,
      'run to start',
    );
    // What each command does for this run's provider, before it is used.
    const capabilities = await h.client.getRunSteering({ params: { id: running.id } });
    expect(capabilities).toMatchObject({ runId: running.id, agentId: 'coder', runtime: 'mock', status: 'running', paused: false });
    expect(capabilities.commands.map((c) => [c.command, c.allowed, c.midTurn])).toEqual([
      ['pause', true, true],
      ['resume', true, false],
      ['inject', true, true],
      ['redirect', true, true],
      ['cancel', true, true],
    ]);
    await rejects(h.client.getRunSteering({ params: { id: 'run_nope' } }), 404, 'RUN_NOT_FOUND');
    // A client that names itself is who the steering entries name.
    const tui = createApiClient({ baseUrl: h.url, token: h.token, clientName: 'the TUI', fetch: recordingFetch });
    const steered = await tui.steerRun({ params: { id: running.id }, body: { command: 'pause' } });
    expect(steered).toMatchObject({ accepted: true, effect: expect.stringContaining('Holds the run at its next step') });
    expect((await h.client.getRunSteering({ params: { id: running.id } })).paused).toBe(true);
    expect(await tui.steerRun({ params: { id: running.id }, body: { command: 'inject', payload: 'check the links too' } })).toMatchObject({ accepted: true });
    const tree = await h.client.getConversation({ params: { id: sent.conversationId } });
    expect(tree.roots[0]!.steering?.map((e) => [e.command, e.by, e.text ?? null])).toEqual([
      ['pause', 'the TUI', null],
      ['inject', 'the TUI', 'check the links too'],
    ]);
    const transcript = await h.client.getTranscript({ params: { id: sent.conversationId } });
    expect(transcript.entries.filter((e) => e.steering).map((e) => [e.from, e.steering?.command])).toEqual([
      ['the TUI', 'pause'],
      ['the TUI', 'inject'],
    ]);
    const cancelled = await h.client.cancelRun({ params: { id: running.id } });
    expect(cancelled).toMatchObject({ ok: true, runId: running.id, status: 'cancelled' });
    expect((await h.client.getConversation({ params: { id: sent.conversationId } })).conversation).toMatchObject({ status: 'cancelled', stopReason: 'cancelled by the API' });
    await rejects(h.client.cancelRun({ params: { id: 'run_nope' } }), 404, 'RUN_NOT_FOUND');
  });

  it('handoffs: the latest ones, oldest first, by team; a bad limit is 400', async () => {
    const sent = await h.client.sendMessage({ body: { message: 'pass it on [@reviewer: check the copy]', agent: 'coder' } });
    const handoff = await waitFor(async () => (await h.client.listHandoffs({ query: { team: 'dev' } })).find((x) => x.conversationId === sent.conversationId), 10_000, 'the handoff');
    expect(handoff).toMatchObject({ fromAgent: 'coder', toAgent: 'reviewer', hop: 1, teamId: 'dev', childRunId: expect.any(String) });
    expect(await h.client.listHandoffs({ query: { team: 'nobody' } })).toEqual([]);
    expect((await h.client.listHandoffs({ query: { limit: 1 } })).at(-1)?.id).toBe((await h.client.listHandoffs()).at(-1)?.id);
    await bad('GET', '/api/handoffs?limit=0', 400, 'VALIDATION_FAILED');
  });

  it('spawn: a child of a running run answers; refused for an ended parent; bad body is 400', async () => {
    const sent = await h.client.sendMessage({ body: { message: 'slow parent', agent: 'coder' } });
    const parent = await waitFor(
      async () => {
        const d = await h.client.getMessage({ params: { id: sent.messageId } });
        return d.run?.status === 'running' ? d.run : undefined;
      },
      10_000,
      'parent run to start',
    );
    const child = await h.client.spawnRun({ params: { id: parent.id }, body: { agent: 'reviewer', task: 'review this' } });
    expect(child).toMatchObject({ ok: true, text: 'reviewed' });
    const ended = await h.client.spawnRun({ params: { id: runId }, body: { agent: 'reviewer', task: 'x' } });
    expect(ended).toMatchObject({ ok: false });
    await bad('POST', `/api/runs/${parent.id}/spawn`, 400, 'VALIDATION_FAILED', '{"agent":"reviewer"}');
    // The running run declares an action with its own token (what the MCP tools do); a bad one is 400, an unknown teammate 404.
    const asRun = createApiClient({ baseUrl: h.url, token: mintRunToken(h.token, parent.id, parent.conversationId), fetch: recordingFetch });
    expect(await asRun.declareRunAction({ params: { id: parent.id }, body: { type: 'handoff', to: ['reviewer'], message: 'check it' } })).toMatchObject({
      runId: parent.id,
      accepted: true,
      note: expect.stringContaining('Handed off to @reviewer'),
    });
    await rejects(asRun.declareRunAction({ params: { id: parent.id }, body: { type: 'handoff', to: ['nobody'], message: 'x' } }), 404, 'AGENT_NOT_FOUND');
    await bad('POST', `/api/runs/${parent.id}/actions`, 400, 'VALIDATION_FAILED', '{"type":"handoff","to":[],"message":"x"}');
    // The running run's CLI asks before a tool call (the MCP tool approval_prompt): coder has no rule and no "ask" mode, so its mode allows at once.
    expect(await asRun.requestRunApproval({ params: { id: parent.id }, body: { tool: 'Bash', input: { command: 'ls' } } })).toEqual({ allow: true, decidedBy: 'mode' });
    await rejects(h.client.requestRunApproval({ params: { id: parent.id }, body: { tool: 'Bash', input: { command: 'ls' } } }), 403, 'SCOPE_FORBIDDEN');
    await bad('POST', `/api/runs/${parent.id}/approval`, 400, 'VALIDATION_FAILED', '{"tool":"","input":{}}');
    await h.client.cancelRun({ params: { id: parent.id } });
  });

  it('approvals: list, get and decide (the first answer wins: 409 after); unknown is 404, a bad decision 400', async () => {
    const now = Date.now();
    const record = await h.stores.approvals.create({
      id: 'apr_contract1',
      kind: 'permission',
      agentId: 'coder',
      runId: runId,
      conversationId: 'conv_x',
      sessionKey: 'shared',
      tool: 'Bash',
      input: { command: 'ls' },
      summary: 'Bash: ls',
      requestedAt: now,
      expiresAt: now + 60_000,
    });
    expect(await h.client.listApprovals({ query: { status: 'pending' } })).toContainEqual(expect.objectContaining({ id: record.id, status: 'pending', summary: 'Bash: ls' }));
    expect(await h.client.getApproval({ params: { id: record.id } })).toMatchObject({ id: record.id, tool: 'Bash', input: { command: 'ls' } });
    const decided = await h.client.decideApproval({ params: { id: record.id }, body: { decision: 'deny', reason: 'not now', by: 'contract test' } });
    expect(decided).toMatchObject({ status: 'denied', decision: 'deny', decidedBy: 'contract test', reason: 'not now' });
    await rejects(h.client.decideApproval({ params: { id: record.id }, body: { decision: 'allow_once' } }), 409, 'APPROVAL_DECIDED');
    await rejects(h.client.getApproval({ params: { id: 'apr_nope' } }), 404, 'APPROVAL_NOT_FOUND');
    await bad('POST', `/api/approvals/${record.id}/decision`, 400, 'VALIDATION_FAILED', '{"decision":"maybe"}');
    await bad('GET', '/api/approvals?status=nope', 400, 'VALIDATION_FAILED');
    await rejects(h.client.decideApproval({ params: { id: record.id }, body: { decision: 'answer', answer: 'yes' } }), 409, 'APPROVAL_DECIDED');

    // A question (ask_human) is answered with text or declined; a permission's decisions do not fit it.
    const question = await h.stores.approvals.create({
      id: 'apr_contract2',
      kind: 'question',
      agentId: 'coder',
      runId: runId,
      conversationId: 'conv_x',
      sessionKey: 'shared',
      tool: 'ask_human',
      input: { question: 'Which database?', choices: ['staging', 'production'] },
      summary: 'Which database?',
      requestedAt: now,
      expiresAt: now + 60_000,
    });
    expect(await h.client.listApprovals({ query: { kind: 'question' } })).toEqual([expect.objectContaining({ id: question.id, kind: 'question', answer: null })]);
    await rejects(h.client.decideApproval({ params: { id: question.id }, body: { decision: 'allow_once' } }), 400, 'APPROVAL_DECISION_INVALID');
    await bad('POST', `/api/approvals/${question.id}/decision`, 400, 'VALIDATION_FAILED', '{"decision":"answer","answer":"  "}');
    const answered = await h.client.decideApproval({ params: { id: question.id }, body: { decision: 'answer', answer: ' staging ', by: 'contract test' } });
    expect(answered).toMatchObject({ kind: 'question', status: 'answered', decision: 'answer', answer: 'staging', decidedBy: 'contract test' });
  });

  it('approvals in a burst: grouped by what they ask, one answer for a group (each recorded with the batch); bad input 400, an empty group 404', async () => {
    const now = Date.now();
    for (const n of [1, 2]) {
      await h.stores.approvals.create({
        ...{ kind: 'permission', agentId: 'coder', runId, conversationId: 'conv_x', sessionKey: 'shared', tool: 'Bash', requestedAt: now + n, expiresAt: now + 60_000 },
        id: `apr_contract_burst${n}`,
        input: { command: `rm -r build-${n}` },
        summary: `Bash: rm -r build-${n}`,
      });
    }
    const groups = await h.client.listApprovalGroups({ query: { agent: 'coder' } });
    expect(groups).toContainEqual(expect.objectContaining({ key: 'Bash: rm', count: 2, agents: ['coder'], ids: ['apr_contract_burst1', 'apr_contract_burst2'] }));
    await bad('GET', '/api/approvals/groups?kind=nope', 400, 'VALIDATION_FAILED');
    const result = await h.client.decideApprovals({ body: { group: 'Bash: rm', decision: 'deny', reason: 'not today', by: 'contract test' } });
    expect(result.decided.map((a) => [a.id, a.status, a.batchId])).toEqual([
      ['apr_contract_burst1', 'denied', result.batchId],
      ['apr_contract_burst2', 'denied', result.batchId],
    ]);
    await rejects(h.client.decideApprovals({ body: { group: 'Bash: rm', decision: 'deny' } }), 404, 'APPROVAL_NOT_FOUND');
    await bad('POST', '/api/approvals/decisions', 400, 'VALIDATION_FAILED', '{"decision":"deny"}');
  });
});

describe('agents', () => {
  it('list and get are masked; unknown agent is 404, invalid id is 400', async () => {
    const agents = await h.client.listAgents();
    expect(agents.map((a) => a.id).sort()).toEqual(['coder', 'reviewer']);
    expect(await h.client.getAgent({ params: { id: 'coder' } })).toMatchObject({ id: 'coder', name: 'Coder', provider: 'mock' });
    await rejects(h.client.getAgent({ params: { id: 'nobody' } }), 404, 'AGENT_NOT_FOUND');
    await rejects(h.client.getAgent({ params: { id: 'Bad Id' } }), 400, 'INVALID_ID');
    await bad('GET', '/api/agents?all=true', 400, 'VALIDATION_FAILED');
  });

  it('PUT creates and provisions; PUT again keeps keys it does not send (heartbeat)', async () => {
    const created = await h.client.putAgent({ params: { id: 'writer' }, body: { name: 'Writer', provider: 'mock', heartbeat: { enabled: false, interval: 600 } } });
    expect(created).toMatchObject({ created: true, provisioned: true, agent: { id: 'writer', name: 'Writer' } });
    expect(existsSync(join(h.home, 'workspace', 'writer', 'AGENTS.md'))).toBe(true);
    const replaced = await h.client.putAgent({ params: { id: 'writer' }, body: { name: 'Writer 2', provider: 'mock', model: 'm1' } });
    expect(replaced).toMatchObject({ created: false, agent: { name: 'Writer 2', model: 'm1', heartbeat: { enabled: false, interval: 600 } } });
    await bad('PUT', '/api/agents/writer', 400, 'CONFIG_INVALID', '{"provider":"nonsense"}');
    // A model id with a space is always a typo: refused with the field's path in the settings
    // (the agent form shows it there); the same check and error as the CLI's offline editor.
    const badModel = await bad('PUT', '/api/agents/writer', 400, 'CONFIG_INVALID', '{"provider":"mock","model":"claude sonnet"}');
    expect(JSON.stringify(badModel)).toContain('agents.writer.model');
    await bad('PATCH', '/api/agents/writer', 400, 'CONFIG_INVALID', '{"model":"gpt 5"}');
    await bad('PUT', '/api/agents/dev', 400, 'CONFIG_INVALID', '{"name":"clash","provider":"mock"}');
    await bad('PUT', '/api/agents/Not..Valid', 400, 'INVALID_ID', '{"name":"x"}');
    // The file on disk is unchanged by refused writes.
    const onDisk = JSON.parse(readFileSync(h.settingsFile, 'utf8')) as { agents: Record<string, unknown> };
    expect(Object.keys(onDisk.agents).sort()).toEqual(['coder', 'reviewer', 'writer']);
  });

  it('POST creates and provisions; an id an agent or a team already has is 409 at the id field and changes nothing', async () => {
    const before = readFileSync(h.settingsFile, 'utf8');
    const dup = await rejects(h.client.createAgent({ body: { id: 'reviewer', name: 'Impostor', provider: 'openai' } }), 409, 'ALREADY_EXISTS');
    expect(dup.message).toBe('The id "reviewer" is already used by an agent. Pick another id, or edit the existing agent.');
    expect(dup.details).toEqual({ issues: [{ path: ['id'], message: 'already used by an agent' }] });
    await rejects(h.client.createAgent({ body: { id: 'dev', provider: 'mock' } }), 409, 'ALREADY_EXISTS');
    expect(readFileSync(h.settingsFile, 'utf8')).toBe(before);
    await rejects(h.client.createAgent({ body: { id: 'Bad Id', provider: 'mock' } }), 400, 'INVALID_ID');
    await bad('POST', '/api/agents', 400, 'VALIDATION_FAILED', '{"provider":"mock"}');
    await bad('POST', '/api/agents', 400, 'CONFIG_INVALID', '{"id":"drafter","provider":"nonsense"}');
    const created = await h.client.createAgent({ body: { id: 'drafter', name: 'Drafter', provider: 'mock' } });
    expect(created).toMatchObject({ provisioned: true, agent: { id: 'drafter', name: 'Drafter', provider: 'mock' } });
    expect(existsSync(join(h.home, 'workspace', 'drafter', 'AGENTS.md'))).toBe(true);
    await rejects(h.client.createAgent({ body: { id: 'drafter', name: 'Again', provider: 'mock' } }), 409, 'ALREADY_EXISTS');
    expect(await h.client.getAgent({ params: { id: 'drafter' } })).toMatchObject({ name: 'Drafter' });
    await h.client.deleteAgent({ params: { id: 'drafter' } });
  });

  it('PATCH merges nested objects and deletes with null', async () => {
    const patched = await h.client.patchAgent({ params: { id: 'writer' }, body: { heartbeat: { interval: 900 }, model: null } });
    expect(patched.heartbeat).toEqual({ enabled: false, interval: 900 });
    expect(patched).not.toHaveProperty('model');
    await rejects(h.client.patchAgent({ params: { id: 'nobody' }, body: { name: 'x' } }), 404, 'AGENT_NOT_FOUND');
    await bad('PATCH', '/api/agents/writer', 400, 'VALIDATION_FAILED', '[1,2]');
  });

  it('refuses keys the agent schema does not know, naming the nearest known one; nothing is written', async () => {
    const before = readFileSync(h.settingsFile, 'utf8');
    const put = await bad('PUT', '/api/agents/typo', 400, 'VALIDATION_FAILED', '{"provider":"mock","mock":{"replly":"hi"}}');
    expect(put.error.message).toBe('Invalid agent settings: mock.replly: Unknown key "replly". Did you mean "reply"?');
    const patch = await bad('PATCH', '/api/agents/writer', 400, 'VALIDATION_FAILED', '{"timeout":30}');
    expect(patch.error.message).toContain('Did you mean "timeout_s"?');
    expect(readFileSync(h.settingsFile, 'utf8')).toBe(before);
    // null deletes a key (known or not) in a merge-patch
    await h.client.patchAgent({ params: { id: 'writer' }, body: { some_old_key: null } });
    // What a client read may be sent back as it is: the echoed id is not stored as a setting.
    const read = await h.client.getAgent({ params: { id: 'writer' } });
    await h.client.putAgent({ params: { id: 'writer' }, body: read });
    expect((JSON.parse(readFileSync(h.settingsFile, 'utf8')) as { agents: Record<string, object> }).agents['writer']).not.toHaveProperty('id');
    await bad('PUT', '/api/agents/writer', 400, 'VALIDATION_FAILED', '{"id":"someone-else"}');
  });

  it('system prompt: read and replace AGENTS.md', async () => {
    const before = await h.client.getSystemPrompt({ params: { id: 'writer' } });
    expect(before.path).toBe(join(h.home, 'workspace', 'writer', 'AGENTS.md'));
    const after = await h.client.putSystemPrompt({ params: { id: 'writer' }, body: { content: '# Writer\nWrite well.' } });
    expect(readFileSync(after.path, 'utf8')).toBe('# Writer\nWrite well.');
    expect((await h.client.getSystemPrompt({ params: { id: 'writer' } })).content).toBe('# Writer\nWrite well.');
    await bad('PUT', '/api/agents/writer/system-prompt', 400, 'VALIDATION_FAILED', '{"content":42}');
    await rejects(h.client.getSystemPrompt({ params: { id: 'nobody' } }), 404, 'AGENT_NOT_FOUND');
  });

  it('memory index', async () => {
    const dir = join(h.home, 'workspace', 'writer', 'memory');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'style.md'), '---\nname: Style guide\nsummary: Short sentences.\n---\nbody');
    const memory = await h.client.getMemory({ params: { id: 'writer' } });
    expect(memory.entries).toEqual([{ path: 'style.md', name: 'Style guide', summary: 'Short sentences.' }]);
    expect(memory.index).toContain('Style guide');
    await rejects(h.client.getMemory({ params: { id: 'nobody' } }), 404, 'AGENT_NOT_FOUND');
  });

  it('heartbeat: file and settings', async () => {
    const updated = await h.client.putHeartbeat({ params: { id: 'writer' }, body: { content: 'Check the inbox.', enabled: true } });
    expect(updated).toMatchObject({ content: 'Check the inbox.', enabled: true, interval: 900 });
    expect(await h.client.getHeartbeat({ params: { id: 'writer' } })).toEqual(updated);
    await bad('PUT', '/api/agents/writer/heartbeat', 400, 'VALIDATION_FAILED', '{"interval":1}');
    await rejects(h.client.getHeartbeat({ params: { id: 'nobody' } }), 404, 'AGENT_NOT_FOUND');
  });

  it('skills from .agents/skills', async () => {
    const skills = await h.client.getSkills({ params: { id: 'writer' } });
    expect(skills.map((s) => s.id)).toEqual(expect.arrayContaining(['memory', 'send-file']));
    expect(skills.every((s) => s.name !== '' && typeof s.description === 'string')).toBe(true);
    await rejects(h.client.getSkills({ params: { id: 'nobody' } }), 404, 'AGENT_NOT_FOUND');
  });

  it('messages history, paged forward with sinceId', async () => {
    const all = await h.client.agentMessages({ params: { id: 'reviewer' }, query: { limit: 1000 } });
    expect(all.messages.length).toBeGreaterThan(1);
    const first = all.messages[0]!;
    const page = await h.client.agentMessages({ params: { id: 'reviewer' }, query: { sinceId: first.id, limit: 1 } });
    expect(page.messages).toEqual([all.messages[1]]);
    expect(page.nextCursor).toBe(all.messages[1]!.id);
    await bad('GET', '/api/agents/reviewer/messages?sinceId=-1', 400, 'VALIDATION_FAILED');
  });

  it("a held workspace shows in the agent's sandbox status until it is released", async () => {
    const env = { HOME: h.home };
    const folder = join(h.home, 'workspace', 'writer');
    holdFolder(env, { folder, agent: 'writer', confinedBy: ['reviewer', 'writer'], runId: 'run-1' });
    expect((await h.client.getAgent({ params: { id: 'writer' } })).sandboxStatus?.held).toMatchObject({ folder, by: ['reviewer'] });
    expect(await h.client.releaseAgentHold({ params: { id: 'writer' } })).toEqual({ ok: true, released: true, folder });
    expect((await h.client.getAgent({ params: { id: 'writer' } })).sandboxStatus?.held).toBeUndefined();
    expect(await h.client.releaseAgentHold({ params: { id: 'writer' } })).toEqual({ ok: true, released: false, folder });
    await rejects(h.client.releaseAgentHold({ params: { id: 'nobody' } }), 404, 'AGENT_NOT_FOUND');
  });

  it('reset clears sessions', async () => {
    await h.stores.agentSessions.recordTurn('writer', 'k', { provider: 'mock', sessionId: 's', user: 'hi', assistant: 'hello' });
    expect(await h.client.resetAgent({ params: { id: 'writer' } })).toEqual({ ok: true, sessionsCleared: 1 });
    await rejects(h.client.resetAgent({ params: { id: 'nobody' } }), 404, 'AGENT_NOT_FOUND');
  });

  it('DELETE refuses while a team lists the agent, then deletes and archives the workspace', async () => {
    await rejects(h.client.deleteAgent({ params: { id: 'reviewer' } }), 409, 'INVALID_STATE');
    const workspace = join(h.home, 'workspace', 'writer');
    writeFileSync(join(workspace, 'memory', 'notes.md'), '---\nname: notes\nsummary: kept in the archive\n---\n');
    const removed = await h.client.deleteAgent({ params: { id: 'writer' } });
    expect(removed).toMatchObject({ ok: true, workspace: { action: 'archived', path: workspace } });
    const archivedTo = removed.workspace.archivedTo!;
    expect(archivedTo.startsWith(join(h.home, 'workspace', '.archive', 'writer-'))).toBe(true);
    expect(existsSync(workspace)).toBe(false);
    expect(readFileSync(join(archivedTo, 'memory', 'notes.md'), 'utf8')).toContain('kept in the archive');
    await rejects(h.client.deleteAgent({ params: { id: 'writer' } }), 404, 'AGENT_NOT_FOUND');
    // Re-added with the same id, the agent starts from a fresh workspace.
    await h.client.putAgent({ params: { id: 'writer' }, body: { provider: 'mock' } });
    expect(existsSync(join(workspace, 'memory', 'notes.md'))).toBe(false);
    expect(await h.client.deleteAgent({ params: { id: 'writer' }, query: { workspace: 'delete' } })).toEqual({ ok: true, workspace: { action: 'deleted', path: workspace } });
    expect(existsSync(workspace)).toBe(false);
  });

  it('DELETE ?workspace=keep leaves the directory; a bad value is 400; an unsafe delete is 409 and changes nothing', async () => {
    await h.client.putAgent({ params: { id: 'keeper' }, body: { provider: 'mock' } });
    await bad('DELETE', '/api/agents/keeper?workspace=nuke', 400, 'VALIDATION_FAILED');
    const kept = await h.client.deleteAgent({ params: { id: 'keeper' }, query: { workspace: 'keep' } });
    expect(kept).toEqual({ ok: true, workspace: { action: 'kept', path: join(h.home, 'workspace', 'keeper') } });
    expect(existsSync(join(h.home, 'workspace', 'keeper', 'AGENTS.md'))).toBe(true);

    // A working_directory outside the workspace root (the user's own project) is never moved or deleted.
    const project = join(h.home, 'project');
    mkdirSync(project);
    await h.client.putAgent({ params: { id: 'outsider' }, body: { provider: 'mock', working_directory: project } });
    await rejects(h.client.deleteAgent({ params: { id: 'outsider' }, query: { workspace: 'delete' } }), 409, 'INVALID_STATE');
    expect((await h.client.getAgent({ params: { id: 'outsider' } })).id).toBe('outsider');
    const outsider = await h.client.deleteAgent({ params: { id: 'outsider' } });
    expect(outsider.workspace).toMatchObject({ action: 'kept', path: project, reason: expect.stringContaining('outside the workspace root') });
    expect(existsSync(join(project, 'AGENTS.md'))).toBe(true);
  });
});

describe('teams and chat rooms', () => {
  it('CRUD validated: members exist, leader is a member, ids unique across agents and teams', async () => {
    expect((await h.client.listTeams()).map((t) => t.id)).toEqual(['dev']);
    await bad('GET', '/api/teams?x=1', 400, 'VALIDATION_FAILED');
    expect(await h.client.getTeam({ params: { id: 'dev' } })).toMatchObject({ id: 'dev', leader_agent: 'coder' });
    await rejects(h.client.getTeam({ params: { id: 'nope' } }), 404, 'TEAM_NOT_FOUND');
    const created = await h.client.putTeam({ params: { id: 'qa' }, body: { name: 'QA', agents: ['reviewer'], leader_agent: 'reviewer' } });
    expect(created).toMatchObject({ created: true, team: { id: 'qa', agents: ['reviewer'] } });
    await rejects(h.client.putTeam({ params: { id: 'qa2' }, body: { agents: ['ghost'], leader_agent: 'ghost' } }), 400, 'CONFIG_INVALID');
    await rejects(h.client.putTeam({ params: { id: 'qa2' }, body: { agents: ['reviewer'], leader_agent: 'coder' } }), 400, 'CONFIG_INVALID');
    await rejects(h.client.putTeam({ params: { id: 'coder' }, body: { agents: ['reviewer'], leader_agent: 'reviewer' } }), 400, 'CONFIG_INVALID');
    await bad('PUT', '/api/teams/qa2', 400, 'VALIDATION_FAILED', '{"agents":[]}');
    // POST creates only: a taken id (a team's or an agent's) is 409 and the team is left as it was.
    const dup = await rejects(h.client.createTeam({ body: { id: 'qa', name: 'Hijack', agents: ['coder'], leader_agent: 'coder' } }), 409, 'ALREADY_EXISTS');
    expect(dup.message).toBe('The id "qa" is already used by a team. Pick another id, or edit the existing team.');
    await rejects(h.client.createTeam({ body: { id: 'reviewer', agents: ['coder'], leader_agent: 'coder' } }), 409, 'ALREADY_EXISTS');
    expect(await h.client.getTeam({ params: { id: 'qa' } })).toMatchObject({ name: 'QA', agents: ['reviewer'] });
    await rejects(h.client.createTeam({ body: { id: 'qa3', agents: ['ghost'], leader_agent: 'ghost' } }), 400, 'CONFIG_INVALID');
    expect(await h.client.createTeam({ body: { id: 'qa3', agents: ['coder'], leader_agent: 'coder' } })).toEqual({ team: { id: 'qa3', agents: ['coder'], leader_agent: 'coder' } });
    expect(await h.client.deleteTeam({ params: { id: 'qa3' } })).toEqual({ ok: true });
    const patched = await h.client.patchTeam({ params: { id: 'qa' }, body: { agents: ['reviewer', 'coder'], reply_mode: 'aggregate' } });
    expect(patched).toMatchObject({ agents: ['reviewer', 'coder'], reply_mode: 'aggregate' });
    await rejects(h.client.patchTeam({ params: { id: 'qa' }, body: { leader_agent: 'ghost' } }), 400, 'CONFIG_INVALID');
    expect(await h.client.deleteTeam({ params: { id: 'qa' } })).toEqual({ ok: true });
    await rejects(h.client.deleteTeam({ params: { id: 'qa' } }), 404, 'TEAM_NOT_FOUND');
  });

  it('chat room: post reaches members; cursor pagination never repeats', async () => {
    for (const text of ['one', 'two', 'three']) await h.client.postChatroom({ params: { id: 'dev' }, body: { message: text } });
    const seen: string[] = [];
    let cursor = 0;
    for (;;) {
      const page = await h.client.getChatroom({ params: { id: 'dev' }, query: { after: cursor, limit: 2 } });
      if (page.messages.length === 0) break;
      seen.push(...page.messages.map((m) => `${m.id}`));
      cursor = page.nextCursor;
    }
    expect(new Set(seen).size).toBe(seen.length);
    const latest = await h.client.getChatroom({ params: { id: 'dev' }, query: { limit: 100 } });
    expect(latest.messages.filter((m) => m.fromAgent === 'user').map((m) => m.content)).toEqual(['one', 'two', 'three']);
    // Paging back from the latest page with `before`: every post once, oldest first, then no more.
    const back: number[] = [];
    let page = await h.client.getChatroom({ params: { id: 'dev' }, query: { limit: 2 } });
    back.unshift(...page.messages.map((m) => m.id));
    while (page.hasOlder) {
      page = await h.client.getChatroom({ params: { id: 'dev' }, query: { before: back[0]!, limit: 2 } });
      back.unshift(...page.messages.map((m) => m.id));
    }
    expect(back).toEqual(latest.messages.map((m) => m.id));
    expect(new Set(back).size).toBe(back.length);
    await bad('GET', '/api/teams/dev/chatroom?after=1&before=3', 400, 'VALIDATION_FAILED');
    await bad('GET', '/api/teams/dev/chatroom?after=-5', 400, 'VALIDATION_FAILED');
    await bad('POST', '/api/teams/dev/chatroom', 400, 'VALIDATION_FAILED', '{"message":""}');
    await rejects(h.client.postChatroom({ params: { id: 'dev' }, body: { message: 'hi', from: 'stranger' } }), 400, 'NOT_A_MEMBER');
    await rejects(h.client.getChatroom({ params: { id: 'nope' } }), 404, 'TEAM_NOT_FOUND');
  });
});

describe('providers and settings', () => {
  it('providers are masked with set flags; PUT keeps a key sent back masked; make_default sets the default', async () => {
    const view = await h.client.listProviders();
    expect(view.anthropic.api_key).toMatch(/^sk-…/);
    expect(view.custom.map((p) => p.id)).toEqual(['acme']);
    expect(view.secrets).toEqual([
      { path: 'models.anthropic.api_key', set: true },
      { path: 'models.anthropic.oauth_token', set: false },
      { path: 'models.openai.api_key', set: true },
      { path: 'custom_providers.acme.api_key', set: true },
    ]);
    const updated = await h.client.putProvider({ params: { name: 'anthropic' }, body: { api_key: view.anthropic.api_key!, model: 'claude-x', make_default: true } });
    // make_default on the anthropic credentials makes their runtime, Claude Code, the default (docs/kinds.md).
    expect(updated).toMatchObject({ default: 'claude-code', anthropic: { model: 'claude-x' } });
    expect(h.settings().models?.anthropic?.api_key).toBe(SECRETS.anthropic);
    // A short token is set but shows nothing of itself.
    const short = await h.client.putProvider({ params: { name: 'anthropic' }, body: { oauth_token: 'sk-oat-short9', make_default: false } });
    expect(short.anthropic.oauth_token).toBe('…');
    expect(short.secrets).toContainEqual({ path: 'models.anthropic.oauth_token', set: true });
    expect(short.default).toBe('claude-code');
    expect(h.settings().models?.anthropic?.oauth_token).toBe('sk-oat-short9');
    // The deprecated camelCase spelling still works.
    expect((await h.client.putProvider({ params: { name: 'openai' }, body: { makeDefault: true } })).default).toBe('codex');
    expect(h.settings().models?.provider).toBe('codex');
    await h.client.patchSettings({ body: { models: { provider: 'mock', anthropic: { oauth_token: null } } } });
    await bad('PUT', '/api/providers/gemini', 400, 'VALIDATION_FAILED', '{"api_key":"x"}');
    expect((await bad('PUT', '/api/providers/openai', 400, 'VALIDATION_FAILED', '{"make_default":"yes"}')).error.message).toContain('make_default');
    await bad('GET', '/api/providers?reveal=1', 400, 'VALIDATION_FAILED');
  });

  it("runtime names: an agent PUT with an old name is stored and shown by the runtime's name (docs/kinds.md)", async () => {
    const put = await h.client.putAgent({ params: { id: 'oldnames' }, body: { name: 'Old names', provider: 'anthropic' } });
    expect(put.agent.provider).toBe('claude-code');
    expect(h.settings().agents?.['oldnames']?.provider).toBe('claude-code');
    expect((await h.client.getAgent({ params: { id: 'oldnames' } })).provider).toBe('claude-code');
    const { runtimes } = await h.client.listKinds();
    expect(runtimes.map((r) => r.name)).toEqual(expect.arrayContaining(['claude-code', 'codex', 'opencode', 'anthropic-api', 'openai-api', 'mock']));
    expect(runtimes.find((r) => r.name === 'claude-code')).toMatchObject({ command: 'claude', retry: 'resume-at', instructionFiles: ['CLAUDE.md'], customProvider: { needsBaseUrl: false } });
    await h.client.deleteAgent({ params: { id: 'oldnames' }, query: { workspace: 'delete' } });
  });

  it('custom providers CRUD', async () => {
    await bad('GET', '/api/custom-providers?x=1', 400, 'VALIDATION_FAILED');
    expect((await h.client.listCustomProviders())[0]).toMatchObject({ id: 'acme', api_key: expect.stringMatching(/…/) });
    // The fixture's old key and name (`harness: "openai"`, the HTTP API) show as `runtime` by the runtime's name.
    const acme = await h.client.getCustomProvider({ params: { id: 'acme' } });
    expect(acme).toMatchObject({ id: 'acme', runtime: 'openai-api' });
    expect(acme).not.toHaveProperty('harness');
    await rejects(h.client.getCustomProvider({ params: { id: 'nope' } }), 404, 'PROVIDER_NOT_FOUND');
    const put = await h.client.putCustomProvider({ params: { id: 'local' }, body: { name: 'Local', runtime: 'openai', base_url: 'http://127.0.0.1:11434/v1', api_key: 'sk-local-0123456789abcdef' } });
    expect(put).toMatchObject({ id: 'local', runtime: 'openai-api', api_key: 'sk-…cdef' });
    // PUT what GET returned: the masked key and the read-only id change nothing on disk.
    await h.client.putCustomProvider({ params: { id: 'local' }, body: { ...put, base_url: 'http://127.0.0.1:11434/v1' } });
    // An old runtime name is accepted and written as the runtime's name.
    expect(h.settings().custom_providers?.['local']).toEqual({ name: 'Local', runtime: 'openai-api', base_url: 'http://127.0.0.1:11434/v1', api_key: 'sk-local-0123456789abcdef' });
    // The key's old name is accepted on input (PUT and PATCH) and written as `runtime`.
    await h.client.putCustomProvider({ params: { id: 'local' }, body: { name: 'Local', harness: 'codex', base_url: 'http://127.0.0.1:11434/v1', api_key: 'sk-local-0123456789abcdef' } });
    expect(h.settings().custom_providers?.['local']).toEqual({ name: 'Local', runtime: 'codex', base_url: 'http://127.0.0.1:11434/v1', api_key: 'sk-local-0123456789abcdef' });
    await h.client.patchSettings({ body: { custom_providers: { local: { harness: 'openai-api' } } } });
    expect(h.settings().custom_providers?.['local']).toEqual({ name: 'Local', base_url: 'http://127.0.0.1:11434/v1', api_key: 'sk-local-0123456789abcdef', runtime: 'openai-api' });
    expect((await h.client.listProviders()).secrets).toContainEqual({ path: 'custom_providers.local.api_key', set: true });
    await bad('PUT', '/api/custom-providers/local', 400, 'VALIDATION_FAILED', '{"base_url":"http://x"}');
    await bad('PUT', '/api/custom-providers/local', 400, 'CONFIG_INVALID', '{"runtime":"openai","base_url":"ftp://x"}');
    const unknown = await bad('PUT', '/api/custom-providers/local', 400, 'CONFIG_INVALID', '{"runtime":"gemini","base_url":"http://x"}');
    expect(unknown.error.message).toContain('Unknown runtime "gemini"');
    expect(unknown.error.message).toContain('"openai-api"');
    await h.client.patchAgent({ params: { id: 'reviewer' }, body: { provider: 'custom:local' } });
    await rejects(h.client.deleteCustomProvider({ params: { id: 'local' } }), 409, 'INVALID_STATE');
    await h.client.patchAgent({ params: { id: 'reviewer' }, body: { provider: 'mock' } });
    expect(await h.client.deleteCustomProvider({ params: { id: 'local' } })).toEqual({ ok: true });
    await rejects(h.client.deleteCustomProvider({ params: { id: 'local' } }), 404, 'PROVIDER_NOT_FOUND');
  });

  it('settings: GET masked, PATCH deep-merges atomically and validates', async () => {
    const masked = await h.client.getSettings();
    await bad('GET', '/api/settings?reveal=true', 400, 'VALIDATION_FAILED');
    expect(JSON.stringify(masked)).not.toContain(SECRETS.telegram);
    const patched = await h.client.patchSettings({ body: { channels: { enabled: ['telegram'] }, monitoring: { heartbeat_interval: 1200 } } });
    // The nested telegram token survives a PATCH of a sibling key.
    expect((h.settings().channels?.['telegram'] as { bot_token?: string } | undefined)?.bot_token).toBe(SECRETS.telegram);
    expect(patched).toMatchObject({ channels: { enabled: ['telegram'] }, monitoring: { heartbeat_interval: 1200 } });
    // Echoing the masked GET body back changes nothing.
    await h.client.patchSettings({ body: masked });
    expect(h.settings().models?.anthropic?.api_key).toBe(SECRETS.anthropic);
    // Which secrets are set, without their values: known paths are listed even when unset.
    const status = await h.client.getSecretStatus();
    expect(status.secrets).toEqual([
      { path: 'models.anthropic.api_key', set: true },
      { path: 'models.anthropic.oauth_token', set: false },
      { path: 'models.openai.api_key', set: true },
      { path: 'channels.discord.bot_token', set: false },
      { path: 'channels.telegram.bot_token', set: true },
      { path: 'custom_providers.acme.api_key', set: true },
    ]);
    await h.client.patchSettings({ body: { channels: { discord: { bot_token: 'short' } } } });
    expect((await h.client.getSecretStatus()).secrets).toContainEqual({ path: 'channels.discord.bot_token', set: true });
    expect(((await h.client.getSettings()) as { channels: { discord: { bot_token: string } } }).channels.discord.bot_token).toBe('…');
    await h.client.patchSettings({ body: { channels: { discord: null } } });
    await bad('GET', '/api/settings/secrets?reveal=1', 400, 'VALIDATION_FAILED');
    const before = readFileSync(h.settingsFile, 'utf8');
    await bad('PATCH', '/api/settings', 400, 'CONFIG_INVALID', '{"server":{"port":"eighty"}}');
    await bad('PATCH', '/api/settings', 400, 'INVALID_JSON', '{"server":');
    expect(readFileSync(h.settingsFile, 'utf8')).toBe(before);
    expect((await eventsOf(h.stores, { types: ['settings.changed'] })).length).toBeGreaterThan(0);
  });
});

describe('pairing', () => {
  it('request, list, approve, dismiss, revoke (no route shadowing)', async () => {
    const first = await h.client.requestPairing({ body: { channel: 'discord', senderId: 'u1', sender: 'Una' } });
    expect(first).toMatchObject({ status: 'pending', created: true });
    expect(first.code).toMatch(/^[A-HJ-NP-Z2-9]{8}$/);
    expect(await h.client.requestPairing({ body: { channel: 'discord', senderId: 'u1' } })).toMatchObject({ code: first.code, created: false });
    const other = await h.client.requestPairing({ body: { channel: 'discord', senderId: 'u2' } });
    const list = await h.client.listPairings();
    expect(list.pending.map((p) => p.senderId)).toEqual(expect.arrayContaining(['u1', 'u2']));
    expect(await h.client.approvePairing({ body: { code: first.code!.toLowerCase() } })).toMatchObject({ channel: 'discord', senderId: 'u1', sender: 'Una' });
    await rejects(h.client.approvePairing({ body: { code: first.code! } }), 404, 'PAIRING_NOT_FOUND');
    expect(await h.client.requestPairing({ body: { channel: 'discord', senderId: 'u1' } })).toMatchObject({ status: 'approved', code: null });
    expect(await h.client.dismissPairing({ params: { code: other.code! } })).toEqual({ ok: true });
    await rejects(h.client.dismissPairing({ params: { code: other.code! } }), 404, 'PAIRING_NOT_FOUND');
    expect(await h.client.revokePairing({ params: { channel: 'discord', senderId: 'u1' } })).toEqual({ ok: true });
    await rejects(h.client.revokePairing({ params: { channel: 'discord', senderId: 'u1' } }), 404, 'PAIRING_NOT_FOUND');
    await bad('POST', '/api/pairing/request', 400, 'VALIDATION_FAILED', '{"channel":"discord"}');
    await bad('POST', '/api/pairing/approve', 400, 'VALIDATION_FAILED', '{"code":""}');
    await bad('GET', '/api/pairing?all=1', 400, 'VALIDATION_FAILED');
  });

  it('a sender check asks for nothing: a stranger is not let in and gets no request; an approved sender is, and is seen', async () => {
    expect(await h.client.checkSender({ body: { channel: 'discord', senderId: 'c1', sender: 'Cy' } })).toEqual({ approved: false });
    expect((await h.client.listPairings()).pending.map((p) => p.senderId)).not.toContain('c1');
    const { code } = await h.client.requestPairing({ body: { channel: 'discord', senderId: 'c1', sender: 'Cy' } });
    expect(await h.client.checkSender({ body: { channel: 'discord', senderId: 'c1' } })).toEqual({ approved: false });
    await h.client.approvePairing({ body: { code: code! } });
    const before = Date.now();
    expect(await h.client.checkSender({ body: { channel: 'discord', senderId: 'c1', sender: 'Cyrus' } })).toEqual({ approved: true });
    const seen = (await h.client.listPairings()).approved.find((p) => p.senderId === 'c1');
    expect(seen).toMatchObject({ sender: 'Cyrus' });
    expect(seen!.lastSeenAt).toBeGreaterThanOrEqual(before);
    // A channel process of the previous version checks every message with requestPairing: it still answers so.
    expect(await h.client.requestPairing({ body: { channel: 'discord', senderId: 'c1' } })).toMatchObject({ status: 'approved', code: null, created: false });
    await bad('POST', '/api/pairing/check', 400, 'VALIDATION_FAILED', '{"channel":"discord"}');
  });
});

describe('schedules', () => {
  it('cron with a time zone, one-shot runAt, patch, delete', async () => {
    const cron = await h.client.createSchedule({ body: { label: 'standup', agent: 'coder', message: 'status?', cron: '0 9 * * 1-5', timezone: 'Europe/Berlin' } });
    expect(cron).toMatchObject({ label: 'standup', agentId: 'coder', cron: '0 9 * * 1-5', timezone: 'Europe/Berlin', enabled: true });
    const next = new Date(cron.nextRunAt!);
    const berlinHour = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Berlin', hour: '2-digit', hour12: false }).format(next);
    expect(berlinHour).toBe('09');
    const runAt = new Date(Date.now() + 3600_000).toISOString();
    const once = await h.client.createSchedule({ body: { team: 'dev', message: 'ship it', runAt } });
    expect(once).toMatchObject({ teamId: 'dev', cron: null, runAt: Date.parse(runAt), nextRunAt: Date.parse(runAt) });
    expect((await h.client.listSchedules({ query: { agent: 'coder' } })).map((s) => s.label)).toEqual(['standup']);
    expect(await h.client.getSchedule({ params: { id: 'standup' } })).toMatchObject({ id: cron.id });
    // The next runs come from the scheduler's own cron code: 09:00 Berlin time on weekdays, ascending.
    const runs = await h.client.scheduleNextRuns({ params: { id: 'standup' }, query: { count: 12 } });
    expect(runs.timezone).toBe('Europe/Berlin');
    expect(runs.runs).toHaveLength(12);
    expect(runs.runs[0]).toBe(cron.nextRunAt);
    const berlin = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Berlin', weekday: 'short', hour: '2-digit', minute: '2-digit', hour12: false });
    for (const [i, at] of runs.runs.entries()) {
      expect(berlin.format(new Date(at))).toMatch(/^(Mon|Tue|Wed|Thu|Fri) 09:00$/);
      if (i > 0) expect(at).toBeGreaterThan(runs.runs[i - 1]!);
    }
    expect((await h.client.scheduleNextRuns({ params: { id: once.id }, query: { count: 5 } })).runs).toEqual([Date.parse(runAt)]);
    expect(await h.client.previewCron({ query: { cron: '0 0 1 1 *', timezone: 'UTC', count: 2 } })).toEqual({
      timezone: 'UTC',
      runs: [Date.UTC(new Date().getUTCFullYear() + 1, 0, 1), Date.UTC(new Date().getUTCFullYear() + 2, 0, 1)],
    });
    await rejects(h.client.previewCron({ query: { cron: 'every day' } }), 400, 'VALIDATION_FAILED');
    await rejects(h.client.previewCron({ query: { cron: '* * * * *', timezone: 'Mars/Olympus' } }), 400, 'VALIDATION_FAILED');
    await bad('GET', '/api/schedules/standup/next?count=0', 400, 'VALIDATION_FAILED');
    await rejects(h.client.scheduleNextRuns({ params: { id: 'nope' } }), 404, 'SCHEDULE_NOT_FOUND');
    const patched = await h.client.patchSchedule({ params: { id: cron.id }, body: { cron: '30 18 * * *', enabled: false } });
    expect(patched).toMatchObject({ cron: '30 18 * * *', enabled: false });
    await rejects(h.client.patchSchedule({ params: { id: cron.id }, body: { timezone: 'Mars/Olympus' } }), 400, 'VALIDATION_FAILED');
    await rejects(h.client.createSchedule({ body: { agent: 'coder', message: 'x', cron: 'every day' } }), 400, 'VALIDATION_FAILED');
    await rejects(h.client.createSchedule({ body: { agent: 'coder', message: 'x', runAt: Date.now() - 1000 } }), 400, 'VALIDATION_FAILED');
    await rejects(h.client.createSchedule({ body: { agent: 'coder', message: 'x' } }), 400, 'VALIDATION_FAILED');
    await rejects(h.client.createSchedule({ body: { agent: 'ghost', message: 'x', cron: '* * * * *' } }), 404, 'AGENT_NOT_FOUND');
    await rejects(h.client.createSchedule({ body: { label: 'standup', agent: 'coder', message: 'x', cron: '* * * * *' } }), 409, 'ALREADY_EXISTS');
    await rejects(h.client.getSchedule({ params: { id: 'nope' } }), 404, 'SCHEDULE_NOT_FOUND');
    await bad('GET', '/api/schedules?agent=', 400, 'VALIDATION_FAILED');
    expect(await h.client.deleteSchedule({ params: { id: 'standup' } })).toEqual({ ok: true });
    await rejects(h.client.deleteSchedule({ params: { id: 'standup' } }), 404, 'SCHEDULE_NOT_FOUND');
  });
});

describe('schedules: run now and history', () => {
  it('runs a schedule now (also disabled) without changing its timing; the history lists firings newest first with their conversations', async () => {
    const s = await h.client.createSchedule({ body: { label: 'nightly', agent: 'coder', message: 'nightly report', cron: '0 3 * * *', timezone: 'UTC' } });
    const other = await h.client.createSchedule({ body: { label: 'other', agent: 'coder', message: 'other', cron: '0 4 * * *' } });
    expect((await h.client.scheduleHistory({ params: { id: 'nightly' } })).firings).toEqual([]);

    const first = await h.client.runSchedule({ params: { id: 'nightly' } });
    expect(first.conversationId).toMatch(/\S/);
    await h.client.patchSchedule({ params: { id: s.id }, body: { enabled: false } });
    const second = await h.client.runSchedule({ params: { id: s.id } });
    expect(second.messageId).not.toBe(first.messageId);
    await h.client.runSchedule({ params: { id: other.id } });

    const after = await h.client.getSchedule({ params: { id: s.id } });
    expect(after).toMatchObject({ nextRunAt: s.nextRunAt, lastFiredAt: null, enabled: false });
    const message = await h.client.getMessage({ params: { id: first.messageId } });
    expect(message.message).toMatchObject({ agentId: 'coder', conversationId: first.conversationId, kind: 'schedule', sender: 'schedule:nightly', content: 'nightly report' });

    await waitFor(async () => (await h.client.scheduleHistory({ params: { id: 'nightly' } })).firings.every((f) => f.status === 'completed'));
    const { firings } = await h.client.scheduleHistory({ params: { id: 'nightly' } });
    expect(firings).toEqual([
      { firedAt: second.firedAt, dueAt: null, missed: false, messageId: second.messageId, conversationId: second.conversationId, status: 'completed' },
      { firedAt: first.firedAt, dueAt: null, missed: false, messageId: first.messageId, conversationId: first.conversationId, status: 'completed' },
    ]);
    expect((await h.client.scheduleHistory({ params: { id: 'nightly' }, query: { limit: 1 } })).firings.map((f) => f.messageId)).toEqual([second.messageId]);
    await rejects(h.client.runSchedule({ params: { id: 'nope' } }), 404, 'SCHEDULE_NOT_FOUND');
    await rejects(h.client.scheduleHistory({ params: { id: 'nope' } }), 404, 'SCHEDULE_NOT_FOUND');
    await bad('GET', '/api/schedules/nightly/history?limit=0', 400, 'VALIDATION_FAILED');
    await h.client.deleteSchedule({ params: { id: s.id } });
    await h.client.deleteSchedule({ params: { id: other.id } });
  });
});

describe('tasks, projects, comments', () => {
  it('projects with prefixes; tasks CRUD with identifiers; comments', async () => {
    const project = await h.client.createProject({ body: { name: 'Website Redesign' } });
    expect(project.prefix).toBe('WR');
    await rejects(h.client.createProject({ body: { name: 'Other', prefix: 'WR' } }), 409, 'ALREADY_EXISTS');
    await bad('POST', '/api/projects', 400, 'VALIDATION_FAILED', '{"name":"x","prefix":"lower"}');
    expect((await h.client.listProjects()).map((p) => p.id)).toContain(project.id);
    await bad('GET', '/api/projects?x=1', 400, 'VALIDATION_FAILED');
    expect(await h.client.getProject({ params: { id: project.id } })).toEqual(project);
    await rejects(h.client.getProject({ params: { id: 'proj_nope' } }), 404, 'PROJECT_NOT_FOUND');
    expect(await h.client.patchProject({ params: { id: project.id }, body: { description: 'new look' } })).toMatchObject({ description: 'new look' });
    await rejects(h.client.patchProject({ params: { id: 'proj_nope' }, body: { name: 'x' } }), 404, 'PROJECT_NOT_FOUND');
    expect(project.archivedAt).toBeNull();
    const archived = await h.client.patchProject({ params: { id: project.id }, body: { archived: true } });
    expect(archived.archivedAt).toEqual(expect.any(Number));
    // Archiving again keeps the first time; restoring clears it and keeps the rest.
    expect((await h.client.patchProject({ params: { id: project.id }, body: { archived: true } })).archivedAt).toBe(archived.archivedAt);
    expect(await h.client.patchProject({ params: { id: project.id }, body: { archived: false } })).toMatchObject({ archivedAt: null, description: 'new look' });

    const t1 = await h.client.createTask({ body: { title: 'Hero image', projectId: project.id } });
    const t2 = await h.client.createTask({ body: { title: 'Footer', projectId: project.id, status: 'todo' } });
    expect([t1.identifier, t2.identifier]).toEqual(['WR-1', 'WR-2']);
    expect((await h.client.getTask({ params: { id: 'wr-1' } })).id).toBe(t1.id);
    await rejects(h.client.createTask({ body: { title: 'x', assigneeAgent: 'ghost' } }), 404, 'AGENT_NOT_FOUND');
    await bad('POST', '/api/tasks', 400, 'VALIDATION_FAILED', '{"title":"x","status":"someday"}');
    expect((await h.client.listTasks({ query: { projectId: project.id, status: 'todo' } })).map((t) => t.id)).toEqual([t2.id]);
    await bad('GET', '/api/tasks?status=doing', 400, 'VALIDATION_FAILED');

    const comment = await h.client.addComment({ params: { id: t1.id }, body: { content: 'Use the new logo', author: 'ada' } });
    expect(await h.client.listComments({ params: { id: t1.id } })).toEqual([comment]);
    expect((await h.client.getTask({ params: { id: t1.id } })).commentCount).toBe(1);
    await bad('POST', `/api/tasks/${t1.id}/comments`, 400, 'VALIDATION_FAILED', '{"content":""}');
    await rejects(h.client.listComments({ params: { id: 'task_nope' } }), 404, 'TASK_NOT_FOUND');
    expect(await h.client.deleteComment({ params: { id: comment.id } })).toEqual({ ok: true });
    await rejects(h.client.deleteComment({ params: { id: comment.id } }), 404, 'COMMENT_NOT_FOUND');
    await bad('DELETE', '/api/comments/abc', 400, 'VALIDATION_FAILED');

    expect(await h.client.patchTask({ params: { id: t1.id }, body: { title: 'Hero video' } })).toMatchObject({ title: 'Hero video', status: 'backlog' });
    await bad('PATCH', `/api/tasks/${t1.id}`, 400, 'VALIDATION_FAILED', '{"stauts":"done"}');
    await rejects(h.client.getTask({ params: { id: 'task_nope' } }), 404, 'TASK_NOT_FOUND');

    expect(await h.client.deleteProject({ params: { id: project.id } })).toEqual({ ok: true });
    expect((await h.client.getTask({ params: { id: t1.id } })).projectId).toBeNull();
    await rejects(h.client.deleteProject({ params: { id: project.id } }), 404, 'PROJECT_NOT_FOUND');
    expect(await h.client.deleteTask({ params: { id: t2.id } })).toEqual({ ok: true });
    await rejects(h.client.deleteTask({ params: { id: t2.id } }), 404, 'TASK_NOT_FOUND');
  });

  it('moving an assigned task to in_progress dispatches it with a [task:ID] tag', async () => {
    const task = await h.client.createTask({ body: { title: 'Write tests', description: 'for the API', assigneeAgent: 'reviewer', status: 'todo' } });
    expect(task.conversationId).toBeNull();
    const moved = await h.client.patchTask({ params: { id: task.id }, body: { status: 'in_progress' } });
    expect(moved.conversationId).toMatch(/^conv_/);
    const tree = await h.client.getTranscript({ params: { id: moved.conversationId! } });
    expect(tree.entries[0]?.text).toContain(`[task:${task.id}]`);
    // The conversation is titled by the task's name; the tag is for the agent, not for people.
    expect((await h.client.getConversation({ params: { id: moved.conversationId! } })).conversation.title).toMatch(/^T-1: Write tests/);
    // Moving it again within in_progress does not dispatch twice.
    const again = await h.client.patchTask({ params: { id: task.id }, body: { position: 5 } });
    expect(again.conversationId).toBe(moved.conversationId);
  });

  it('a repository-bound task gets a review comment and is sent back; in review it is merged (worktree removed, done); its diff is read; a project lists its worktrees (docs/git-tasks.md)', async () => {
    const fx = gitRepos();
    const project = await h.client.createProject({ body: { name: 'Bound', repo: { path: fx.repoDir, worktreeRoot: join(fx.root, 'worktrees') } } });
    const task = await h.client.createTask({ body: { title: 'Merge me', projectId: project.id, assigneeAgent: 'reviewer', status: 'in_progress' } });
    const worktree = task.git!.worktreePath!;
    const tip = commitFile(worktree, 'merged.txt', 'merged\n');
    expect((await h.client.listProjectWorktrees({ params: { id: project.id } })).map((w) => [w.path, w.head, w.abandoned])).toEqual([[worktree, tip, false]]);
    await rejects(h.client.listProjectWorktrees({ params: { id: 'proj_nope' } }), 404, 'PROJECT_NOT_FOUND');
    await rejects(h.client.removeProjectWorktree({ params: { id: project.id }, body: { path: worktree } }), 409, 'WORKTREE_UNSAFE');
    // A path no worktree has (any more): nothing to remove.
    expect(await h.client.removeProjectWorktree({ params: { id: project.id }, body: { path: join(fx.root, 'worktrees', 'gone') } })).toEqual({ removed: false, branchDeleted: false, lost: [] });
    // The retention (docs/git-tasks.md): a sweep keeps the worktree of a task in progress, saying why; the report is read back.
    const swept = await h.client.sweepProjectRetention({ params: { id: project.id } });
    expect(swept.kept.map((k) => [k.path, k.reason, k.atRisk])).toEqual([[worktree, expect.stringMatching(/^in use: task \S+ is in progress$/), false]]);
    expect(swept.removed).toEqual([]);
    expect(await h.client.getProjectRetention({ params: { id: project.id } })).toEqual(swept);
    await rejects(h.client.getProjectRetention({ params: { id: 'proj_nope' } }), 404, 'PROJECT_NOT_FOUND');
    await rejects(h.client.sweepProjectRetention({ params: { id: 'proj_nope' } }), 404, 'PROJECT_NOT_FOUND');
    expect((await h.client.getTaskDiff({ params: { id: task.id } })).files.map((f) => [f.path, f.status, f.additions])).toEqual([['merged.txt', 'added', 1]]);
    await rejects(h.client.getTaskDiff({ params: { id: 'task_nope' } }), 404, 'TASK_NOT_FOUND');
    await rejects(h.client.mergeTask({ params: { id: task.id }, body: {} }), 409, 'INVALID_STATE');
    await rejects(h.client.checkTask({ params: { id: 'task_nope' } }), 404, 'TASK_NOT_FOUND');
    // A review comment on a line of the diff, sent to the owner by a request for changes; the task is back in progress.
    const review = await h.client.addComment({ params: { id: task.id }, body: { content: 'Say why.', anchor: { path: 'merged.txt', line: 1 } } });
    expect(review).toMatchObject({ anchor: { path: 'merged.txt', line: 1, side: 'new', commitSha: tip }, sentRound: null });
    await rejects(h.client.addComment({ params: { id: task.id }, body: { content: 'x', anchor: { path: 'nope.txt', line: 1 } } }), 400, 'INVALID_PATH');
    await rejects(h.client.requestChanges({ params: { id: task.id }, body: {} }), 409, 'INVALID_STATE');
    await h.client.patchTask({ params: { id: task.id }, body: { status: 'review' } });
    const asked = await h.client.requestChanges({ params: { id: task.id }, body: { summary: 'One thing.' } });
    expect(asked).toMatchObject({ task: { status: 'in_progress', conversationId: asked.sent.conversationId }, sent: { round: 1, commentIds: [review.id, review.id + 1] } });
    await bad('POST', `/api/tasks/${task.id}/request-changes`, 400, 'VALIDATION_FAILED', '{"summary":""}');
    // The owner's run works in the worktree: it ends before the merge removes it.
    for (const conversationId of [task.conversationId!, asked.sent.conversationId])
      await waitFor(async () => (await eventsOf(h.stores, { conversationId, types: ['conversation.completed'] })).length > 0, 30_000, 'the task conversation completed');
    // A person has it checked (not only moved to review): it reaches review with its checks passed.
    expect((await h.client.checkTask({ params: { id: task.id } })).status).toBe('checking');
    await waitFor(async () => (await h.client.getTask({ params: { id: task.id } })).status === 'review', 30_000, 'review after the check');
    const merged = await h.client.mergeTask({ params: { id: task.id }, body: { method: 'ff' } });
    expect(merged).toMatchObject({ task: { status: 'done' }, merge: { method: 'ff', tip, commit: tip, created: true }, worktree: { removed: true, branchDeleted: true } });
    await rejects(h.client.mergeTask({ params: { id: 'task_nope' }, body: {} }), 404, 'TASK_NOT_FOUND');
    await bad('POST', `/api/tasks/${task.id}/merge`, 400, 'VALIDATION_FAILED', '{"method":"rebase"}');
  });

  it('a task of a project with a GitHub forge is synced with its pull request, opened on the first sync after its checks passed (test-kit stand-in; docs/git-tasks.md slice 7)', async () => {
    const gh = await startGitHubStandIn();
    const fx = gitRepos();
    sh(fx.repoDir, 'remote', 'add', 'origin', gh.barePath);
    sh(fx.repoDir, 'push', '--quiet', 'origin', 'main');
    const fh = await startHarness({ env: { TINYAGI_TEST_GH_TOKEN: gh.token } });
    try {
      const forge = { kind: 'github' as const, owner: gh.owner, repo: gh.repo, apiUrl: gh.url, tokenEnv: 'TINYAGI_TEST_GH_TOKEN', pollSeconds: 0 };
      const project = await fh.client.createProject({ body: { name: 'Forge', repo: { path: fx.repoDir, remote: 'origin', baseRef: 'origin/main', worktreeRoot: join(fx.root, 'worktrees'), forge } } });
      const task = await fh.client.createTask({ body: { title: 'Sync me', projectId: project.id, status: 'todo' } });
      await rejects(fh.client.syncTaskForge({ params: { id: task.id } }), 409, 'INVALID_STATE');
      // Its branch pushed and its checks passed, as the daemon records them.
      const branch = 'tinyagi/FOR-1-sync-me';
      sh(fx.repoDir, 'checkout', '--quiet', '-b', branch);
      const tip = commitFile(fx.repoDir, 'a.txt', 'a\n');
      sh(fx.repoDir, 'push', '--quiet', 'origin', branch);
      sh(fx.repoDir, 'checkout', '--quiet', 'main');
      const at = Date.now();
      const check = { state: 'passed' as const, headSha: tip, startedAt: at, finishedAt: at, commits: 1, uncommitted: [], pushed: true, checks: [], missing: [], error: null };
      await fh.stores.tasks.setTaskGit(task.id, { state: 'ready', branch, worktreePath: null, headSha: tip, error: null, check, updatedAt: at });
      await fh.stores.tasks.updateTask(task.id, { status: 'review' });
      const synced = await fh.client.syncTaskForge({ params: { id: task.id } });
      expect(synced).toMatchObject({ pullRequest: { number: 1, headRef: branch, baseRef: 'main' }, headSha: tip, checkRuns: [], sent: null, task: { status: 'review' } });
      await rejects(fh.client.syncTaskForge({ params: { id: 'task_nope' } }), 404, 'TASK_NOT_FOUND');
    } finally {
      await fh.close();
      await gh.close();
    }
  });

  it('reorder sets status and position in one transaction and dispatches tasks entering in_progress', async () => {
    const a = await h.client.createTask({ body: { title: 'A', status: 'todo', assigneeTeam: 'dev' } });
    const b = await h.client.createTask({ body: { title: 'B', status: 'todo' } });
    const result = await h.client.reorderTasks({ body: { columns: { in_progress: [a.id], todo: [b.id] } } });
    const byId = new Map(result.map((t) => [t.id, t]));
    expect(byId.get(a.id)).toMatchObject({ status: 'in_progress', position: 0, conversationId: expect.stringMatching(/^conv_/) });
    expect(byId.get(b.id)).toMatchObject({ status: 'todo', position: 0, conversationId: null });
    await rejects(h.client.reorderTasks({ body: { columns: { todo: [a.id, a.id] } } }), 409, 'INVALID_STATE');
    await rejects(h.client.reorderTasks({ body: { columns: { todo: ['task_nope'] } } }), 404, 'TASK_NOT_FOUND');
    expect((await h.client.getTask({ params: { id: a.id } })).status).toBe('in_progress');
    await bad('POST', '/api/tasks/reorder', 400, 'VALIDATION_FAILED', '{"columns":{"later":[]}}');
  });
});

describe('usage', () => {
  it('grouped by agent, team, conversation, channel, day', async () => {
    const byAgent = await h.client.usage({ query: { by: 'agent' } });
    expect(byAgent.rows.map((r) => r.key)).toEqual(expect.arrayContaining(['coder', 'reviewer']));
    expect(byAgent.total.runs).toBe(byAgent.rows.reduce((n, r) => n + r.runs, 0));
    const byDay = await h.client.usage({ query: { by: 'day' } });
    expect(byDay.rows[0]?.key).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    const future = await h.client.usage({ query: { by: 'channel', since: Date.now() + 86_400_000 } });
    expect(future.rows).toEqual([]);
    await bad('GET', '/api/usage?by=planet', 400, 'VALIDATION_FAILED');
    const top = await h.client.topConversations({ query: { limit: 3 } });
    expect(top.length).toBeGreaterThan(0);
    expect(top.map((c) => c.costUsd)).toEqual([...top.map((c) => c.costUsd)].sort((a, b) => b - a));
    await bad('GET', '/api/usage/conversations?since=9&until=1', 400, 'RANGE_INVALID');
  });
});

/**
 * The OpenAPI document as served, checked against the contract it is generated from: the same
 * operations, parameters, bodies, responses and security. Schemas are compared by their
 * skeleton (types, property names, required keys, items, enums; `$ref`s resolved) against zod's
 * own JSON Schema of the contract's schema, so a transform that drops or mangles anything fails.
 */
type JsonSchema = Record<string, unknown>;
interface OpenApiOperation {
  operationId?: string;
  parameters?: Array<{ in: string; name: string; required?: boolean }>;
  requestBody?: { required?: boolean; content: Record<string, { schema: JsonSchema }> };
  responses: Record<string, { content?: Record<string, { schema: JsonSchema }> }>;
  security?: unknown[];
  deprecated?: boolean;
}
interface OpenApiDocument {
  openapi: string;
  security?: unknown[];
  components: { schemas: Record<string, JsonSchema>; securitySchemes: Record<string, unknown> };
  paths: Record<string, Record<string, OpenApiOperation>>;
}

async function servedOpenApi(): Promise<OpenApiDocument> {
  const res = await raw(h, 'GET', '/api/openapi.json');
  expect(res.status).toBe(200);
  return res.body as OpenApiDocument;
}

/** `{ $ref: '#/components/schemas/X' }` or `#/$defs/X` replaced by its target, recursively. */
function resolveRefs(schema: unknown, defs: Record<string, JsonSchema>, depth = 0): unknown {
  if (Array.isArray(schema)) return schema.map((s) => resolveRefs(s, defs, depth));
  if (typeof schema !== 'object' || schema === null) return schema;
  const ref = (schema as JsonSchema)['$ref'];
  if (typeof ref === 'string') {
    const name = ref.replace(/^#\/(?:components\/schemas|\$defs)\//, '');
    const target = defs[name];
    if (target === undefined) throw new Error(`unresolved $ref ${ref}`);
    return depth > 20 ? {} : resolveRefs(target, defs, depth + 1);
  }
  return Object.fromEntries(Object.entries(schema).map(([k, v]) => [k, resolveRefs(v, defs, depth)]));
}

/** What a client relies on: types, property names, required keys, items, enums and unions. */
function skeleton(schema: unknown): unknown {
  if (typeof schema !== 'object' || schema === null) return schema;
  const s = schema as JsonSchema;
  const out: JsonSchema = {};
  if (s['type'] !== undefined) out['type'] = s['type'];
  // `const: x` and `enum: [x]` say the same (the OpenAPI transform writes the latter).
  if (s['enum'] !== undefined || s['const'] !== undefined) out['enum'] = s['enum'] ?? [s['const']];
  if (s['required'] !== undefined) out['required'] = [...(s['required'] as string[])].sort();
  if (s['properties'] !== undefined)
    out['properties'] = Object.fromEntries(
      Object.entries(s['properties'] as JsonSchema)
        .map(([k, v]) => [k, skeleton(v)])
        .sort(([a], [b]) => String(a).localeCompare(String(b))),
    );
  if (s['items'] !== undefined) out['items'] = skeleton(s['items']);
  if (typeof s['additionalProperties'] === 'object') out['additionalProperties'] = skeleton(s['additionalProperties']);
  for (const key of ['anyOf', 'oneOf', 'allOf'] as const) if (Array.isArray(s[key])) out[key] = (s[key] as unknown[]).map(skeleton);
  return out;
}

function zodSkeleton(schema: z.ZodType, io: 'input' | 'output'): unknown {
  const json = z.toJSONSchema(schema, { io, target: 'draft-2020-12', unrepresentable: 'any' }) as JsonSchema;
  return skeleton(resolveRefs(json, (json['$defs'] as Record<string, JsonSchema> | undefined) ?? {}));
}

function docSkeleton(doc: OpenApiDocument, schema: JsonSchema | undefined): unknown {
  return skeleton(resolveRefs(schema, doc.components.schemas));
}

/** Top-level keys of a zod object schema, and which of them are required on input. */
function objectKeys(schema: z.ZodType | undefined): Array<{ name: string; required: boolean }> {
  if (!(schema instanceof z.ZodObject)) return [];
  return Object.entries(schema.shape as Record<string, z.ZodType>).map(([name, field]) => ({ name, required: !field.safeParse(undefined).success }));
}

const openApiPath = (path: string): string => path.replace(/:([A-Za-z]+)/g, '{$1}');

describe('run tools', () => {
  it("run tools: the run asks the person and waits (ask_human); reads and updates its conversation's task; only its own token may", async () => {
    // An agent whose turn lasts until it is cancelled: its run is running for as long as the test needs.
    // It says when its turn runs (a progress step): only then may it ask (before, the run is running
    // in the database but its turn has not begun; seen failing under load).
    await h.client.putAgent({
      params: { id: 'asker' },
      body: { name: 'Asker', provider: 'mock', mock: { reply: 'asked', latency_ms: 600_000, replies: [{ match: 'task', progress: [{ status: 'at work' }], latency_ms: 600_000, reply: 'asked' }] } },
    });
    // A task moved to in_progress is dispatched to its agent: the conversation works on it.
    const task = await h.client.createTask({ body: { title: 'a task for the run tools', status: 'in_progress', assigneeAgent: 'asker' } });
    const run = await waitFor(
      async () => {
        const conversationId = (await h.client.getTask({ params: { id: task.id } })).conversationId;
        const root = conversationId ? (await h.client.getConversation({ params: { id: conversationId } })).roots[0] : undefined;
        return conversationId && root?.status === 'running' ? { id: root.runId, conversationId } : undefined;
      },
      20_000,
      'the task run to start',
    );
    await waitFor(async () => (await eventsOf(h.stores, { conversationId: run.conversationId, types: ['run.progress'] }))[0], 10_000, 'the task run to be at work');
    const asRun = createApiClient({ baseUrl: h.url, token: mintRunToken(h.token, run.id, run.conversationId), fetch: recordingFetch });
    expect(await asRun.getRunTask({ params: { id: run.id } })).toMatchObject({ task: { id: task.id, status: 'in_progress', commentCount: 0 }, comments: [] });
    const updated = await asRun.updateRunTask({ params: { id: run.id }, body: { status: 'review', comment: 'done, please check' } });
    expect(updated).toMatchObject({ task: { id: task.id, status: 'review', commentCount: 1 }, comments: [{ author: '@asker', content: 'done, please check' }] });
    await bad('PATCH', `/api/runs/${run.id}/task`, 400, 'VALIDATION_FAILED', '{}');
    // A person may read it too; only the run itself may change it.
    expect((await h.client.getRunTask({ params: { id: run.id } })).task?.status).toBe('review');
    await rejects(h.client.getRunTask({ params: { id: 'run_nope' } }), 404, 'RUN_NOT_FOUND');
    await rejects(h.client.updateRunTask({ params: { id: run.id }, body: { status: 'done' } }), 403, 'SCOPE_FORBIDDEN');
    // The question waits for a person; answered from the approvals API, the run's call returns the answer.
    const asked = asRun.askRunHuman({ params: { id: run.id }, body: { question: 'Ship it?', choices: ['yes', 'no'] } });
    const question = await waitFor(async () => (await h.client.listApprovals({ query: { status: 'pending', kind: 'question' } })).find((a) => a.runId === run.id), 10_000, 'the question');
    expect(question).toMatchObject({ tool: 'ask_human', summary: 'Ship it?', input: { question: 'Ship it?', choices: ['yes', 'no'] } });
    await h.client.decideApproval({ params: { id: question.id }, body: { decision: 'answer', answer: 'yes, ship it', by: 'contract test' } });
    expect(await asked).toEqual({ answered: true, answer: 'yes, ship it', decidedBy: 'contract test' });
    await rejects(h.client.askRunHuman({ params: { id: run.id }, body: { question: 'x' } }), 403, 'SCOPE_FORBIDDEN');
    await bad('POST', `/api/runs/${run.id}/ask`, 400, 'VALIDATION_FAILED', '{"question":""}');
    await h.client.cancelRun({ params: { id: run.id } });
    // Another conversation's run works on no task: nothing to update.
    const sent = await h.client.sendMessage({ body: { message: 'no task here', agent: 'asker' } });
    const plain = await waitFor(
      async () => {
        const d = await h.client.getMessage({ params: { id: sent.messageId } });
        return d.run?.status === 'running' ? d.run : undefined;
      },
      10_000,
      'the plain run to start',
    );
    const asPlain = createApiClient({ baseUrl: h.url, token: mintRunToken(h.token, plain.id, plain.conversationId), fetch: recordingFetch });
    expect(await asPlain.getRunTask({ params: { id: plain.id } })).toEqual({ task: null, comments: [] });
    await rejects(asPlain.updateRunTask({ params: { id: plain.id }, body: { comment: 'x' } }), 404, 'TASK_NOT_FOUND');
    await h.client.cancelRun({ params: { id: plain.id } });
    await h.client.deleteTask({ params: { id: task.id } });
    await h.client.deleteAgent({ params: { id: 'asker' } });
  });
});

describe('memory', () => {
  it("memory: people add, search, decide, edit and retire; a run proposes, recalls and forgets within its own, its teams' and its project's scopes only", async () => {
    // A person's entries, accepted at once; a secret is refused.
    const team = await h.client.createMemory({ body: { scope: { kind: 'team', id: 'dev' }, kind: 'decision', text: 'Releases are tagged on Mondays', by: 'cli' } });
    expect(team).toMatchObject({ status: 'accepted', decidedBy: 'cli', provenance: { proposedBy: 'cli' } });
    const others = await h.client.createMemory({ body: { scope: { kind: 'agent', id: 'reviewer' }, kind: 'fact', text: 'The reviewer reads release notes last' } });
    await rejects(h.client.createMemory({ body: { scope: { kind: 'agent', id: 'coder' }, kind: 'fact', text: 'The key is sk-ant-api03-abcdefghijklmnopqrstuvwx' } }), 400, 'VALIDATION_FAILED');
    expect((await h.client.listMemory({ query: { q: 'when is anything tagged?' } })).map((e) => e.id)).toEqual([team.id]);
    expect((await h.client.listMemory({ query: { scope: 'agent', id: 'reviewer' } })).map((e) => e.id)).toEqual([others.id]);
    await bad('GET', '/api/memory?scope=team', 400, 'VALIDATION_FAILED');
    expect(await h.client.getMemoryRecord({ params: { id: team.id } })).toEqual(team);
    await rejects(h.client.getMemoryRecord({ params: { id: 'mem_nope' } }), 404, 'MEMORY_NOT_FOUND');

    // A running run of coder (member of dev): its token proposes, recalls and forgets.
    const sent = await h.client.sendMessage({ body: { message: 'slow: remember things', agent: 'coder' } });
    const run = await waitFor(
      async () => {
        const d = await h.client.getMessage({ params: { id: sent.messageId } });
        return d.run?.status === 'running' ? d.run : undefined;
      },
      10_000,
      'the run to start',
    );
    const asRun = createApiClient({ baseUrl: h.url, token: mintRunToken(h.token, run.id, run.conversationId), fetch: recordingFetch });
    const proposed = await asRun.rememberForRun({
      params: { id: run.id },
      body: { text: 'Releases are tagged on Tuesdays now', kind: 'decision', reason: 'the person said so', scope: 'team', scopeId: 'dev' },
    });
    expect(proposed.entry).toMatchObject({ status: 'proposed', targetId: team.id, provenance: { runId: run.id, conversationId: run.conversationId, messageId: sent.messageId, proposedBy: '@coder' } });
    expect(proposed.similar.map((e) => e.id)).toEqual([team.id]);
    const own = await asRun.rememberForRun({ params: { id: run.id }, body: { text: 'I keep notes in NOTES.md', kind: 'procedure', reason: 'habit' } });
    expect(own.entry.scope).toEqual({ kind: 'agent', id: 'coder' });
    await rejects(asRun.rememberForRun({ params: { id: run.id }, body: { text: 'x y z', kind: 'fact', reason: 'r', scope: 'agent', scopeId: 'reviewer' } }), 403, 'SCOPE_FORBIDDEN');
    await rejects(asRun.rememberForRun({ params: { id: run.id }, body: { text: 'x y z', kind: 'fact', reason: 'r', scope: 'team', scopeId: 'ops' } }), 403, 'SCOPE_FORBIDDEN');
    await rejects(asRun.rememberForRun({ params: { id: run.id }, body: { text: 'password=hunter2hunter2', kind: 'fact', reason: 'r' } }), 400, 'VALIDATION_FAILED');
    await rejects(h.client.rememberForRun({ params: { id: run.id }, body: { text: 'x', kind: 'fact', reason: 'r' } }), 403, 'SCOPE_FORBIDDEN');

    // A person decides: accepted, the Monday entry is retired; deciding again is refused.
    const accepted = await h.client.decideMemory({ params: { id: proposed.entry.id }, body: { decision: 'accept', by: 'cli' } });
    expect(accepted).toMatchObject({ status: 'accepted', decidedBy: 'cli' });
    expect((await h.client.getMemoryRecord({ params: { id: team.id } })).status).toBe('retired');
    await rejects(h.client.decideMemory({ params: { id: proposed.entry.id }, body: { decision: 'reject' } }), 409, 'INVALID_STATE');

    // Recall reads the run's scopes only: the reviewer's entry is never returned.
    expect((await asRun.recallForRun({ params: { id: run.id }, query: { q: 'releases tagged' } })).map((e) => e.id)).toEqual([accepted.id]);
    expect(await asRun.recallForRun({ params: { id: run.id }, query: { q: 'reviewer release notes' } })).not.toContainEqual(expect.objectContaining({ id: others.id }));
    await rejects(h.client.recallForRun({ params: { id: run.id }, query: { q: 'releases' } }), 403, 'SCOPE_FORBIDDEN');
    expect((await h.client.getMemoryRecord({ params: { id: accepted.id } })).lastUsedAt).not.toBeNull();

    // Forget: a proposal on an entry it reads; another agent's entry is refused.
    const forget = await asRun.forgetForRun({ params: { id: run.id }, body: { id: accepted.id, reason: 'we stopped tagging' } });
    expect(forget.entry).toMatchObject({ action: 'forget', status: 'proposed', targetId: accepted.id });
    await rejects(asRun.forgetForRun({ params: { id: run.id }, body: { id: others.id, reason: 'r' } }), 403, 'SCOPE_FORBIDDEN');
    await h.client.decideMemory({ params: { id: forget.entry.id }, body: { decision: 'reject', by: 'cli' } });

    // A person edits and retires accepted entries.
    expect(await h.client.updateMemory({ params: { id: accepted.id }, body: { pinned: true } })).toMatchObject({ pinned: true });
    await bad('PATCH', `/api/memory/${accepted.id}`, 400, 'VALIDATION_FAILED', '{}');
    expect(await h.client.retireMemory({ params: { id: accepted.id }, body: {} })).toMatchObject({ status: 'retired' });
    await rejects(h.client.retireMemory({ params: { id: accepted.id }, body: {} }), 409, 'INVALID_STATE');
    await rejects(h.client.updateMemory({ params: { id: accepted.id }, body: { pinned: false } }), 409, 'INVALID_STATE');

    expect(await asRun.getRunMemoryInjection({ params: { id: run.id } })).toBeNull();
    await rejects(h.client.getRunMemoryInjection({ params: { id: 'run_nope' } }), 404, 'RUN_NOT_FOUND');
    await h.client.cancelRun({ params: { id: run.id } });
  });
  it("memory files: an agent's workspace memory/*.md import once (decided by import), given files too; export writes them back in the same form", async () => {
    const dir = join(h.home, 'workspace', 'coder', 'memory', 'people');
    mkdirSync(dir, { recursive: true });
    const carol = '---\nname: Carol\nsummary: Carol prefers French\n---\n\nCarol, at ACME, prefers answers in French.\n';
    writeFileSync(join(dir, 'carol.md'), carol);
    const first = await h.client.importMemory({ body: { agentId: 'coder' } });
    expect(first.imported.map((e) => [e.provenance.proposedBy, e.decidedBy, e.status])).toEqual([['import:memory/people/carol.md', 'import', 'accepted']]);
    expect(await h.client.importMemory({ body: { agentId: 'coder' } })).toMatchObject({ imported: [], already: 1 });
    const given = await h.client.importMemory({
      body: {
        agentId: 'coder',
        files: [
          { path: 'x/../y.md', content: carol },
          { path: 'team.md', content: '---\nname: Team\nsummary: We ship on Thursdays\n---\n' },
        ],
      },
    });
    expect(given).toMatchObject({ already: 0, skipped: [{ path: 'x/../y.md', reason: 'not a relative path inside memory/' }] });
    expect(await h.client.exportMemory({ query: { agent: 'coder' } })).toEqual([
      { path: 'people/carol.md', content: carol },
      { path: 'team.md', content: '---\nname: Team\nsummary: We ship on Thursdays\n---\n' },
    ]);
    await rejects(h.client.importMemory({ body: { agentId: 'nobody' } }), 404, 'AGENT_NOT_FOUND');
    await bad('POST', '/api/memory/import', 400, 'VALIDATION_FAILED', '{"agentId":"coder","files":[{"path":"a.md"}]}');
    await bad('GET', '/api/memory/export', 400, 'VALIDATION_FAILED');
    for (const e of [...first.imported, ...given.imported]) await h.client.retireMemory({ params: { id: e.id }, body: {} });
  });
});

describe('workflows', () => {
  it('forecast, start, list, read, cancel and resume a run; a relative file, an unknown run and an ended run are refused (docs/workflows.md)', async () => {
    const dir = join(h.home, 'workflows');
    mkdirSync(dir, { recursive: true });
    const slow = join(dir, 'slow.mjs');
    writeFileSync(slow, "export default async (wf) => wf.agent('coder', 'slow work');");
    expect((await h.client.forecastWorkflow({ body: { file: slow } })).forecast).toMatchObject({ steps: 1, complete: true, agents: [{ agentId: 'coder' }] });
    await rejects(h.client.forecastWorkflow({ body: { file: slow, budgetUsd: 1 } as never }), 400, 'VALIDATION_FAILED');
    const { run } = await h.client.startWorkflow({ body: { file: slow, input: { n: 1 } } });
    expect(run).toMatchObject({ name: 'slow', file: slow, input: { n: 1 }, status: 'running' });
    await rejects(h.client.startWorkflow({ body: { file: 'workflows/slow.mjs' } }), 400, 'VALIDATION_FAILED');
    expect((await h.client.listWorkflowRuns({ query: { status: 'running' } })).runs.map((r) => r.id)).toContain(run.id);
    await rejects(h.client.listWorkflowRuns({ query: { limit: 0 } }), 400, 'VALIDATION_FAILED');
    await waitFor(async () => (await h.client.getWorkflowRun({ params: { id: run.id } })).steps[0]?.conversationId, 15_000, 'the agent step sent');
    await rejects(h.client.getWorkflowRun({ params: { id: 'wf_nobody' } }), 404, 'WORKFLOW_NOT_FOUND');
    expect((await h.client.cancelWorkflowRun({ params: { id: run.id } })).run.status).toBe('cancelled');
    await rejects(h.client.cancelWorkflowRun({ params: { id: run.id } }), 409, 'INVALID_STATE');

    const throws = join(dir, 'throws.mjs');
    writeFileSync(throws, "export default async () => { throw new Error('always'); };");
    const { run: failing } = await h.client.startWorkflow({ body: { file: throws } });
    await waitFor(async () => (await h.client.getWorkflowRun({ params: { id: failing.id } })).run.status === 'failed', 15_000, 'the run failed');
    expect((await h.client.resumeWorkflowRun({ params: { id: failing.id }, body: { budgetUsd: 1 } })).run).toMatchObject({ status: 'running', budget: { usd: 1 } });
    await rejects(h.client.resumeWorkflowRun({ params: { id: run.id }, body: {} }), 409, 'INVALID_STATE');

    // Registered workflows: listed from the settings; started by name.
    await h.client.patchSettings({ body: { workflows: { slow: { file: 'slow.mjs', description: 'One slow step' } } } });
    expect((await h.client.listWorkflows()).workflows).toEqual([{ name: 'slow', description: 'One slow step', file: slow, fileExists: true, input: null, agents: [] }]);
    await bad('GET', '/api/workflows?name=slow', 400, 'VALIDATION_FAILED');
    const { run: named } = await h.client.startWorkflow({ body: { workflow: 'slow' } });
    expect(named).toMatchObject({ name: 'slow', registered: 'slow', startedBy: 'person' });
    await h.client.cancelWorkflowRun({ params: { id: named.id } });
    await h.client.patchSettings({ body: { workflows: null } });
  });
});

describe('coverage', () => {
  it('the served OpenAPI document has exactly the contract operations (plus the event stream), with their parameters, schemas and security', async () => {
    const doc = await servedOpenApi();
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.security).toEqual([{ bearer: [] }]);
    expect(doc.components.securitySchemes).toEqual({ bearer: { type: 'http', scheme: 'bearer' } });

    const inDoc = Object.entries(doc.paths).flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => `${method.toUpperCase()} ${path} ${op.operationId}`));
    const expected = [...(Object.entries(apiContract) as Array<[string, RouteDef]>).map(([name, def]) => `${def.method} ${openApiPath(def.path)} ${name}`), `GET ${EVENTS_PATH} events`];
    expect(inDoc.sort()).toEqual(expected.sort());

    const problems: string[] = [];
    const check = (name: string, what: string, actual: unknown, wanted: unknown): void => {
      if (JSON.stringify(actual) !== JSON.stringify(wanted)) problems.push(`${name} ${what}: ${JSON.stringify(actual)} != ${JSON.stringify(wanted)}`);
    };
    for (const [name, def] of Object.entries(apiContract) as Array<[string, RouteDef]>) {
      const op = doc.paths[openApiPath(def.path)]?.[def.method.toLowerCase()];
      if (op === undefined) continue; // reported by the list above
      const params = (op.parameters ?? []).map((p) => `${p.in}:${p.name}:${p.required === true}`).sort();
      const wantedParams = [...objectKeys(def.params).map((p) => `path:${p.name}:true`), ...objectKeys(def.query).map((p) => `query:${p.name}:${p.required}`)].sort();
      check(name, 'parameters', params, wantedParams);

      const body = op.requestBody?.content['application/json']?.schema;
      check(name, 'request body present', body !== undefined, def.body !== undefined);
      if (def.body !== undefined) check(name, 'request body schema', docSkeleton(doc, body), zodSkeleton(def.body, 'input'));

      const status = String(def.status ?? 200);
      check(name, 'response statuses', Object.keys(op.responses).sort(), [status, '4XX', '5XX'].sort());
      const mediaType = def.produces === 'text' ? 'text/markdown' : 'application/json';
      check(name, 'response media types', Object.keys(op.responses[status]?.content ?? {}), [mediaType]);
      check(name, 'response schema', docSkeleton(doc, op.responses[status]?.content?.[mediaType]?.schema), zodSkeleton(def.response, 'output'));
      for (const error of ['4XX', '5XX']) check(name, `${error} schema`, docSkeleton(doc, op.responses[error]?.content?.['application/json']?.schema), zodSkeleton(ErrorBodySchema, 'output'));

      check(name, 'security', op.security, def.auth === 'none' ? [] : undefined);
      check(name, 'deprecated', op.deprecated, def.deprecated);
    }
    const events = doc.paths[EVENTS_PATH]?.['get'];
    check(
      'events',
      'parameters',
      (events?.parameters ?? []).map((p) => `${p.in}:${p.name}`).sort(),
      objectKeys(EventsQuerySchema)
        .map((p) => `query:${p.name}`)
        .sort(),
    );
    expect(problems).toEqual([]);
  });

  it('every operation of the served OpenAPI document answered a 2xx and a 4xx in this file', async () => {
    const doc = await servedOpenApi();
    const missing: string[] = [];
    for (const op of Object.values(doc.paths).flatMap((ops) => Object.values(ops))) {
      const name = op.operationId ?? '(no operationId)';
      // The event stream answers through the SSE plugin, not onSend; events.test.ts covers it.
      if (name === 'events') continue;
      const statuses = [...(answered.get(name) ?? [])];
      if (!statuses.some((s) => s >= 200 && s < 300)) missing.push(`${name}: no 2xx`);
      if (!statuses.some((s) => s >= 400 && s < 500)) missing.push(`${name}: no 4xx`);
    }
    expect(missing).toEqual([]);
  });

  it('every route of the contract was called through the typed client in this file', () => {
    const missing = (Object.entries(apiContract) as Array<[string, RouteDef]>)
      .filter(([, def]) => {
        const pattern = new RegExp(`^${def.method} ${def.path.replace(/:[A-Za-z]+/g, '[^/]+').replace(/\./g, '\\.')}$`);
        return !clientCalls.some((call) => pattern.test(call));
      })
      .map(([name]) => name);
    expect(missing).toEqual([]);
  });

  it('the event stream is documented as a union of every event type, discriminated on type', async () => {
    const doc = await servedOpenApi();
    const schema = doc.paths[EVENTS_PATH]?.['get']?.responses['200']?.content?.['text/event-stream']?.schema;
    const event = resolveRefs(schema, doc.components.schemas) as {
      oneOf?: Array<{ properties: { type: { const?: string; enum?: string[] } } }>;
      anyOf?: unknown;
      discriminator?: { propertyName: string };
    };
    const variants = event.oneOf ?? [];
    const types = variants.map((variant) => variant.properties.type.const ?? variant.properties.type.enum?.[0]);
    expect(types.sort()).toEqual([...EVENT_TYPES].sort());
    expect(docSkeleton(doc, schema)).toEqual(zodSkeleton(EventSchema, 'output'));
  });

  it('no response body contained a planted secret', () => {
    expect(secretLeaks).toEqual([]);
  });
});

describe('the API docs are built on first use', () => {
  it('a server that never serves the docs does not load the swagger plugins; the first request builds them', async () => {
    const fixture = fileURLToPath(new URL('./fixtures/docs-lazy-proc.ts', import.meta.url));
    const { stdout } = await promisify(execFile)(process.execPath, ['--conditions=tinyagi-source', fixture], { encoding: 'utf8' });
    expect(JSON.parse(stdout.trim().split('\n').at(-1)!)).toMatchObject({ afterStart: false, afterDocs: true, docStatus: 200, pageStatus: 200 });
    expect(JSON.parse(stdout.trim().split('\n').at(-1)!).paths).toBeGreaterThan(50);
  });
});
