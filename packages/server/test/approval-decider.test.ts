/**
 * An approval's decider is the authenticated caller (docs/approvals.md, "Who answered"): a
 * TinyOffice login is recorded as `tinyoffice` whatever `by` it sends; the API token is `api`,
 * or a client's own label (`cli`, the `x-tinyagi-client` header) that cannot be mistaken for a
 * channel's sender, TinyOffice or the daemon itself: a `by` that could (`telegram:tg-alice`) is
 * refused with 403 and the request stays pending. (A channel token answering for its paired
 * senders: channel-token.test.ts.)
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpRequest, secretLeaks, startHarness, type ServerHarness } from './harness.ts';

let h: ServerHarness;
let runId: string;
let n = 0;
beforeAll(async () => {
  const officeDir = mkdtempSync(join(tmpdir(), 'tinyagi-decider-office-'));
  mkdirSync(join(officeDir, '_next', 'static'), { recursive: true });
  for (const page of ['index.html', 'login.html', '404.html']) writeFileSync(join(officeDir, page), '<!doctype html><title>office</title>');
  h = await startHarness({ officeDir });
  const conversation = await h.stores.runs.createConversation({ rootAgentId: 'coder', channel: 'api' });
  runId = (await h.stores.runs.createRun({ conversationId: conversation.id, agentId: 'coder', cause: 'user' })).id;
});
afterAll(async () => {
  await h?.close();
  expect(secretLeaks).toEqual([]);
});

async function pending(): Promise<string> {
  const now = Date.now();
  const record = await h.stores.approvals.create({
    id: `apr_decider${++n}`,
    kind: 'permission',
    agentId: 'coder',
    runId,
    conversationId: null,
    sessionKey: 'shared',
    tool: 'Bash',
    input: { command: 'make deploy' },
    summary: 'Bash: make deploy',
    requestedAt: now,
    expiresAt: now + 60_000,
  });
  return record.id;
}

async function decide(id: string, body: Record<string, unknown>, headers: Record<string, string>) {
  const res = await httpRequest(h.port, { method: 'POST', path: `/api/approvals/${id}/decision`, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  return { status: res.status, body: JSON.parse(res.text) as { decidedBy?: string; status?: string; error?: { code: string; message: string } } };
}

const apiToken = (): Record<string, string> => ({ authorization: `Bearer ${h.token}` });

async function officeCookie(): Promise<Record<string, string>> {
  const own = `http://127.0.0.1:${h.port}`;
  const minted = await httpRequest(h.port, { method: 'POST', path: '/api/auth/login-code', headers: apiToken() });
  const { code } = JSON.parse(minted.text) as { code: string };
  const res = await httpRequest(h.port, {
    method: 'POST',
    path: '/api/auth/session',
    headers: { 'content-type': 'application/json', origin: own, 'sec-fetch-site': 'same-origin' },
    body: JSON.stringify({ code }),
  });
  expect(res.status).toBe(201);
  const setCookie = res.headers['set-cookie'];
  const cookie = (Array.isArray(setCookie) ? setCookie[0]! : String(setCookie)).split(';')[0]!;
  return { cookie, origin: own, 'sec-fetch-site': 'same-origin' };
}

describe("an approval's decider", () => {
  it('with the API token: a channel sender, TinyOffice or a name of the daemon is refused (403) and the request stays pending', async () => {
    for (const by of ['telegram:tg-alice', 'slack:U1', 'TinyOffice', 'tinyoffice', 'expiry', 'rule', 'restart']) {
      const id = await pending();
      const refused = await decide(id, { decision: 'allow_once', by }, apiToken());
      expect(refused.status, by).toBe(403);
      expect(refused.body.error?.code, by).toBe('SCOPE_FORBIDDEN');
      expect(refused.body.error?.message, by).toContain(by);
      expect((await h.stores.approvals.get(id))?.status, by).toBe('pending');
    }
  });

  it("with the API token: a client's own label is kept (cli, the TUI's header), none at all is api", async () => {
    expect((await decide(await pending(), { decision: 'allow_once', by: 'cli' }, apiToken())).body).toMatchObject({ status: 'allowed', decidedBy: 'cli' });
    expect((await decide(await pending(), { decision: 'deny' }, { ...apiToken(), 'x-tinyagi-client': 'the TUI' })).body).toMatchObject({ status: 'denied', decidedBy: 'the TUI' });
    expect((await decide(await pending(), { decision: 'deny' }, apiToken())).body).toMatchObject({ decidedBy: 'api' });
    // A header naming TinyOffice (or a channel's sender) is no label: recorded as the API token.
    expect((await decide(await pending(), { decision: 'deny' }, { ...apiToken(), 'x-tinyagi-client': 'TinyOffice' })).body).toMatchObject({ decidedBy: 'api' });
  });

  it('with a TinyOffice login: recorded as tinyoffice, whatever name it sends', async () => {
    const office = await officeCookie();
    expect((await decide(await pending(), { decision: 'allow_once', by: 'tinyoffice' }, office)).body).toMatchObject({ status: 'allowed', decidedBy: 'tinyoffice' });
    expect((await decide(await pending(), { decision: 'allow_once', by: 'telegram:tg-alice' }, office)).body).toMatchObject({ status: 'allowed', decidedBy: 'tinyoffice' });
    expect((await decide(await pending(), { decision: 'deny' }, office)).body).toMatchObject({ decidedBy: 'tinyoffice' });
  });
});
