/**
 * A task's `task_rounds` request at the desk (docs/git-tasks.md, "When the rounds run out"): it takes its
 * own three answers only, `more_rounds` records the rounds it gives (the number given, else the
 * binding's maxRounds the request carries), the first answer wins, the observers hear each answer
 * once, and a start's recovery — which cancels the requests of runs a stopped daemon left — leaves
 * it pending for a person.
 */
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { ObserverList, SettingsSchema, TinyError } from '@tinyagi/core';
import type { ApprovalRecord, StoreSet } from '@tinyagi/core/internal';
import { tempDir } from '@tinyagi/test-kit';
import { ApprovalDesk } from '../src/approvals/desk.ts';
import { closeAll, eventsOf, testStores } from './helpers.ts';

afterEach(closeAll);

type ApprovalInput = Parameters<StoreSet['approvals']['create']>[0];

const rounds = (id: string, taskId: string): ApprovalInput => ({
  id,
  kind: 'task_rounds',
  agentId: 'dev',
  runId: null,
  conversationId: null,
  sessionKey: null,
  taskId,
  tool: 'task_rounds',
  input: { taskId, identifier: 'WEB-1', title: 'Fix', rounds: 5, moreRounds: 4, missing: [] },
  summary: 'WEB-1 Fix: still not done after 5 rounds.',
  requestedAt: Date.now(),
  expiresAt: null,
});

async function refusal(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof TinyError)) throw new Error(`expected a TinyError, got ${String(err)}`);
  return { code: err.code, message: err.message };
}

function deskOn(stores: StoreSet, observers?: ObserverList): ApprovalDesk {
  return new ApprovalDesk({ stores, getSettings: () => SettingsSchema.parse({}), env: {}, observers });
}

it('takes more_rounds (its number, else the request’s), take_over and stop only; the first answer wins; a restart leaves it pending while it cancels a run’s', async () => {
  const { stores } = await testStores(join(tempDir('tinyagi-task-rounds-'), 'tinyagi.db'));
  await stores.approvals.create(rounds('apr_r1', 'task_1'));
  await stores.approvals.create(rounds('apr_r2', 'task_2'));
  await stores.approvals.create(rounds('apr_r3', 'task_3'));
  // A run's permission request a stopped daemon left pending.
  await stores.approvals.create({ ...rounds('apr_perm', 'x'), kind: 'permission', runId: 'run_1', conversationId: 'conv_1', sessionKey: 'k', tool: 'Bash', expiresAt: Date.now() + 600_000 });

  // The next start: the run's request is cancelled, the task's waits.
  expect(await deskOn(stores).recover()).toBe(1);
  expect((await stores.approvals.get('apr_perm'))?.status).toBe('cancelled');
  expect((await stores.approvals.list({ status: 'pending', kind: 'task_rounds' })).map((a) => a.id).sort()).toEqual(['apr_r1', 'apr_r2', 'apr_r3']);

  // The observers (the metrics) hear each answer once, from the node that took it: no run waits on it.
  const settled: ApprovalRecord[] = [];
  const observers = new ObserverList();
  observers.add({ name: 'recorder', approvalSettled: (e) => settled.push(e.approval) });
  const desk = deskOn(stores, observers);
  expect(await refusal(desk.decide('apr_r1', 'allow_once', 'cli'))).toEqual({
    code: 'APPROVAL_DECISION_INVALID',
    message: 'apr_r1 asks what to do with a task whose rounds ran out: more_rounds (another N rounds), take_over or stop.',
  });
  expect((await refusal(desk.decide('apr_r1', 'more_rounds', 'cli', undefined, '101'))).message).toBe('More rounds for apr_r1 must be a whole number from 1 to 100, not "101".');

  expect(await desk.decide('apr_r1', 'more_rounds', 'cli', undefined, '3')).toMatchObject({ status: 'answered', decision: 'more_rounds', answer: '3', decidedBy: 'cli' });
  expect(await desk.decide('apr_r2', 'more_rounds', 'tinyoffice')).toMatchObject({ status: 'answered', answer: '4' });
  expect(await desk.decide('apr_r3', 'take_over', 'telegram:1', 'I will do it')).toMatchObject({ status: 'answered', decision: 'take_over', reason: 'I will do it', answer: null });
  expect(await refusal(desk.decide('apr_r3', 'stop', 'cli'))).toEqual({ code: 'APPROVAL_DECIDED', message: 'Approval apr_r3 was already answered: answered by telegram:1.' });
  expect((await eventsOf(stores, { types: ['approval.decided'] })).map((e) => e.data.approval.id)).toEqual(['apr_perm', 'apr_r1', 'apr_r2', 'apr_r3']);
  expect(settled.map((a) => [a.id, a.decision])).toEqual([
    ['apr_r1', 'more_rounds'],
    ['apr_r2', 'more_rounds'],
    ['apr_r3', 'take_over'],
  ]);
});
