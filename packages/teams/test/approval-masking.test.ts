/**
 * Secrets a runtime puts in an approval request never leave the desk raw (docs/approvals.md):
 * not only the input but every text it supplies — the summary (an ACP agent's tool title, which
 * quotes the command), the tool name (an ACP tool call without a kind is named by its title) and
 * an `ask_human` question — is masked in the stored row (what `GET /api/approvals` and
 * `tinyagi approvals` show), in the `approval.*` events and in what observers are told.
 */
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { ObserverList, SettingsSchema } from '@tinyagi/core';
import type { ApprovalRecord } from '@tinyagi/core/internal';
import { tempDir, waitFor } from '@tinyagi/test-kit';
import { ApprovalDesk } from '../src/approvals/desk.ts';
import { closeAll, eventsOf, testStores, withWorkspace } from './helpers.ts';

afterEach(closeAll);

const TOKEN = 'sk-live-4f9a2c7e1b8d3f6a0c5e9b2d7f1a4c8e';
const BEARER = 'Zq9xW3vT7pL2mN8kR4sY6uB1';
const PASSWORD = 'hunter2-correct-horse';

async function setUp() {
  const dir = tempDir('tinyagi-approval-masking-');
  const { stores } = await testStores(join(dir, 'tinyagi.db'));
  const settings = withWorkspace(SettingsSchema.parse({ agents: { careful: { provider: 'mock', permission_mode: 'ask' } } }), dir);
  const told: ApprovalRecord[] = [];
  const observers = new ObserverList();
  observers.add({ name: 'recorder', approvalRequested: (e) => told.push(e.approval), approvalSettled: (e) => told.push(e.approval) });
  const desk = new ApprovalDesk({ stores, getSettings: () => settings, env: {}, observers });
  return { stores, desk, told };
}

const run = { id: 'run_masking1', agentId: 'careful', conversationId: 'conv_masking1' };

function expectNoSecret(where: string, value: unknown): void {
  const text = JSON.stringify(value);
  for (const secret of [TOKEN, BEARER, PASSWORD]) expect(text, `${where} holds ${secret}`).not.toContain(secret);
}

it("a permission request's summary and tool name are masked in the row, the events and the observers' payload, as its input is", async () => {
  const { stores, desk, told } = await setUp();
  // What OpenCode sends over ACP: the tool kind, the raw input, and a title quoting the command.
  const command = `PROBE_API_TOKEN=${TOKEN} curl -H "Authorization: Bearer ${BEARER}" https://deploy:${PASSWORD}@example.com/hook`;
  const answer = desk.ask(run, 'session-1', { tool: 'execute', input: { command }, summary: command }, new AbortController().signal);
  // An ACP tool call without a kind is named by its title.
  const untitled = desk.ask(run, 'session-1', { tool: `PROBE_API_TOKEN=${TOKEN} ./deploy.sh`, input: {} }, new AbortController().signal);
  const pending = await waitFor(
    async () => {
      const rows = await stores.approvals.list({ status: 'pending' });
      return rows.length === 2 ? rows : undefined;
    },
    10_000,
    'two pending requests',
  );
  const byTool = (tool: string) => pending.find((r) => (tool === 'execute' ? r.tool === 'execute' : r.tool !== 'execute'))!;

  const titled = byTool('execute');
  expect(titled.summary).toBe('PROBE_API_TOKEN=sk-…4c8e curl -H "Authorization: Bearer Zq9…6uB1" https://deploy:…@example.com/hook');
  expect(titled.input).toEqual({ command: titled.summary });
  const named = byTool('named');
  expect(named.tool).toBe('PROBE_API_TOKEN=sk-…4c8e ./deploy.sh');
  expect(named.summary).toBe('PROBE_API_TOKEN=sk-…4c8e ./deploy.sh: {}');

  for (const row of pending) await desk.decide(row.id, 'deny', 'cli', 'not now');
  expect((await answer).allow).toBe(false);
  expect((await untitled).allow).toBe(false);
  expectNoSecret('the stored rows', await stores.approvals.list({}));
  const events = await eventsOf(stores, { conversationId: run.conversationId, types: ['approval.requested', 'approval.decided'] });
  expect(events).toHaveLength(4);
  expectNoSecret('the approval events', events);
  expect(told).toHaveLength(4);
  expectNoSecret("the observers' payload", told);
});

it("an ask_human question's summary is masked as its input is", async () => {
  const { stores, desk, told } = await setUp();
  const asked = desk.askHuman(run, 'session-1', { question: `Is it fine to rotate GITHUB_TOKEN=${TOKEN} today?` }, new AbortController().signal);
  const row = await waitFor(async () => (await stores.approvals.list({ status: 'pending' }))[0], 10_000, 'the pending question');
  expect(row.summary).toBe('Is it fine to rotate GITHUB_TOKEN=sk-…4c8e today?');
  await desk.decide(row.id, 'answer', 'cli', undefined, 'yes');
  expect(await asked).toMatchObject({ answered: true, answer: 'yes' });
  expectNoSecret('the stored row', await stores.approvals.get(row.id));
  expectNoSecret('the approval events', await eventsOf(stores, { conversationId: run.conversationId }));
  expectNoSecret("the observers' payload", told);
});
