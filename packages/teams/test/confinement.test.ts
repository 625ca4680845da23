/**
 * Confinement follows the work (docs/sandbox.md, "Calls between agents"): a run a sandboxed run
 * started (a call, a handoff, a sub-agent) runs as the tighter of its agent and its callers — the
 * tighter sandbox, the narrower permission mode, and every rule set judged by the approval desk
 * (a denial of any denies, an allowance needs all). `agents.<id>.may_call` says who may call whom.
 */
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { SettingsSchema, type InvokeRequest, type InvokeResult, type Settings } from '@tinyagi/core';
import { releaseFolder, resolveInvokeTarget, withNewAgentDefaults } from '@tinyagi/core/internal';
import { tempDir, waitFor } from '@tinyagi/test-kit';
import { ApprovalDesk } from '../src/approvals/desk.ts';
import { assertMayReach, confinedByOf, confinementFollowing, mayCall, tightenedSettings, tighterVerdict } from '../src/guards/confinement.ts';
import { planRoutes } from '../src/router/plan.ts';
import { closeAll, harness, testStores, waitForCompletion, withWorkspace } from './helpers.ts';

afterEach(closeAll);

/** A sandboxed `ask` agent with the starter rules (as `agent add` makes one), an unconfined bypass agent, and an unconfined default agent. */
function settingsOf(dir: string, extra: Record<string, unknown> = {}): Settings {
  const starter = withNewAgentDefaults({}, { provider: 'anthropic' }) as Record<string, unknown>;
  return withWorkspace(
    SettingsSchema.parse({
      agents: {
        boxed: { ...starter, provider: 'anthropic', sandbox: 'on', permissions: { ...(starter['permissions'] as object), expires_s: 5 }, ...extra },
        wide: { provider: 'anthropic', permission_mode: 'bypassPermissions', permissions: { expires_s: 5 } },
        plain: { provider: 'anthropic' },
        strict: { provider: 'anthropic', sandbox: 'required', permission_mode: 'plan' },
      },
    }),
    dir,
  );
}

it('the work of a sandboxed run carries its confinement on; an unconfined run starts nothing confined', () => {
  const settings = settingsOf(tempDir('tinyagi-confine-'));
  expect(confinementFollowing(settings, 'boxed')).toEqual(['boxed']);
  expect(confinementFollowing(settings, 'plain')).toEqual([]);
  // An unconfined agent a confined run called passes the confinement on to what it starts in turn.
  expect(confinementFollowing(settings, 'wide', ['boxed'])).toEqual(['boxed', 'wide']);
  expect(confinedByOf([{ meta: { confinedBy: ['boxed'] } }, { meta: {} }, { meta: { confinedBy: ['strict', 7] } }])).toEqual(['boxed', 'strict']);
});

it('the callee runs in the tighter sandbox and the narrower permission mode of it and its callers', () => {
  const settings = settingsOf(tempDir('tinyagi-confine-'));
  const env = {};
  // Unconfined alone: no sandbox, the bypass.
  expect(resolveInvokeTarget(settings, 'wide', env).sandbox).toBeUndefined();
  const called = tightenedSettings(settings, 'wide', ['boxed']);
  expect(called.agents?.['wide']).toMatchObject({ sandbox: 'on', permission_mode: 'ask' });
  expect(resolveInvokeTarget(called, 'wide', env).sandbox).toMatchObject({ mode: 'on' });
  // An agent with no mode (the CLIs' bypass) called by a sandboxed ask agent asks too.
  expect(tightenedSettings(settings, 'plain', ['boxed']).agents?.['plain']).toMatchObject({ sandbox: 'on', permission_mode: 'ask' });
  // The tighter of both: a stricter callee keeps its own; a stricter caller's `required` and `plan` follow.
  expect(tightenedSettings(settings, 'strict', ['boxed']).agents?.['strict']).toMatchObject({ sandbox: 'required', permission_mode: 'plan' });
  expect(tightenedSettings(settings, 'wide', ['boxed', 'strict']).agents?.['wide']).toMatchObject({ sandbox: 'required', permission_mode: 'plan' });
  // Nothing confines: the settings as they are.
  expect(tightenedSettings(settings, 'wide', [])).toBe(settings);
  expect(tightenedSettings(settings, 'wide', undefined)).toBe(settings);
});

it('the tighter of two verdicts: any denial denies, all allowing allows, else a person is asked', () => {
  expect(tighterVerdict([{ action: 'allow' }, { action: 'deny', by: 'boxed', why: 'r' }])).toEqual({ action: 'deny', by: 'boxed', why: 'r' });
  expect(tighterVerdict([{ action: 'allow' }, { action: 'ask' }])).toEqual({ action: 'ask' });
  expect(tighterVerdict([{ action: 'allow' }, { action: 'allow' }])).toEqual({ action: 'allow' });
});

const signal = new AbortController().signal;

it("the desk judges a called bypass agent's request by its caller's rules too: the caller's denial denies, and what the caller would ask a person is asked", async () => {
  const dir = tempDir('tinyagi-confine-desk-');
  const { stores } = await testStores(join(dir, 'tinyagi.db'));
  const settings = settingsOf(dir);
  const desk = new ApprovalDesk({ stores, getSettings: () => settings, env: {} });
  const ask = { tool: 'Bash', input: { command: 'npm test' } };
  // Alone, the bypass agent is allowed by its mode, nobody asked.
  expect(await desk.ask({ id: 'run_w1', agentId: 'wide', conversationId: 'conv_1' }, 's', ask, signal)).toEqual({ allow: true, decidedBy: 'mode' });
  // Called by the sandboxed agent: a starter deny rule of the caller denies, naming whose rule.
  const denied = await desk.ask({ id: 'run_w2', agentId: 'wide', conversationId: 'conv_1', confinedBy: ['boxed'] }, 's', { tool: 'Bash', input: { command: 'sudo cat /etc/shadow' } }, signal);
  expect(denied).toMatchObject({ allow: false, decidedBy: 'rule' });
  expect(denied.allow === false && denied.reason).toContain('@boxed');
  // What the caller's rules leave to a person waits for a person, as the callee's own request.
  const asked = desk.ask({ id: 'run_w3', agentId: 'wide', conversationId: 'conv_1', confinedBy: ['boxed'] }, 's', ask, signal);
  const [pending] = await waitFor(
    async () => {
      const rows = await stores.approvals.list({ status: 'pending' });
      return rows.length === 1 ? rows : undefined;
    },
    10_000,
    'the called agent asks a person',
  );
  expect(pending).toMatchObject({ agentId: 'wide', runId: 'run_w3' });
  await desk.decide(pending!.id, 'deny', 'cli', 'not from a sandboxed caller');
  expect(await asked).toMatchObject({ allow: false, decidedBy: 'cli' });
  // What both allow (TinyAGI's own call tool) is allowed at once.
  expect(
    await desk.ask({ id: 'run_w4', agentId: 'wide', conversationId: 'conv_1', confinedBy: ['boxed'] }, 's', { tool: 'mcp__tinyagi__call_agent', input: { agent: 'plain', task: 'hi' } }, signal),
  ).toMatchObject({ allow: true });
});

it('may_call says who may call whom; a refusal names the setting; absent, an unconfined agent may call any agent', () => {
  const settings = settingsOf(tempDir('tinyagi-confine-'), { may_call: ['strict'] });
  expect(mayCall(settings, 'boxed', 'strict')).toBe(true);
  expect(mayCall(settings, 'boxed', 'wide')).toBe(false);
  expect(mayCall(settings, 'wide', 'boxed')).toBe(true);
  expect(() => assertMayReach(settings, { from: 'boxed' }, 'wide')).toThrow(expect.objectContaining({ code: 'CALL_NOT_ALLOWED', message: expect.stringContaining('agents.boxed.may_call') }));
  // A tag to an agent may_call leaves out is not delivered, and the agent is told why.
  const teamed = { ...settings, teams: { t: { name: 't', agents: ['boxed', 'wide', 'strict'], leader_agent: 'boxed' } } } as Settings;
  const plan = planRoutes({ mentions: [{ target: 'wide', message: 'run npm test' }], chatroomPosts: [] } as never, { settings: teamed, fromAgent: 'boxed', teamId: 't', incoming: [] });
  expect(plan.deliveries).toEqual([]);
  expect(plan.notes.join('\n')).toContain('agents.boxed.may_call');
});

it('through the orchestrator: a handoff chain from a sandboxed agent runs every later agent in a boundary; a handoff from an unconfined one does not', async () => {
  const replies: Record<string, string> = { lead: '[@coder: build it]', coder: '[@helper: run the tests]', helper: 'done', free: '[@helper: run the tests]' };
  const calls: InvokeRequest[] = [];
  const invoke = async (req: InvokeRequest): Promise<InvokeResult> => {
    calls.push(req);
    return { text: replies[req.agentId] ?? 'ok' };
  };
  const h = await harness(
    SettingsSchema.parse({
      agents: { lead: { provider: 'mock', sandbox: 'on' }, coder: { provider: 'mock' }, helper: { provider: 'mock' }, free: { provider: 'mock' } },
      teams: { t: { name: 't', agents: ['lead', 'coder', 'helper'], leader_agent: 'lead' }, u: { name: 'u', agents: ['free', 'helper'], leader_agent: 'free' } },
    }),
    { invoke },
  );
  const sent = await h.orchestrator.submit({ agent: 'lead', message: 'go', senderId: 'u1' });
  await waitForCompletion(h, sent.conversationId);
  const sandboxOf = (agentId: string) => calls.find((c) => c.agentId === agentId)?.target.sandbox?.mode;
  expect([sandboxOf('lead'), sandboxOf('coder'), sandboxOf('helper')]).toEqual(['on', 'on', 'on']);
  const helperMessage = (await h.stores.runs.listRuns(sent.conversationId)).find((r) => r.agentId === 'helper')!;
  expect((await h.stores.queue.get(helperMessage.messageIds[0]!))?.meta['confinedBy']).toEqual(['lead', 'coder']);

  // helper's workspace is held (its confined run worked there): a handoff from the unconfined free runs it confined still.
  calls.length = 0;
  const afterHold = await h.orchestrator.submit({ agent: 'free', message: 'go', senderId: 'u1' });
  await waitForCompletion(h, afterHold.conversationId);
  expect(calls.map((c) => [c.agentId, c.target.sandbox?.mode])).toEqual([
    ['free', undefined],
    ['helper', 'on'],
  ]);

  // Released by a person: a handoff from an unconfined agent runs unconfined.
  expect(releaseFolder({ TINYAGI_HOME: join(h.dir, 'home') }, join(h.dir, 'ws', 'helper'))).toBe(true);
  calls.length = 0;
  const loose = await h.orchestrator.submit({ agent: 'free', message: 'go', senderId: 'u1' });
  await waitForCompletion(h, loose.conversationId);
  expect(calls.map((c) => [c.agentId, c.target.sandbox?.mode])).toEqual([
    ['free', undefined],
    ['helper', undefined],
  ]);
});
