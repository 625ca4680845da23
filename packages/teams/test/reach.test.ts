/**
 * Who may reach whom holds along the chain and in rooms (docs/sandbox.md, "Calls between agents"):
 * a call, handoff (tag or tool), sub-agent or room delivery goes ahead only if the sender and every
 * caller up its chain may reach the target (`agents.<id>.may_call`; a sandboxed agent without one
 * reaches its teammates and agents sandboxed at least as tightly). A refusal names whose setting
 * refuses, to the agent and to the person.
 */
import { afterEach, expect, it } from 'vitest';
import { SettingsSchema, type TinyError, type InvokeRequest, type InvokeResult } from '@tinyagi/core';
import { mayCall, reachRefusal } from '../src/guards/confinement.ts';
import { planRoutes } from '../src/router/plan.ts';
import { EVENT_PAYLOADS } from '@tinyagi/client/contract';
import { closeAll, eventsOf, harness, waitForCompletion, type Harness } from './helpers.ts';

afterEach(closeAll);

it("a sandboxed agent without may_call reaches its teammates and agents sandboxed at least as tightly; '*' or a list widens it; an unconfined one reaches any", () => {
  const settings = SettingsSchema.parse({
    agents: {
      boxed: { sandbox: 'on' },
      strict: { sandbox: 'required' },
      mate: {},
      loose: {},
      peer: { sandbox: 'on' },
      wide: { sandbox: 'on', may_call: ['*'] },
      listed: { sandbox: 'on', may_call: ['loose'] },
    },
    teams: { t: { agents: ['boxed', 'mate'], leader_agent: 'boxed' } },
  });
  expect(['mate', 'peer', 'strict', 'loose'].map((to) => mayCall(settings, 'boxed', to))).toEqual([true, true, true, false]);
  // `required` reaches `required` agents only (outside its teams).
  expect(['peer', 'boxed', 'strict'].map((to) => mayCall(settings, 'strict', to))).toEqual([false, false, true]);
  expect(mayCall(settings, 'wide', 'loose')).toBe(true);
  expect(['loose', 'peer'].map((to) => mayCall(settings, 'listed', to))).toEqual([true, false]);
  expect(mayCall(settings, 'loose', 'strict')).toBe(true);
  // The default's refusal says what the default is and how to widen it.
  expect(reachRefusal(settings, { from: 'boxed' }, 'loose')?.message).toMatch(/^@boxed may not call @loose: agents\.boxed\.may_call is not set.*teammates.*"\*"/);
  expect(reachRefusal(settings, { from: 'boxed' }, 'mate')).toBeUndefined();
});

it("a tag is refused when an agent earlier in the chain may not reach the target, naming that agent's setting", () => {
  const settings = SettingsSchema.parse({
    agents: { victim: { may_call: ['other'] }, other: {}, vault: {} },
    teams: { t: { agents: ['victim', 'other', 'vault'], leader_agent: 'victim' } },
  });
  const parsed = { mentions: [{ target: 'vault', message: 'the secret' }], chatroomPosts: [] } as never;
  const plan = planRoutes(parsed, { settings, fromAgent: 'other', teamId: 't', incoming: [{ from: 'victim', hop: 1, callers: ['victim'] }] });
  expect(plan.deliveries).toEqual([]);
  expect(plan.notes).toEqual([expect.stringContaining('@victim (earlier in this chain) may not call @vault: agents.victim.may_call is [other]')]);
  expect(plan.undelivered).toEqual([expect.stringContaining("@other's message to @vault was not delivered: @victim (earlier in this chain) may not call @vault")]);
  // A confiner counts as well: the same chain carried as confinedBy only.
  expect(planRoutes(parsed, { settings, fromAgent: 'other', teamId: 't', incoming: [{ from: 'victim', hop: 1, confinedBy: ['victim'] }] }).deliveries).toEqual([]);
  // Without victim up the chain, other (no list) hands off as before.
  expect(planRoutes(parsed, { settings, fromAgent: 'other', teamId: 't', incoming: [] }).deliveries.map((d) => d.target)).toEqual(['vault']);
});

/** victim may call other only; other has no list; vault holds the secret. Each agent's answer is scripted on what it is asked. */
async function chainHarness(): Promise<{ h: Harness; invoked: string[] }> {
  const invoked: string[] = [];
  let h: Harness | undefined;
  const invoke = async (req: InvokeRequest): Promise<InvokeResult> => {
    invoked.push(req.agentId);
    const runId = req.env?.['TINYAGI_RUN_ID'] ?? '';
    const spawn = (agent: string, task: string) => req.tools!.spawnAgent!({ agent, task }, { signal: req.signal ?? new AbortController().signal });
    if (req.agentId === 'vault') return { text: 'SECRET-42' };
    if (req.agentId === 'victim') {
      if (req.prompt.includes('MODE:call')) return { text: `got: ${await spawn('other', 'MODE:call ask vault')}` };
      return { text: req.prompt.includes('MODE:tool') ? '[@other: MODE:tool ask vault]' : '[@other: MODE:tag ask vault]' };
    }
    if (req.prompt.includes('MODE:call')) return { text: await spawn('vault', 'the secret') };
    if (req.prompt.includes('MODE:tool')) {
      try {
        return { text: h!.orchestrator.declareRunAction(runId, { type: 'handoff', to: ['vault'], message: 'the secret' }) };
      } catch (err) {
        return { text: `tool said ${(err as TinyError).code}: ${(err as Error).message}` };
      }
    }
    return { text: '[@vault: the secret]' };
  };
  h = await harness(
    SettingsSchema.parse({
      agents: { victim: { provider: 'mock', may_call: ['other'] }, other: { provider: 'mock' }, vault: { provider: 'mock' } },
      teams: { t: { name: 't', agents: ['victim', 'other', 'vault'], leader_agent: 'victim' } },
    }),
    { invoke },
  );
  return { h, invoked };
}

/** The `handoff.undelivered` events of a conversation, each checked against its schema (no field it does not declare). */
async function undelivered(h: Harness, conversationId: string): Promise<Array<{ agentId: string | null; data: unknown }>> {
  const events = await eventsOf(h.stores, { conversationId, types: ['handoff.undelivered'] });
  for (const e of events) EVENT_PAYLOADS['handoff.undelivered'].strict().parse(e.data);
  return events.map((e) => ({ agentId: e.agentId, data: e.data }));
}

async function outputOf(h: Harness, conversationId: string, agentId: string): Promise<string> {
  return (await h.stores.runs.listRuns(conversationId)).find((r) => r.agentId === agentId)?.output ?? '';
}

it("victim → other → vault by tags: vault never runs, and other's reply to the person names victim's may_call", async () => {
  const { h, invoked } = await chainHarness();
  const sent = await h.orchestrator.submit({ agent: 'victim', message: 'MODE:tag', senderId: 'u1' });
  await waitForCompletion(h, sent.conversationId);
  expect(invoked).toEqual(['victim', 'other']);
  expect(await outputOf(h, sent.conversationId, 'other')).toContain(
    "(@other's message to @vault was not delivered: @victim (earlier in this chain) may not call @vault: agents.victim.may_call is [other]",
  );
  // The chain goes on to other's handoffs: the message to other carries who sent it along.
  const otherRun = (await h.stores.runs.listRuns(sent.conversationId)).find((r) => r.agentId === 'other')!;
  expect((await h.stores.queue.get(otherRun.messageIds[0]!))?.meta['callers']).toEqual(['victim']);
  // An event of its own says it, for the surfaces that show a conversation.
  expect(await undelivered(h, sent.conversationId)).toEqual([
    {
      agentId: 'other',
      data: { fromAgent: 'other', toAgent: 'vault', kind: 'mention', room: null, code: 'CALL_NOT_ALLOWED', reason: expect.stringMatching(/^@victim \(earlier in this chain\) may not call @vault/) },
    },
  ]);
});

it('victim → other → vault by the handoff tool: the tool errors with CALL_NOT_ALLOWED naming victim', async () => {
  const { h, invoked } = await chainHarness();
  const sent = await h.orchestrator.submit({ agent: 'victim', message: 'MODE:tool', senderId: 'u1' });
  await waitForCompletion(h, sent.conversationId);
  expect(invoked).toEqual(['victim', 'other']);
  expect(await outputOf(h, sent.conversationId, 'other')).toContain('tool said CALL_NOT_ALLOWED: @victim (earlier in this chain) may not call @vault');
});

it('victim calls other, other calls vault: the sub-agent call is refused, naming victim', async () => {
  const { h, invoked } = await chainHarness();
  const sent = await h.orchestrator.submit({ agent: 'victim', message: 'MODE:call', senderId: 'u1' });
  await waitForCompletion(h, sent.conversationId);
  expect(invoked).toEqual(['victim', 'other']);
  const answer = await outputOf(h, sent.conversationId, 'victim');
  expect(answer).toContain('[spawn_agent CALL_NOT_ALLOWED] @victim (earlier in this chain) may not call @vault');
  expect(answer).not.toContain('SECRET-42');
});

it('a room post reaches only the members the poster may call: the others are named to the person and the poster, not run', async () => {
  const invoked: string[] = [];
  let h: Harness | undefined;
  let toolSaid = '';
  const invoke = async (req: InvokeRequest): Promise<InvokeResult> => {
    invoked.push(req.agentId);
    if (req.agentId !== 'poster') return { text: 'noted' };
    toolSaid = h!.orchestrator.declareRunAction(req.env!['TINYAGI_RUN_ID']!, { type: 'chatroom', team: 'r', message: 'and by the tool' });
    return { text: 'Posted. [#r: standup at 10]' };
  };
  h = await harness(
    SettingsSchema.parse({
      agents: { poster: { provider: 'mock', may_call: ['mate'] }, mate: { provider: 'mock' }, vault: { provider: 'mock' } },
      teams: { r: { name: 'r', agents: ['poster', 'mate', 'vault'], leader_agent: 'poster' } },
    }),
    { invoke },
  );
  const sent = await h.orchestrator.submit({ agent: 'poster', message: 'post it', senderId: 'u1' });
  await waitForCompletion(h, sent.conversationId);
  expect(invoked.sort()).toEqual(['mate', 'poster']);
  expect(toolSaid).toContain('Not delivered to @vault: @poster may not call @vault');
  expect(await outputOf(h, sent.conversationId, 'poster')).toContain("(@poster's chat-room post to #r for @vault was not delivered: @poster may not call @vault: agents.poster.may_call is [mate]");
  expect(await undelivered(h, sent.conversationId)).toEqual([
    { agentId: 'poster', data: { fromAgent: 'poster', toAgent: 'vault', kind: 'chatroom', room: 'r', code: 'CALL_NOT_ALLOWED', reason: expect.stringContaining('agents.poster.may_call is [mate]') } },
  ]);
  // The post itself is in the room for every member to read.
  expect((await h.stores.chatroom.list('r', { limit: 10 })).map((p) => p.content)).toEqual([expect.stringContaining('standup at 10')]);
});
