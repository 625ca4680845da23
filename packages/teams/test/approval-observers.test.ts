/**
 * The observer seam's approval and budget hooks (core's observe/, docs/observers.md) on the run's
 * backend (also on PostgreSQL, in `test:pg`: a second node's desk exists only there, and there a
 * commit is asynchronous): the approval desk tells `approvalRequested` once the request's row is written and
 * `approvalSettled` once per request, from the node whose run waits on it and before the asker
 * gets the answer, whoever decided (this desk, another node's desk over the same database, seen by
 * the waiter's poll, expiry, cancel); a conversation crossing its soft limit is told once
 * (`budgetWarning`), after its commit and before the run's `runEnded`.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ObserverList, SettingsSchema, type NotificationEvents, type Observer, type Settings } from '@tinyagi/core';
import type { StoreSet } from '@tinyagi/core/internal';
import { tempDir, waitFor } from '@tinyagi/test-kit';
import { ApprovalDesk } from '../src/approvals/desk.ts';
import { closeAll, eventsOf, harness, testStores, waitForCompletion, withWorkspace } from './helpers.ts';

afterEach(closeAll);

type Heard = { hook: 'approvalRequested' | 'approvalSettled'; event: NotificationEvents['approvalSettled'] } | { hook: 'answer'; allow: boolean };

/** A desk (one node's) with an observer recording what it is told, in order with the asker's answers. */
function deskOn(stores: StoreSet, settings: Settings, heard: Heard[]): ApprovalDesk {
  const observers = new ObserverList();
  observers.add({
    name: 'recorder',
    approvalRequested: (event) => heard.push({ hook: 'approvalRequested', event }),
    approvalSettled: (event) => heard.push({ hook: 'approvalSettled', event }),
  });
  return new ApprovalDesk({ stores, getSettings: () => settings, env: {}, observers });
}

async function setUp(agent: Record<string, unknown> = { provider: 'mock', permission_mode: 'ask' }) {
  const dir = tempDir('tinyagi-approval-observers-');
  const { stores } = await testStores(join(dir, 'tinyagi.db'));
  const settings = withWorkspace(SettingsSchema.parse({ agents: { careful: agent } }), dir);
  return { stores, settings };
}

const run = { id: 'run_approvals1', agentId: 'careful', conversationId: 'conv_approvals1' };
const hooks = (heard: Heard[]) => heard.map((h) => h.hook);

function ask(desk: ApprovalDesk, heard: Heard[], signal = new AbortController().signal) {
  return desk.ask(run, 'session-1', { tool: 'Bash', input: { command: 'rm -rf build' } }, signal).then((answer) => {
    heard.push({ hook: 'answer', allow: answer.allow });
    return answer;
  });
}

async function requested(stores: StoreSet, heard: Heard[]) {
  const told = await waitFor(() => heard.find((h) => h.hook === 'approvalRequested'), 10_000, 'approvalRequested');
  const id = (told as { event: NotificationEvents['approvalRequested'] }).event.approval.id;
  expect(await stores.approvals.get(id), 'the row is written when told').toMatchObject({ id, status: 'pending', runId: run.id });
  return id;
}

describe('approval hooks', () => {
  it('a request decided on its own node: requested, then settled once, before the asker has the answer', async () => {
    const { stores, settings } = await setUp();
    const heard: Heard[] = [];
    const desk = deskOn(stores, settings, heard);
    const answer = ask(desk, heard);
    const id = await requested(stores, heard);
    await desk.decide(id, 'allow_once', 'cli');
    expect((await answer).allow).toBe(true);
    expect(hooks(heard)).toEqual(['approvalRequested', 'approvalSettled', 'answer']);
    const settled = heard[1] as { event: NotificationEvents['approvalSettled'] };
    expect(settled.event.approval).toMatchObject({ id, status: 'allowed', decision: 'allow_once', decidedBy: 'cli', runId: run.id, agentId: 'careful' });
    // A late second answer changes nothing and tells nothing.
    await expect(desk.decide(id, 'deny', 'cli')).rejects.toThrow(/already answered/);
    expect(hooks(heard)).toEqual(['approvalRequested', 'approvalSettled', 'answer']);
  });

  it('decided on another node (a second desk over the same database): settled once, by the waiting node, when its poll sees it; the deciding node is told nothing', async () => {
    const { stores, settings } = await setUp();
    const here: Heard[] = [];
    const there: Heard[] = [];
    const waiting = deskOn(stores, settings, here);
    const other = deskOn(stores, settings, there);
    const answer = ask(waiting, here);
    const id = await requested(stores, here);
    await other.decide(id, 'deny', 'telegram:ana', 'not today');
    expect(there).toEqual([]);
    const denied = await answer;
    expect(denied.allow).toBe(false);
    expect(hooks(here)).toEqual(['approvalRequested', 'approvalSettled', 'answer']);
    expect((here[1] as { event: NotificationEvents['approvalSettled'] }).event.approval).toMatchObject({ id, status: 'denied', decidedBy: 'telegram:ana', reason: 'not today' });
    expect(there).toEqual([]);
  });

  it('expiry and cancel settle it too, once, before the answer', async () => {
    const { stores, settings } = await setUp({ provider: 'mock', permission_mode: 'ask', permissions: { expires_s: 0.2, on_expiry: 'deny' } });
    const heard: Heard[] = [];
    const desk = deskOn(stores, settings, heard);
    expect((await ask(desk, heard)).allow).toBe(false);
    expect(hooks(heard)).toEqual(['approvalRequested', 'approvalSettled', 'answer']);
    expect((heard[1] as { event: NotificationEvents['approvalSettled'] }).event.approval).toMatchObject({ status: 'expired', decidedBy: 'expiry' });

    heard.length = 0;
    const long = withWorkspace(SettingsSchema.parse({ agents: { careful: { provider: 'mock', permission_mode: 'ask' } } }), tempDir('tinyagi-approval-observers-'));
    const patient = deskOn(stores, long, heard);
    const controller = new AbortController();
    const answer = ask(patient, heard, controller.signal);
    await requested(stores, heard);
    controller.abort('cancelled');
    expect((await answer).allow).toBe(false);
    expect(hooks(heard)).toEqual(['approvalRequested', 'approvalSettled', 'answer']);
    expect((heard[1] as { event: NotificationEvents['approvalSettled'] }).event.approval).toMatchObject({ status: 'cancelled', decidedBy: 'cancelled' });
  });
});

describe('budget warning hook', () => {
  it('a conversation crossing its soft limit: told once, after the commit (the warning is in the log), before the run ends', async () => {
    const order: string[] = [];
    const warnings: Array<{ event: NotificationEvents['budgetWarning']; read: Promise<{ softWarned: boolean } | undefined> }> = [];
    let stores!: StoreSet;
    const observer: Observer = {
      name: 'budget-recorder',
      budgetWarning: (event) => {
        order.push(`budgetWarning ${event.run.id}`);
        // Read as it is told (SQLite: synchronously, now; PostgreSQL: the query starts now): the commit is there.
        warnings.push({ event, read: Promise.resolve(stores.runs.getConversation(event.conversationId)) });
      },
      runEnded: (event) => order.push(`runEnded ${event.run.id}`),
    };
    const h = await harness(
      {
        agents: { bot: { provider: 'mock', mock: { reply: 'done', usage: { input_tokens: 150, output_tokens: 100 } } } },
        budgets: { conversation_tokens: 400, soft_limit_fraction: 0.5 },
      },
      { observers: [observer] },
    );
    stores = h.stores;
    const sent = await h.orchestrator.submit({ agent: 'bot', message: 'hello', senderId: 'u1' });
    await waitForCompletion(h, sent.conversationId);
    const [run] = await h.stores.runs.listRuns(sent.conversationId);
    const logged = await eventsOf(h.stores, { conversationId: sent.conversationId, types: ['budget.warning'] });
    expect(logged).toHaveLength(1);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.event).toMatchObject({ run: { id: run!.id }, conversationId: sent.conversationId, limitName: 'conversation_tokens', used: 250, limit: 400, fraction: 0.5 });
    expect((await warnings[0]!.read)?.softWarned).toBe(true);
    expect(order).toEqual([`budgetWarning ${run!.id}`, `runEnded ${run!.id}`]);
  });
});
