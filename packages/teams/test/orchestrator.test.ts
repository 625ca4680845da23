import { afterEach, describe, expect, it } from 'vitest';
import { invokeAgent, isTinyError, type Settings } from '@tinyagi/core';
import { openDatabase, type RunRecord, type SqliteStores } from '@tinyagi/core/internal';
import { waitFor } from '@tinyagi/test-kit';
import { closeAll, eventsOf, harness, recordingInvoker, waitForCompletion } from './helpers.ts';

afterEach(closeAll);

const echo = (name?: string) => ({ provider: 'mock' as const, ...(name ? { name } : {}), mock: { reply: '{{agent}} heard: {{message}}' } });

describe('addressing human messages', () => {
  const settings: Settings = {
    agents: { lead: echo('Lead'), coder: echo('Cody'), other: echo() },
    teams: { dev: { name: 'Dev Team', agents: ['lead', 'coder'], leader_agent: 'lead' } },
  };

  it('routes @agent, @team (to the leader, keeping the team) and display names; strips the prefix', async () => {
    const h = await harness(settings);
    const a = await h.orchestrator.submit({ message: '@coder fix the login', senderId: 'u1' });
    const b = await h.orchestrator.submit({ message: '@DEV plan it', senderId: 'u1' });
    const c = await h.orchestrator.submit({ message: '@cody look', senderId: 'u1' });
    const d = await h.orchestrator.submit({ message: 'explicit', agent: 'other', senderId: 'u1' });
    expect([a, b, c, d].map((r) => [r.agentId, r.teamId])).toEqual([
      ['coder', 'dev'],
      ['lead', 'dev'],
      ['coder', 'dev'],
      ['other', null],
    ]);
    for (const r of [a, b, c, d]) await waitForCompletion(h, r.conversationId);
    expect((await h.stores.runs.listRuns(a.conversationId))[0]!.output).toBe('coder heard: fix the login');
    expect((await h.stores.runs.listRuns(b.conversationId))[0]!.output).toBe('lead heard: plan it');
  });

  it('keeps the addressed team as context for a leader of several teams; addressed directly, all its teams are', async () => {
    const log = recordingInvoker(invokeAgent);
    const h = await harness(
      {
        agents: { boss: { provider: 'mock', mock: { reply: '[@writer: write it]' } }, writer: echo(), coder: echo(), loner: echo() },
        teams: { aaa: { agents: ['boss', 'coder'], leader_agent: 'boss' }, zzz: { agents: ['boss', 'writer'], leader_agent: 'boss' } },
      },
      { invoke: log.invoke },
    );
    const viaTeam = await h.orchestrator.submit({ message: '@zzz go', senderId: 'u1' });
    await waitForCompletion(h, viaTeam.conversationId);
    expect((await h.stores.runs.listRuns(viaTeam.conversationId)).map((r) => [r.agentId, r.teamId])).toEqual([
      ['boss', 'zzz'],
      ['writer', 'zzz'],
    ]);
    // Through #aaa, writer (a member of #zzz only) is out of the context.
    const viaOther = await h.orchestrator.submit({ message: '@aaa go', senderId: 'u1' });
    await waitForCompletion(h, viaOther.conversationId);
    expect((await h.stores.runs.listRuns(viaOther.conversationId)).map((r) => r.agentId)).toEqual(['boss']);
    // Addressed directly, no team is guessed: boss may hand work to members of any of its teams,
    // and the teammate works in the team they share.
    const direct = await h.orchestrator.submit({ message: '@boss go', senderId: 'u1' });
    expect(direct.teamId).toBeNull();
    await waitForCompletion(h, direct.conversationId);
    expect((await h.stores.runs.listRuns(direct.conversationId)).map((r) => [r.agentId, r.teamId])).toEqual([
      ['boss', null],
      ['writer', 'zzz'],
    ]);
    const callIn = (conversationId: string) => log.calls.find((c) => c.agentId === 'boss' && c.env?.TINYAGI_CONVERSATION_ID === conversationId)!;
    expect(callIn(viaTeam.conversationId).systemPrompt).toContain('This message came through team #zzz');
    expect(callIn(direct.conversationId).systemPrompt).not.toContain('came through team');
    // An agent in exactly one team keeps that team as its context.
    expect((await h.orchestrator.submit({ message: '@writer hi', senderId: 'u2' })).teamId).toBe('zzz');
    expect((await h.orchestrator.submit({ message: '@loner hi', senderId: 'u3' })).teamId).toBeNull();
  });

  it('bare @target sets a sticky default per sender, @default clears it; unknown targets are errors', async () => {
    const h = await harness(settings);
    const set = await h.orchestrator.submit({ message: '@coder', channel: 'telegram', senderId: 't1' });
    expect(set).toMatchObject({ messageId: '', created: false, agentId: 'coder', action: 'default_set', addressed: 'agent' });
    expect(set.reply).toContain('@coder by default');
    expect((await h.stores.outbox.list({ channel: 'telegram' })).map((r) => r.text)).toEqual([set.reply]);
    expect((await h.orchestrator.submit({ message: 'hello', channel: 'telegram', senderId: 't1' })).agentId).toBe('coder');
    expect((await h.orchestrator.submit({ message: 'hello', channel: 'telegram', senderId: 't2' })).agentId).toBe('lead');
    expect((await h.orchestrator.submit({ message: '@dev', channel: 'telegram', senderId: 't1' })).reply).toContain('#dev');
    expect(await h.orchestrator.submit({ message: 'hi team', channel: 'telegram', senderId: 't1' })).toMatchObject({ agentId: 'lead', teamId: 'dev', action: 'enqueued', addressed: 'team' });
    expect(await h.orchestrator.submit({ message: '@default', channel: 'telegram', senderId: 't1' })).toMatchObject({ action: 'default_cleared', reply: expect.stringContaining('cleared') });
    expect((await h.orchestrator.submit({ message: 'and now', channel: 'telegram', senderId: 't1' })).agentId).toBe('lead');

    const unknown = await h.orchestrator.submit({ message: '@nobody hi', senderId: 'u' }).catch((err: unknown) => err);
    expect(isTinyError(unknown, 'AGENT_NOT_FOUND')).toBe(true);
    await expect(h.orchestrator.submit({ message: 'x', agent: 'ghost' })).rejects.toThrow(/No agent "ghost"/);
    await expect(h.orchestrator.submit({ message: 'x', team: 'ghost' })).rejects.toThrow(/No team "ghost"/);
    await expect(h.orchestrator.submit({ message: '   ' })).rejects.toThrow(/empty/);
  });

  it('submitGrouped: a burst of submissions shares one commit; a refused one rejects alone', async () => {
    const h = await harness(settings, { start: false });
    // A second connection sees only committed rows: inside one shared commit, no submission of
    // the burst can see another's message committed yet. SQLite only: a synchronous read from the
    // event listener is what makes it an observation at publish time. (On PostgreSQL that a group
    // is one transaction is checked in core's transaction-driver.pg.test.ts.)
    const observer = h.stores.backend === 'sqlite' ? openDatabase({ path: (h.stores as SqliteStores).db.path }) : undefined;
    const committed = observer?.sqlite.prepare('SELECT COUNT(*) FROM messages').pluck();
    const seen: number[] = [];
    const unsubscribe = h.stores.events.subscribe((e) => {
      if (e.type === 'message.received' && committed) seen.push(committed.get() as number);
    });
    const results = await Promise.allSettled([
      h.orchestrator.submitGrouped({ message: 'one', agent: 'coder', senderId: 'u1' }),
      h.orchestrator.submitGrouped({ message: 'two', agent: 'ghost', senderId: 'u1' }),
      h.orchestrator.submitGrouped({ message: 'three', agent: 'other', senderId: 'u1' }),
    ]);
    unsubscribe();
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(isTinyError((results[1] as PromiseRejectedResult).reason, 'AGENT_NOT_FOUND')).toBe(true);
    if (observer) {
      // Events are published after the commit, when both accepted messages are on disk.
      expect(seen).toEqual([2, 2]);
      observer.close();
    }
    expect((await h.stores.queue.counts()).pending).toBe(2);
  });

  it('every queued message emits message.enqueued with the run it starts and its parent run', async () => {
    const h = await harness({ agents: { lead: { provider: 'mock', mock: { reply: '[@coder: do it]' } }, coder: echo() }, teams: { t: { agents: ['lead', 'coder'], leader_agent: 'lead' } } });
    const sent = await h.orchestrator.submit({ message: '@t go', senderId: 'u1' });
    await waitForCompletion(h, sent.conversationId);
    const [root, child] = await h.stores.runs.listRuns(sent.conversationId);
    const enqueued = await eventsOf(h.stores, { conversationId: sent.conversationId, types: ['message.enqueued'] });
    expect(enqueued.map((e) => [e.agentId, e.runId, e.parentRunId, e.data.kind])).toEqual([
      ['lead', root!.id, null, 'user'],
      ['coder', child!.id, root!.id, 'teammate'],
    ]);
    expect((await h.stores.queue.get(sent.messageId))!.runId).toBe(root!.id);
    // Replies' outbox events carry the tree fields of the run that wrote them.
    const outboxEvents = await eventsOf(h.stores, { conversationId: sent.conversationId, types: ['outbox.enqueued'] });
    expect(outboxEvents.map((e) => [e.runId, e.parentRunId, e.depth])).toEqual(outboxEvents.map((e) => (e.runId === child!.id ? [child!.id, root!.id, 0] : [root!.id, null, 0])));
    expect(outboxEvents.some((e) => e.runId === child!.id)).toBe(true);
  });

  it('is idempotent on the channel message key', async () => {
    const h = await harness(settings, { start: false });
    const first = await h.orchestrator.submit({ message: '@coder once', channel: 'discord', senderId: 'd1', idempotencyKey: 'discord:123' });
    const again = await h.orchestrator.submit({ message: '@coder once', channel: 'discord', senderId: 'd1', idempotencyKey: 'discord:123' });
    expect(again).toEqual({ ...first, created: false, action: 'duplicate' });
    expect(await h.stores.runs.listConversations()).toHaveLength(1);
    expect((await h.stores.queue.counts()).pending).toBe(1);
  });

  it('heartbeat and schedule messages enter through the same queue', async () => {
    const h = await harness(settings);
    const beat = await h.orchestrator.submit({ message: 'check your heartbeat.md', agent: 'other', channel: 'heartbeat', sender: 'heartbeat', kind: 'heartbeat' });
    await waitForCompletion(h, beat.conversationId);
    expect((await h.stores.runs.listRuns(beat.conversationId))[0]).toMatchObject({ cause: 'heartbeat', status: 'completed' });
    expect((await h.stores.outbox.list({ conversationId: beat.conversationId }))[0]).toMatchObject({ channel: 'heartbeat', status: 'delivered' });
  });
});

describe('chat rooms', () => {
  it('an agent post reaches every other member; their answers stay in the room, not with the human', async () => {
    const h = await harness({
      agents: { lead: { provider: 'mock', mock: { reply: 'Noted. [#dev: standup moved to 10]' } }, a: echo(), b: echo() },
      teams: { dev: { agents: ['lead', 'a', 'b'], leader_agent: 'lead' } },
    });
    const sent = await h.orchestrator.submit({ message: '@dev reschedule', senderId: 'u1' });
    await waitForCompletion(h, sent.conversationId);
    const runs = await h.stores.runs.listRuns(sent.conversationId);
    expect(runs.map((r) => [r.agentId, r.cause])).toEqual([
      ['lead', 'user'],
      ['a', 'chatroom'],
      ['b', 'chatroom'],
    ]);
    expect(runs[1]!.output).toBe('a heard: [Chat room #dev — @lead]: standup moved to 10');
    expect((await h.stores.chatroom.list('dev')).map((p) => [p.fromAgent, p.content])).toEqual([['lead', 'standup moved to 10']]);
    expect((await h.stores.outbox.list({ conversationId: sent.conversationId })).map((r) => r.agentId)).toEqual(['lead']);
  });

  it('posts waiting for an agent are batched into one invocation, clearly separated', async () => {
    const log = recordingInvoker(invokeAgent);
    const h = await harness({ agents: { lead: echo(), a: echo() }, teams: { dev: { agents: ['lead', 'a'], leader_agent: 'lead' } } }, { invoke: log.invoke, start: false });
    await h.facets.chatRoom.post('dev', 'user', 'first post');
    await h.facets.chatRoom.post('dev', 'user', 'second post');
    await expect(h.facets.chatRoom.post('dev', 'stranger', 'x')).rejects.toThrow(/not a member/);
    await h.orchestrator.start();
    await waitFor(async () => (await h.stores.queue.counts()).completed === 4 || undefined);
    expect(log.calls.map((c) => c.agentId).sort()).toEqual(['a', 'lead']);
    const prompt = log.calls.find((c) => c.agentId === 'a')!.prompt;
    expect(prompt).toContain('You received 2 messages since your last turn.');
    expect(prompt).toMatch(/----- message 1 of 2 -----\n\[Chat room #dev — @user\]: first post/);
    expect(prompt).toMatch(/----- message 2 of 2 -----\n\[Chat room #dev — @user\]: second post/);
    const aRuns: RunRecord[] = [];
    for (const c of await h.stores.runs.listConversations()) aRuns.push(...(await h.stores.runs.listRuns(c.id)).filter((r) => r.agentId === 'a'));
    expect(aRuns.map((r) => r.status)).toEqual(['completed', 'completed']);
    const merged = (await eventsOf(h.stores, { types: ['run.completed'] })).filter((e) => e.data.mergedInto);
    expect(merged.map((e) => e.agentId).sort()).toEqual(['a', 'lead']);
  });
});

describe('conversations', () => {
  it('exports the transcript as data and markdown', async () => {
    const h = await harness({
      agents: { lead: { provider: 'mock', mock: { reply: 'On it. [@coder: add tests]' } }, coder: { provider: 'mock', mock: { reply: 'Tests added.' } } },
      teams: { dev: { name: 'Dev', agents: ['lead', 'coder'], leader_agent: 'lead' } },
    });
    const sent = await h.orchestrator.submit({ message: '@dev harden the parser', sender: 'Ana', senderId: 'u1' });
    await waitForCompletion(h, sent.conversationId);
    const entries = await h.facets.views.transcript(sent.conversationId);
    expect(entries.map((e) => [e.direction, e.from, e.to, e.text])).toEqual([
      ['in', 'Ana', '@lead', 'harden the parser'],
      ['out', '@lead', 'Ana', 'On it.\n→ @coder: add tests'],
      ['in', '@lead', '@coder', 'add tests'],
      ['out', '@coder', 'Ana', 'Tests added.'],
    ]);
    const md = await h.facets.views.transcriptMarkdown(sent.conversationId);
    expect(md).toContain('# harden the parser');
    expect(md).toContain('- Team: #dev');
    expect(md).toContain('**@lead → @coder**');
    expect(md).toContain('> → @coder: add tests');
  });

  it('attachments are listed in the prompt', async () => {
    const h = await harness({ agents: { bot: echo() } });
    const sent = await h.orchestrator.submit({ message: 'see file', senderId: 'u1', attachments: ['/tmp/a.png'] });
    await waitForCompletion(h, sent.conversationId);
    expect((await h.stores.runs.listRuns(sent.conversationId))[0]!.output).toBe('bot heard: see file\n\n[Attached files: /tmp/a.png]');
  });

  it('plugins transform incoming and outgoing text', async () => {
    const h = await harness(
      { agents: { bot: echo() } },
      {
        plugins: [{ name: 'shout', transformIncoming: (t) => t.toUpperCase(), transformOutgoing: async (t, ctx) => `${t} [via ${ctx.agentId}]` }],
      },
    );
    const sent = await h.orchestrator.submit({ message: 'quiet words', senderId: 'u1' });
    await waitForCompletion(h, sent.conversationId);
    expect((await h.stores.outbox.list({ conversationId: sent.conversationId }))[0]!.text).toBe('bot heard: QUIET WORDS [via bot]\n\n— @bot');
  });

  it('a message that fails permanently fails its run, tells the human and ends the conversation failed', async () => {
    const h = await harness({ agents: { flaky: { provider: 'mock', mock: { replies: [{ match: 'boom', fail: 'permanent' }] } } } });
    const sent = await h.orchestrator.submit({ message: 'boom', senderId: 'u1' });
    const done = await waitForCompletion(h, sent.conversationId);
    expect(done.data).toMatchObject({ status: 'failed', reason: expect.stringMatching(/^@flaky failed: /) });
    expect((await h.stores.runs.listRuns(sent.conversationId))[0]).toMatchObject({ status: 'failed' });
    // The error's own full stop and the sentence's are one: no `failure..`.
    expect((await h.stores.outbox.list({ conversationId: sent.conversationId }))[0]!.text).toMatch(/^@flaky could not answer: mock \(agent flaky\): scripted permanent failure\. The message is kept/);
    // Said for every surface: TinyOffice's control and the CLI's command.
    expect((await h.stores.outbox.list({ conversationId: sent.conversationId }))[0]!.text).toMatch(/from Dead letters on TinyOffice's Control page or with `tinyagi queue retry msg_\w+`\.$/);
    expect(await h.stores.queue.listDead()).toHaveLength(1);
  });

  it('a spent daily agent budget refuses the run before the provider is called', async () => {
    const log = recordingInvoker(invokeAgent);
    const h = await harness({ agents: { pricey: { provider: 'mock', mock: { reply: 'done', usage: { cost_usd: 0.02 } } } }, budgets: { agent_daily_usd: 0.01 } }, { invoke: log.invoke });
    const first = await h.orchestrator.submit({ message: 'one', senderId: 'u1' });
    await waitForCompletion(h, first.conversationId);
    const second = await h.orchestrator.submit({ message: 'two', senderId: 'u1' });
    await waitForCompletion(h, second.conversationId);
    expect(log.calls).toHaveLength(1);
    expect((await h.stores.runs.listRuns(second.conversationId))[0]).toMatchObject({ status: 'rejected' });
    const [rejected] = await eventsOf(h.stores, { conversationId: second.conversationId, types: ['guard.rejected'] });
    expect(rejected?.data).toMatchObject({ limitName: 'agent_daily_usd', limit: 0.01, actual: 0.02 });
    expect((await h.stores.outbox.list({ conversationId: second.conversationId }))[0]!.text).toContain('@pricey was not run');
  });

  it("daily token budgets: an agent's own cap wins over the global one, and the global cap covers everyone", async () => {
    const log = recordingInvoker(invokeAgent);
    const tokens = { input_tokens: 600, output_tokens: 400 };
    const h = await harness(
      {
        agents: {
          small: { provider: 'mock', mock: { reply: 'done', usage: tokens }, budgets: { daily_tokens: 500 } },
          big: { provider: 'mock', mock: { reply: 'done', usage: tokens } },
        },
        budgets: { agent_daily_tokens: 5000, global_daily_tokens: 2500 },
      },
      { invoke: log.invoke },
    );
    const run = async (agent: string) => {
      const sent = await h.orchestrator.submit({ message: 'go', agent, senderId: 'u1' });
      await waitForCompletion(h, sent.conversationId);
      return { run: (await h.stores.runs.listRuns(sent.conversationId))[0]!, rejected: (await eventsOf(h.stores, { conversationId: sent.conversationId, types: ['guard.rejected'] }))[0] };
    };
    expect((await run('small')).run.status).toBe('completed');
    // 1,000 tokens used against its own cap of 500: refused, although the global agent cap is 5,000.
    const second = await run('small');
    expect(second.run.status).toBe('rejected');
    expect(second.rejected?.data).toMatchObject({ limitName: 'agent_daily_tokens', limit: 500, actual: 1000 });
    expect((await run('big')).run.status).toBe('completed');
    expect((await run('big')).run.status).toBe('completed');
    // 3,000 tokens used today by all agents together, the global cap is 2,500.
    const fifth = await run('big');
    expect(fifth.run.status).toBe('rejected');
    expect(fifth.rejected?.data).toMatchObject({ limitName: 'global_daily_tokens', limit: 2500, actual: 3000 });
    expect(log.calls).toHaveLength(3);
  });

  it('the soft limit asks the human once, and a conversation budget stops the work', async () => {
    const h = await harness({
      agents: { a: { provider: 'mock', mock: { reply: '[@b: more]', usage: { cost_usd: 0.04 } } }, b: { provider: 'mock', mock: { reply: '[@a: more]', usage: { cost_usd: 0.04 } } } },
      teams: { t: { agents: ['a', 'b'], leader_agent: 'a' } },
      budgets: { conversation_usd: 0.1, soft_limit_fraction: 0.5 },
      limits: { ping_pong_max: 100 },
    });
    const sent = await h.orchestrator.submit({ message: '@t go', channel: 'discord', senderId: 'u1' });
    await waitForCompletion(h, sent.conversationId);
    const outbox = await h.stores.outbox.list({ conversationId: sent.conversationId });
    const soft = outbox.filter((r) => r.meta.kind === 'soft-limit');
    expect(soft).toHaveLength(1);
    expect(soft[0]!.text).toContain('Reply `continue` to raise the limit or `stop`');
    expect(outbox.at(-1)!.text).toContain('I stopped this conversation');
    expect(await h.stores.runs.getConversation(sent.conversationId)).toMatchObject({ status: 'stopped' });
    expect(await h.stores.runs.listRuns(sent.conversationId)).toHaveLength(3);
    expect((await eventsOf(h.stores, { conversationId: sent.conversationId, types: ['budget.warning', 'budget.exceeded'] })).map((e) => e.type)).toEqual(['budget.warning', 'budget.exceeded']);
  });
});
