/**
 * Steering beyond one orchestrator: a command for a run that another node runs is relayed to that
 * node and answered by it (one for a queued run waits in the store for the node that starts it),
 * and what was sent to a queued run or to an interrupted attempt is kept in the store across a
 * restart. Several nodes exist only on PostgreSQL, and there the steering board's writes are
 * asynchronous: this file runs on both backends (the package's `test:pg`).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '@tinyagi/test-kit';
import { ConversationControl, Orchestrator, Steering } from '../src/index.ts';
import { closeAll, countRows, eventsOf, gates, harness, steeredCommands, waitForCompletion } from './helpers.ts';

afterEach(closeAll);

describe('steering with several nodes', () => {
  it('a command for a run of another node is relayed to it and answered by it; one for a queued run waits for the node that starts it; a run no node answers for is refused with the reason; cancel works from anywhere', async () => {
    const agents = {
      far: { provider: 'mock' as const, node: 'w1', mock: { replies: [{ match: 'wait', fail: 'hang' as const }] } },
      near: { provider: 'mock' as const, mock: { replies: [{ match: 'wait', fail: 'hang' as const }] } },
    };
    // This node ("api") runs every agent but `far`; node w1 (another orchestrator on the same stores) runs `far`.
    const api = await harness({ agents }, { node: 'api', skipAgents: () => new Set(['far']), steerRelayTimeoutMs: 1500 });
    const w1 = new Orchestrator({ stores: api.stores, getSettings: () => api.settings, node: 'w1', agents: () => new Set(['far']), sweepMs: 200, leaseMs: 60_000 });
    w1.start();
    try {
      const remote = await api.orchestrator.submit({ message: '@far wait', senderId: 'u1' });
      const remoteRun = await waitFor(() => w1.status().running.find((r) => r.conversationId === remote.conversationId));
      // Relayed to w1, which applies it and answers; a second pause is refused by w1's board.
      expect(await api.facets.steering.steer(remoteRun.runId, 'pause')).toMatchObject({ accepted: true });
      expect(w1.status().paused).toEqual([remoteRun.runId]);
      expect(await api.facets.steering.steer(remoteRun.runId, 'pause')).toEqual({ accepted: false, reason: 'the run is already paused' });
      expect(await api.facets.steering.steer(remoteRun.runId, 'resume')).toMatchObject({ accepted: true });
      expect(w1.status().paused).toEqual([]);
      const answers = (await eventsOf(api.stores, { types: ['run.steered'] })).filter((e) => e.runId === remoteRun.runId);
      // Every command answered once, by the node that ran it, with the request it answers.
      expect(answers.map((e) => [e.data.command, e.data.accepted, typeof e.data.requestId])).toEqual([
        ['pause', true, 'string'],
        ['pause', false, 'string'],
        ['resume', true, 'string'],
      ]);

      // A run still queued (far is busy) may start on any node that runs its agent: what is sent
      // now waits in the store, and the node that starts the run (w1) takes it over.
      const queued = await api.orchestrator.submit({ message: '@far the real task', senderId: 'u2' });
      const queuedRun = (await api.facets.views.tree(queued.conversationId)).roots[0]!;
      expect(queuedRun.status).toBe('queued');
      expect(await api.facets.steering.steer(queuedRun.runId, 'pause')).toMatchObject({ accepted: true });
      expect(await api.facets.steering.steer(queuedRun.runId, 'pause')).toEqual({ accepted: false, reason: 'the run is already paused' });
      expect(await api.facets.steering.steer(queuedRun.runId, 'inject', { text: 'use the staging server' })).toMatchObject({ accepted: true });
      expect(api.orchestrator.status().paused).toEqual([]);

      // Running according to the database, but no node runs it (its node just died): no answer.
      const orphanConversation = await api.stores.runs.createConversation({ rootAgentId: 'near', channel: 'api' });
      const orphan = await api.stores.runs.createRun({ conversationId: orphanConversation.id, agentId: 'near', cause: 'user', channel: 'api' });
      await api.stores.runs.startRun(orphan.id);
      const unanswered = await api.facets.steering.steer(orphan.id, 'inject', { text: 'anyone?' });
      expect(unanswered.accepted).toBe(false);
      expect(unanswered.reason).toContain('no node running the run answered');

      // This node's own runs are steered here, as with one process.
      const local = await api.orchestrator.submit({ message: '@near wait', senderId: 'u1' });
      const localRun = await waitFor(() => api.orchestrator.status().running.find((r) => r.conversationId === local.conversationId));
      expect(await api.facets.steering.steer(localRun.runId, 'inject', { text: 'more context' })).toMatchObject({ accepted: true });

      // Cancel goes through the queue: it reaches the run on w1, which stops it as soon as it
      // sees the run.cancelled event (the lease is a minute here: its renewal would take 20 s).
      expect(await api.facets.steering.steer(remoteRun.runId, 'cancel')).toMatchObject({ accepted: true });
      await waitForCompletion(api, remote.conversationId);
      expect((await api.stores.runs.getRun(remoteRun.runId))!.status).toBe('cancelled');
      await waitFor(() => !w1.status().running.some((r) => r.runId === remoteRun.runId), 10_000, 'w1 to stop the cancelled run');
      await api.facets.conversations.cancelRun(localRun.runId);

      // far is free: w1 starts the queued run paused, as it was told while queued; resume is relayed.
      await waitFor(() => w1.status().paused.includes(queuedRun.runId) || undefined);
      expect((await api.stores.runs.getRun(queuedRun.runId))!.status).toBe('running');
      expect(await api.facets.steering.steer(queuedRun.runId, 'resume')).toMatchObject({ accepted: true });
      await waitForCompletion(api, queued.conversationId);
      expect((await api.stores.runs.getRun(queuedRun.runId))!.output).toContain('the real task\n\n[Message added by the operator]\nuse the staging server');
      expect(await steeredCommands(api.stores, queuedRun.runId)).toEqual([
        ['pause', true],
        ['pause', false],
        ['inject', true],
        ['resume', true],
      ]);
      // The run ended: its stored steering is gone. The node forgets it after the completion
      // commits (as in steering.test.ts), so the test waits for the row to go, not for the completion.
      await waitFor(async () => (await api.stores.steering.load(queuedRun.runId)) === undefined, 10_000, "the ended run's steering row to be deleted");
    } finally {
      await w1.stop(2000);
    }
  });
});

describe('steering across a restart', () => {
  /** busy hangs on "block"; a task waits at the gate "task" until the test opens it. */
  const agentsAt = (gateDir: string) => ({
    busy: {
      provider: 'mock' as const,
      mock: {
        gate_dir: gateDir,
        replies: [
          { match: 'block', fail: 'hang' as const },
          { match: 'task', gate: 'task', reply: 'got: {{message}}' },
        ],
      },
    },
  });

  it('a pause and an inject of a queued run are still there after the orchestrator is replaced', async () => {
    const gate = gates();
    gate.open('task');
    const h = await harness({ agents: agentsAt(gate.dir) });
    const blocker = await h.orchestrator.submit({ message: '@busy block', senderId: 'u1' });
    const second = await h.orchestrator.submit({ message: '@busy the real task', senderId: 'u2' });
    await waitFor(() => h.orchestrator.status().running.find((r) => r.conversationId === blocker.conversationId));
    const queuedRun = (await h.facets.views.tree(second.conversationId)).roots[0]!;
    expect(await h.facets.steering.steer(queuedRun.runId, 'pause')).toMatchObject({ accepted: true });
    expect(await h.facets.steering.steer(queuedRun.runId, 'inject', { text: 'use the staging server' })).toMatchObject({ accepted: true });
    await h.orchestrator.stop(100);

    // A lease of an hour: the blocker, claimed again by the new orchestrator and cancelled before
    // that one registers its run, must not be invoked (it would run until a lease renewal).
    const next = new Orchestrator({ stores: h.stores, getSettings: () => h.settings, sweepMs: 200, leaseMs: 3_600_000 });
    await next.start();
    try {
      expect(next.status().paused).toEqual([queuedRun.runId]);
      await new ConversationControl(next).cancelRun((await h.facets.views.tree(blocker.conversationId)).roots[0]!.runId);
      await waitFor(() => next.status().running.find((r) => r.runId === queuedRun.runId));
      expect(await new Steering(next).steer(queuedRun.runId, 'resume')).toMatchObject({ accepted: true });
      await waitForCompletion(h, second.conversationId);
      expect((await h.stores.runs.getRun(queuedRun.runId))!.output).toBe('got: the real task\n\n[Message added by the operator]\nuse the staging server');
      // The run's steering row is deleted after the completion commits (steering.forget, its own write): wait for it.
      await waitFor(async () => ((await countRows(h.stores, 'run_steering')) === 0 ? true : undefined), 10_000, 'the run_steering row deleted');
    } finally {
      await next.stop(500);
    }
  });

  it('input an interrupted attempt had received is handed to the retry', async () => {
    const gate = gates();
    const h = await harness({ agents: agentsAt(gate.dir) });
    const blocker = await h.orchestrator.submit({ message: '@busy block', senderId: 'u1' });
    const second = await h.orchestrator.submit({ message: '@busy the real task', senderId: 'u2' });
    const blockerRun = await waitFor(() => h.orchestrator.status().running.find((r) => r.conversationId === blocker.conversationId));
    const queuedRun = (await h.facets.views.tree(second.conversationId)).roots[0]!;
    expect(await h.facets.steering.steer(queuedRun.runId, 'redirect', { text: 'do the other task' })).toMatchObject({ accepted: true });
    await h.facets.conversations.cancelRun(blockerRun.runId);
    // The run takes the redirect at its first checkpoint, then the daemon stops mid-invocation (at the gate).
    await waitFor(() => h.orchestrator.status().running.find((r) => r.runId === queuedRun.runId));
    await h.orchestrator.stop(50);
    expect((await h.stores.runs.getRun(queuedRun.runId))!.status).toBe('running');
    gate.open('task');

    const next = new Orchestrator({ stores: h.stores, getSettings: () => h.settings, sweepMs: 200 });
    await next.start();
    try {
      await waitForCompletion(h, second.conversationId);
      expect((await h.stores.runs.getRun(queuedRun.runId))!.output).toBe('got: do the other task');
    } finally {
      await next.stop(500);
    }
  });
});
