/**
 * A burst of approval requests answered at once (docs/approvals.md, "A burst of requests"): the
 * pending requests grouped by what they ask, and one answer for a group or a list of ids, each
 * request decided and recorded on its own with the batch's id; one answered in between, gone, or
 * not fitting the answer comes back in `skipped`, unchanged.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApprovalBatchResult, ApprovalGroup } from '@tinyagi/client/contract';
import { httpRequest, startHarness, type ServerHarness } from './harness.ts';

let h: ServerHarness;
let runId: string;
let n = 0;
beforeAll(async () => {
  h = await startHarness();
  const conversation = await h.stores.runs.createConversation({ rootAgentId: 'coder', channel: 'api' });
  runId = (await h.stores.runs.createRun({ conversationId: conversation.id, agentId: 'coder', cause: 'user' })).id;
});
afterAll(async () => {
  await h?.close();
});

async function ask(agentId: string, tool: string, input: Record<string, unknown>, kind: 'permission' | 'egress' = 'permission'): Promise<string> {
  const now = Date.now() + n;
  const record = await h.stores.approvals.create({
    id: `apr_batch${++n}`,
    kind,
    agentId,
    runId,
    conversationId: null,
    sessionKey: 'shared',
    tool,
    input,
    summary: `${tool}: ${JSON.stringify(input)}`,
    requestedAt: now,
    expiresAt: now + 60_000,
  });
  return record.id;
}

async function api<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; body: T & { error?: { code: string; message: string } } }> {
  const res = await httpRequest(h.port, {
    method,
    path,
    headers: { authorization: `Bearer ${h.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: JSON.parse(res.text) };
}

describe('a burst of approval requests', () => {
  it('is grouped by what it asks, and one answer decides a group, each request recorded on its own', async () => {
    const installs = [
      await ask('a1', 'Bash', { command: 'npm install left-pad' }),
      await ask('a2', 'Bash', { command: 'cd web && npm install --save react' }),
      await ask('a2', 'commandExecution', { command: ['bash', '-lc', 'npm install x'] }),
      await ask('a3', 'Bash', { command: 'npm install is-odd' }),
    ];
    const pushes = [await ask('a1', 'Bash', { command: 'git push origin main' }), await ask('a4', 'Bash', { command: 'git push' })];
    const host = await ask('a3', 'egress', { host: 'pypi.org', port: 443 }, 'egress');

    const groups = (await api<ApprovalGroup[]>('GET', '/api/approvals/groups')).body;
    expect(groups.map((g) => [g.key, g.count, g.agents])).toEqual([
      ['Bash: npm install', 3, ['a1', 'a2', 'a3']],
      ['Bash: git push', 2, ['a1', 'a4']],
      ['commandExecution: npm install', 1, ['a2']],
      ['Connect to pypi.org:443', 1, ['a3']],
    ]);
    const npm = groups[0]!;
    expect(npm.ids).toEqual([installs[0], installs[1], installs[3]]);
    expect(npm.sample.map((s) => s.id)).toEqual(npm.ids);
    expect(npm.answers).toEqual(['allow_once', 'allow_session', 'allow_always', 'deny']);
    expect(groups[3]!.answers).toEqual(['allow_once', 'allow_always', 'deny']);

    // One of the group is answered elsewhere in between: the group's answer leaves it as it is.
    await api('POST', `/api/approvals/${installs[1]}/decision`, { decision: 'deny', by: 'tui' });
    const result = (await api<ApprovalBatchResult>('POST', '/api/approvals/decisions', { group: 'Bash: npm install', decision: 'allow_once', by: 'cli' })).body;
    expect(result.decided.map((d) => [d.id, d.status, d.decidedBy, d.batchId])).toEqual([
      [installs[0], 'allowed', 'cli', result.batchId],
      [installs[3], 'allowed', 'cli', result.batchId],
    ]);
    expect(result.skipped).toEqual([]);
    const stored = await h.stores.approvals.get(installs[3]!);
    expect([stored?.decision, stored?.decidedBy, stored?.batchId, typeof stored?.decidedAt]).toEqual(['allow_once', 'cli', result.batchId, 'number']);
    expect((await h.stores.approvals.get(installs[1]!))?.decidedBy).toBe('tui');

    // A list of ids: one decided in between, one gone, one the answer does not fit: each reported, none changed.
    await api('POST', `/api/approvals/${pushes[1]}/decision`, { decision: 'allow_once', by: 'tui' });
    const mixed = (await api<ApprovalBatchResult>('POST', '/api/approvals/decisions', { ids: [pushes[0], pushes[1], 'apr_gone', host], decision: 'allow_session', by: 'cli' })).body;
    expect(mixed.decided.map((d) => d.id)).toEqual([pushes[0]]);
    expect(mixed.skipped.map((s) => [s.id, s.why, s.approval?.decidedBy])).toEqual([
      [pushes[1], 'decided', 'tui'],
      ['apr_gone', 'not_found', undefined],
      [host, 'invalid', undefined],
    ]);
    expect((await h.stores.approvals.get(host))?.status).toBe('pending');
    expect((await h.stores.approvals.get(pushes[1]!))?.batchId).toBeUndefined();
  });

  it('refuses a batch that names both ids and a group, and a group with nothing pending', async () => {
    const both = await api('POST', '/api/approvals/decisions', { ids: ['apr_x'], group: 'Bash: ls', decision: 'deny' });
    expect([both.status, both.body.error?.code]).toEqual([400, 'VALIDATION_FAILED']);
    const none = await api('POST', '/api/approvals/decisions', { group: 'Bash: nothing here', decision: 'deny' });
    expect([none.status, none.body.error?.code]).toEqual([404, 'APPROVAL_NOT_FOUND']);
  });
});
