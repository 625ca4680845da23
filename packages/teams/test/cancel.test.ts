/**
 * Cancellation down a tree of real subprocesses: every agent is the fake Claude Code CLI from
 * core's fixtures, started with FAKE:grandchild (it spawns a sleeping child of its own, writes
 * both pids to FAKE_PID_FILE, then hangs). Children are spawned through the run-scoped entry
 * point, exactly as the server route behind `tinyagi call` does.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { invokeAgent, type InvokeRequest } from '@tinyagi/core';
import { closeAll, eventsOf, harness, waitFor, waitForCompletion } from './helpers.ts';

afterEach(closeAll);

const FAKE_CLAUDE = fileURLToPath(new URL('../../core/test/fixtures/bin/claude', import.meta.url));

/** ESRCH, or an exited process a container init never reaped (state Z). */
function isGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').startsWith('Z');
  } catch {
    return true;
  }
}

describe('cancelling a run tree', () => {
  it('cancelling the root kills every descendant subprocess and ends every run once', async () => {
    const pidDir = (): string => h.dir;
    const invoke = (req: InvokeRequest) =>
      invokeAgent({ ...req, target: { ...req.target, command: FAKE_CLAUDE, killGraceMs: 500 }, env: { ...req.env, FAKE_PID_FILE: join(pidDir(), `${req.env?.TINYAGI_RUN_ID}.pids`), FAKE_LOG: join(pidDir(), 'fake.log') } });
    const h = harness(
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

    const sent = h.orchestrator.submit({ message: '@root FAKE:grandchild', senderId: 'u1' });
    const root = await waitFor(() => h.orchestrator.status().running.find((r) => r.agentId === 'root'), 10_000, 'the root run');
    const rootPids = await waitFor(() => pidsOf(root.runId), 10_000, 'the root CLI');

    const childResult = h.orchestrator.spawn(root.runId, { agent: 'child', task: 'FAKE:grandchild' });
    const child = await waitFor(() => h.orchestrator.status().running.find((r) => r.agentId === 'child'), 10_000, 'the child run');
    const childPids = await waitFor(() => pidsOf(child.runId), 10_000, 'the child CLI');
    const grandResult = h.orchestrator.spawn(child.runId, { agent: 'grand', task: 'FAKE:grandchild' });
    const grand = await waitFor(() => h.orchestrator.status().running.find((r) => r.agentId === 'grand'), 10_000, 'the grandchild run');
    const grandPids = await waitFor(() => pidsOf(grand.runId), 10_000, 'the grandchild CLI');

    expect(h.stores.runs.getRun(grand.runId)).toMatchObject({ depth: 2, parentRunId: child.runId, status: 'running' });
    // The CLIs got the run-scoped environment `tinyagi call` needs.
    const logged = readFileSync(join(h.dir, 'fake.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { env: Record<string, string> });
    expect(logged.map((l) => l.env.TINYAGI_RUN_ID).sort()).toEqual([root.runId, child.runId, grand.runId].sort());
    expect(logged.every((l) => l.env.TINYAGI_RUN_TOKEN === `token-for-${l.env.TINYAGI_RUN_ID}` && l.env.TINYAGI_API_URL === 'http://127.0.0.1:1')).toBe(true);

    const pids = [rootPids, childPids, grandPids].flatMap((p) => [p.cli, p.grandchild]);
    expect(pids.every((pid) => !isGone(pid))).toBe(true);

    const { cancelled } = h.orchestrator.cancelRun(root.runId, 'user pressed stop');
    expect([...cancelled].sort()).toEqual([root.runId, child.runId, grand.runId].sort());

    await waitFor(() => pids.every(isGone) || undefined, 10_000, 'all six processes to die');
    await expect(childResult).resolves.toMatchObject({ ok: false, code: 'CANCELLED' });
    await expect(grandResult).resolves.toMatchObject({ ok: false, code: 'CANCELLED' });
    await waitForCompletion(h, sent.conversationId);

    const events = eventsOf(h.stores, { conversationId: sent.conversationId });
    for (const runId of [root.runId, child.runId, grand.runId]) {
      const terminal = events.filter((e) => e.runId === runId && ['run.completed', 'run.failed', 'run.cancelled', 'run.rejected'].includes(e.type));
      expect(terminal.map((e) => e.type)).toEqual(['run.cancelled']);
    }
    const subTerminal = events.filter((e) => e.type === 'subagent.completed' || e.type === 'subagent.failed');
    expect(subTerminal.map((e) => e.runId).sort()).toEqual([child.runId, grand.runId].sort());
    expect(h.stores.queue.counts()).toMatchObject({ processing: 0, pending: 0, cancelled: 1 });
    expect(h.orchestrator.status().running).toEqual([]);
  });
});
