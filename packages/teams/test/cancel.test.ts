/**
 * Cancellation down a tree of real subprocesses: every agent is the fake Claude Code CLI from
 * @tinyagi/test-kit, started with FAKE:grandchild (it spawns a sleeping child of its own, writes
 * both pids to FAKE_PID_FILE, then hangs). Children are spawned through the run-scoped entry
 * point, exactly as the server route behind `tinyagi call` does. Runs on both backends (`test:pg`):
 * which moment a cancel meets depends on how long the orchestrator's store calls take (several
 * round trips on PostgreSQL, where the windows below were found).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { invokeAgent, type InvokeRequest } from '@tinyagi/core';
import { fakeCli, isGone, waitFor } from '@tinyagi/test-kit';
import type { StoreSet } from '@tinyagi/core/internal';
import { closeAll, eventsOf, harness, recordingInvoker, waitForCompletion } from './helpers.ts';

afterEach(closeAll);

const FAKE_CLAUDE = fakeCli('claude');

describe('cancelling a run tree', () => {
  it('cancelling the root kills every descendant subprocess and ends every run once', async () => {
    const pidDir = (): string => h.dir;
    const invoke = (req: InvokeRequest) =>
      invokeAgent({
        ...req,
        target: { ...req.target, command: FAKE_CLAUDE, killGraceMs: 500 },
        env: { ...req.env, FAKE_PID_FILE: join(pidDir(), `${req.env?.TINYAGI_RUN_ID}.pids`), FAKE_LOG: join(pidDir(), 'fake.log') },
      });
    const h = await harness(
      {
        agents: { root: { provider: 'anthropic' }, child: { provider: 'anthropic' }, grand: { provider: 'anthropic' } },
        teams: { tree: { agents: ['root', 'child', 'grand'], leader_agent: 'root' } },
      },
      { invoke, apiUrl: 'http://127.0.0.1:1', issueRunToken: (runId) => `token-for-${runId}` },
    );
    const pidsOf = (runId: string) => {
      const file = join(h.dir, `${runId}.pids`);
      return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { cli: number; grandchild: number }) : undefined;
    };

    const sent = await h.orchestrator.submit({ message: '@root FAKE:grandchild', senderId: 'u1' });
    const root = await waitFor(() => h.orchestrator.status().running.find((r) => r.agentId === 'root'), 10_000, 'the root run');
    const rootPids = await waitFor(() => pidsOf(root.runId), 10_000, 'the root CLI');

    const childResult = h.orchestrator.spawn(root.runId, { agent: 'child', task: 'FAKE:grandchild' });
    const child = await waitFor(() => h.orchestrator.status().running.find((r) => r.agentId === 'child'), 10_000, 'the child run');
    const childPids = await waitFor(() => pidsOf(child.runId), 10_000, 'the child CLI');
    const grandResult = h.orchestrator.spawn(child.runId, { agent: 'grand', task: 'FAKE:grandchild' });
    const grand = await waitFor(() => h.orchestrator.status().running.find((r) => r.agentId === 'grand'), 10_000, 'the grandchild run');
    const grandPids = await waitFor(() => pidsOf(grand.runId), 10_000, 'the grandchild CLI');

    expect(await h.stores.runs.getRun(grand.runId)).toMatchObject({ depth: 2, parentRunId: child.runId, status: 'running' });
    // The CLIs got the run-scoped environment `tinyagi call` needs.
    const logged = readFileSync(join(h.dir, 'fake.log'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { env: Record<string, string> });
    expect(logged.map((l) => l.env.TINYAGI_RUN_ID).sort()).toEqual([root.runId, child.runId, grand.runId].sort());
    expect(logged.every((l) => l.env.TINYAGI_RUN_TOKEN === `token-for-${l.env.TINYAGI_RUN_ID}` && l.env.TINYAGI_API_URL === 'http://127.0.0.1:1')).toBe(true);

    const pids = [rootPids, childPids, grandPids].flatMap((p) => [p.cli, p.grandchild]);
    expect(pids.every((pid) => !isGone(pid))).toBe(true);

    const { cancelled } = await h.facets.conversations.cancelRun(root.runId, 'user pressed stop');
    expect([...cancelled].sort()).toEqual([root.runId, child.runId, grand.runId].sort());

    await waitFor(() => pids.every(isGone) || undefined, 10_000, 'all six processes to die');
    await expect(childResult).resolves.toMatchObject({ ok: false, code: 'CANCELLED' });
    await expect(grandResult).resolves.toMatchObject({ ok: false, code: 'CANCELLED' });
    await waitForCompletion(h, sent.conversationId);

    const events = await eventsOf(h.stores, { conversationId: sent.conversationId });
    for (const runId of [root.runId, child.runId, grand.runId]) {
      const terminal = events.filter((e) => e.runId === runId && ['run.completed', 'run.failed', 'run.cancelled', 'run.rejected'].includes(e.type));
      expect(terminal.map((e) => e.type)).toEqual(['run.cancelled']);
    }
    const subTerminal = events.filter((e) => e.type === 'subagent.completed' || e.type === 'subagent.failed');
    expect(subTerminal.map((e) => e.runId).sort()).toEqual([child.runId, grand.runId].sort());
    // The worker settles the aborted message once its invocation has returned.
    await waitFor(async () => (await h.stores.queue.counts()).processing === 0 || undefined, 10_000, 'the message to be settled');
    expect(await h.stores.queue.counts()).toMatchObject({ processing: 0, pending: 0, cancelled: 1 });
    expect(h.orchestrator.status().running).toEqual([]);
  });
});

describe('cancelling a message or a conversation', () => {
  const fakeWithPids = (dir: () => string) => (req: InvokeRequest) =>
    invokeAgent({ ...req, target: { ...req.target, command: FAKE_CLAUDE, killGraceMs: 500 }, env: { ...req.env, FAKE_PID_FILE: join(dir(), `${req.env?.TINYAGI_RUN_ID}.pids`) } });
  const pidsOf = (dir: string, runId: string) => {
    const file = join(dir, `${runId}.pids`);
    try {
      return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { cli: number; grandchild: number }) : undefined;
    } catch {
      return undefined; // caught mid-write
    }
  };

  it('a running message: its run ends, the CLI process group is killed and the conversation ends cancelled before the call returns', async () => {
    const h = await harness({ agents: { cc: { provider: 'anthropic' } } }, { invoke: fakeWithPids(() => h.dir) });
    const sent = await h.orchestrator.submit({ agent: 'cc', message: 'FAKE:grandchild', senderId: 'u1' });
    const running = await waitFor(() => h.orchestrator.status().running.find((r) => r.agentId === 'cc'), 10_000, 'the run');
    const pids = await waitFor(() => pidsOf(h.dir, running.runId), 10_000, 'the CLI');

    const outcome = await h.facets.conversations.cancelMessage(sent.messageId, 'user pressed stop');

    // Settled when the call returns: no waiting for a lease renewal.
    expect(outcome).toEqual({ id: sent.messageId, state: 'cancelled', status: 'cancelled' });
    expect(await h.stores.runs.getRun(running.runId)).toMatchObject({ status: 'cancelled', error: 'user pressed stop' });
    expect(await h.stores.runs.mustGetConversation(sent.conversationId)).toMatchObject({ status: 'cancelled', stopReason: 'user pressed stop' });
    const completed = await eventsOf(h.stores, { conversationId: sent.conversationId, types: ['conversation.completed'] });
    expect(completed.map((e) => e.data)).toEqual([expect.objectContaining({ status: 'cancelled', reason: 'user pressed stop' })]);
    await waitFor(() => (isGone(pids.cli) && isGone(pids.grandchild)) || undefined, 10_000, 'the process group to die');
    expect(h.orchestrator.status().running).toEqual([]);
    await expect(h.facets.conversations.cancelMessage(sent.messageId)).resolves.toMatchObject({ state: 'not_cancellable', status: 'cancelled' });
    await expect(h.facets.conversations.cancelMessage('msg_nope')).rejects.toMatchObject({ code: 'MESSAGE_NOT_FOUND' });
  });

  it('a message waiting for a rate limit to pass is cancelled at once, with its run and conversation', async () => {
    const h = await harness({ agents: { cc: { provider: 'mock', mock: { replies: [{ match: 'busy', fail: 'rate_limited' }] } } } });
    const sent = await h.orchestrator.submit({ agent: 'cc', message: 'busy', senderId: 'u1' });
    await waitFor(async () => (await eventsOf(h.stores, { conversationId: sent.conversationId, types: ['queue.retry'] }))[0], 10_000, 'the rate-limit retry');

    const outcome = await h.facets.conversations.cancelMessage(sent.messageId);
    expect(outcome).toMatchObject({ state: 'cancelled', status: 'cancelled' });
    const [run] = await h.stores.runs.listRuns(sent.conversationId);
    expect(run).toMatchObject({ status: 'cancelled' });
    expect((await h.stores.runs.mustGetConversation(sent.conversationId)).status).toBe('cancelled');
    expect(await eventsOf(h.stores, { conversationId: sent.conversationId, types: ['conversation.completed'] })).toHaveLength(1);
  });

  it('a cancel requested by another process (seen at lease renewal) also ends the run and settles the conversation', async () => {
    const h = await harness({ agents: { cc: { provider: 'anthropic' } } }, { invoke: fakeWithPids(() => h.dir), leaseMs: 300 });
    const sent = await h.orchestrator.submit({ agent: 'cc', message: 'FAKE:grandchild', senderId: 'u1' });
    const running = await waitFor(() => h.orchestrator.status().running.find((r) => r.agentId === 'cc'), 10_000, 'the run');
    const pids = await waitFor(() => pidsOf(h.dir, running.runId), 10_000, 'the CLI');

    // What the store does for a process that does not hold the message: only the request is written.
    expect(await h.stores.queue.cancel(sent.messageId, 'cancelled elsewhere')).toMatchObject({ state: 'cancelling' });
    await waitForCompletion(h, sent.conversationId);
    await waitFor(async () => (await h.stores.queue.get(sent.messageId))?.status === 'cancelled' || undefined, 10_000, 'the message to be cancelled');
    expect(await h.stores.runs.getRun(running.runId)).toMatchObject({ status: 'cancelled', error: 'cancelled elsewhere' });
    expect((await h.stores.runs.mustGetConversation(sent.conversationId)).status).toBe('cancelled');
    await waitFor(() => (isGone(pids.cli) && isGone(pids.grandchild)) || undefined, 10_000, 'the process group to die');
  });

  /**
   * The orchestrator's stores with one call held: the first call of `store.method` whose (real)
   * result passes `when` waits, after it ran, until the test lets it go, then answers that result
   * (`reread`: calls the store again). A cancel then lands between two steps of the handler,
   * whatever the backend's timing.
   */
  function holdOnce(store: 'runs' | 'queue', method: string, when: (result: unknown) => boolean) {
    let reached!: () => void;
    let letGo!: () => void;
    const held = new Promise<void>((resolve) => (reached = resolve));
    const released = new Promise<void>((resolve) => (letGo = resolve));
    let holding = true;
    const bound = (target: object, prop: string | symbol) => {
      const value = Reflect.get(target, prop, target) as unknown;
      return typeof value === 'function' ? value.bind(target) : value;
    };
    const wrap = (stores: StoreSet): StoreSet => {
      const inner = new Proxy(stores[store], {
        get(target, prop) {
          if (prop !== method) return bound(target, prop);
          const real = bound(target, prop) as (...args: unknown[]) => unknown;
          return async (...args: unknown[]) => {
            const result = await real(...args);
            if (!holding || !when(result)) return result;
            holding = false;
            reached();
            await released;
            return result;
          };
        },
      });
      return new Proxy(stores, { get: (target, prop) => (prop === store ? inner : bound(target, prop)) });
    };
    return { wrap, held, letGo: () => letGo() };
  }

  const slowMock = { agents: { cc: { provider: 'mock' as const, mock: { latency_ms: 60_000, reply: 'never' } } } };

  async function cancelWhileHeld(gate: Pick<ReturnType<typeof holdOnce>, 'wrap' | 'held' | 'letGo'>, invoked: number) {
    const log = recordingInvoker((req) => invokeAgent(req));
    const h = await harness(slowMock, { invoke: log.invoke, wrapStores: gate.wrap });
    const sent = await h.orchestrator.submit({ agent: 'cc', message: 'hello', senderId: 'u1' });
    await gate.held;
    expect((await h.stores.queue.get(sent.messageId))?.status).toBe('processing');
    const cancelling = h.facets.conversations.cancelConversation(sent.conversationId, 'changed my mind');
    await waitFor(async () => (await h.stores.runs.mustGetConversation(sent.conversationId)).status === 'cancelled' || undefined, 10_000, 'the cancel to commit');
    gate.letGo();
    expect(await cancelling).toMatchObject({ conversationId: sent.conversationId, status: 'cancelled', alreadyEnded: false });
    // Settled when the call returns, as cancelled (not completed by the batch's handler).
    expect((await h.stores.queue.get(sent.messageId))?.status).toBe('cancelled');
    expect((await h.stores.runs.listRuns(sent.conversationId)).map((r) => r.status)).toEqual(['cancelled']);
    expect(await eventsOf(h.stores, { conversationId: sent.conversationId, types: ['conversation.completed'] })).toHaveLength(1);
    expect(log.calls).toHaveLength(invoked);
    expect(h.orchestrator.status().running).toEqual([]);
  }

  /** Holds the handler once its run's start has committed (the run-start group: `durable: false`), until `letGo`. */
  function holdAfterStart() {
    let reached!: () => void;
    let letGo!: () => void;
    const held = new Promise<void>((resolve) => (reached = resolve));
    const released = new Promise<void>((resolve) => (letGo = resolve));
    let holding = true;
    const wrap = (stores: StoreSet): StoreSet =>
      new Proxy(stores, {
        get(target, prop) {
          const value = Reflect.get(target, prop, target) as unknown;
          if (prop !== 'groupCommit') return typeof value === 'function' ? value.bind(target) : value;
          return (options?: { durable?: boolean }) => {
            const group = target.groupCommit(options);
            if (options?.durable !== false) return group;
            return {
              async add(body: Parameters<typeof group.add>[0]) {
                await group.add(body);
                if (!holding) return;
                holding = false;
                reached();
                await released;
              },
            };
          };
        },
      });
    return { wrap, held, letGo: () => letGo() };
  }

  it('a conversation cancelled after its run started here, before the handler registered it: never invoked, the message ends cancelled before the call returns', async () => {
    // The start returned the run running; the cancel commits before the handler goes on.
    await cancelWhileHeld(holdAfterStart(), 0);
  });

  it('a conversation cancelled while this process claimed its message, before the claim reached the worker: the message ends cancelled before the call returns', async () => {
    // The claim has committed in the store; its result is on its way to the worker.
    await cancelWhileHeld(
      holdOnce('queue', 'claim', (batches) => (batches as unknown[]).length > 0),
      0,
    );
  });

  it('a whole conversation: every open run and queued message, status cancelled with the reason', async () => {
    const h = await harness(
      {
        agents: { cc: { provider: 'anthropic' }, other: { provider: 'mock', mock: { replies: [{ match: 'busy', fail: 'rate_limited' }] } } },
        teams: { t: { agents: ['cc', 'other'], leader_agent: 'cc' } },
      },
      { invoke: fakeWithPids(() => h.dir) },
    );
    const sent = await h.orchestrator.submit({ agent: 'cc', message: 'FAKE:grandchild', senderId: 'u1' });
    const running = await waitFor(() => h.orchestrator.status().running.find((r) => r.agentId === 'cc'), 10_000, 'the run');
    const pids = await waitFor(() => pidsOf(h.dir, running.runId), 10_000, 'the CLI');
    // A second message queued in the same conversation, behind nothing: it waits on a rate limit.
    const queued = await h.stores.queue.enqueue({ kind: 'system', agentId: 'other', conversationId: sent.conversationId, channel: 'api', content: 'busy', availableAt: Date.now() + 3_600_000 });

    const result = await h.facets.conversations.cancelConversation(sent.conversationId, 'not needed any more');
    expect(result).toEqual({ conversationId: sent.conversationId, status: 'cancelled', alreadyEnded: false, cancelled: [running.runId] });
    expect((await h.stores.queue.get(queued.id))?.status).toBe('cancelled');
    expect((await h.stores.queue.get(sent.messageId))?.status).toBe('cancelled');
    expect(await h.stores.runs.mustGetConversation(sent.conversationId)).toMatchObject({ status: 'cancelled', stopReason: 'not needed any more' });
    await waitFor(() => (isGone(pids.cli) && isGone(pids.grandchild)) || undefined, 10_000, 'the process group to die');
    // Already ended: nothing more to cancel, the status stays.
    await expect(h.facets.conversations.cancelConversation(sent.conversationId)).resolves.toEqual({ conversationId: sent.conversationId, status: 'cancelled', alreadyEnded: true, cancelled: [] });
  });

  it('cancelling the last open run of a chain whose first run answered ends the conversation cancelled, naming who cancelled it', async () => {
    const h = await harness({
      agents: {
        lead: { provider: 'mock', mock: { reply: 'over to you [@slow: finish it]' } },
        slow: { provider: 'mock', mock: { replies: [{ match: 'finish', fail: 'hang' }] } },
      },
      teams: { t: { agents: ['lead', 'slow'], leader_agent: 'lead' } },
    });
    const sent = await h.orchestrator.submit({ message: '@t start', senderId: 'u1' });
    const slow = await waitFor(() => h.orchestrator.status().running.find((r) => r.agentId === 'slow'), 10_000, 'the handoff to run');
    await h.facets.conversations.cancelRun(slow.runId, 'cancelled by TinyOffice');
    await waitForCompletion(h, sent.conversationId);
    expect(await h.stores.runs.mustGetConversation(sent.conversationId)).toMatchObject({ status: 'cancelled', stopReason: 'cancelled by TinyOffice', finished: true });
    const [completed] = await eventsOf(h.stores, { types: ['conversation.completed'] });
    expect(completed?.data).toMatchObject({ status: 'cancelled', reason: 'cancelled by TinyOffice' });
  });
});
