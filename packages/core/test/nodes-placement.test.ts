/**
 * Agent placement on one backend-neutral rule: `agentsForNode` gives a node its agents (assigned
 * to it or to no node), and two QueueWorkers restricted with it share one real SQLite queue
 * without ever running the other's agents; a settings change moves an agent live.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '@tinyagi/test-kit';
import { describe, expect, it } from 'vitest';
import type { Settings } from '../src/config/schema.ts';
import { validateSettings } from '../src/config/validate.ts';
import { agentsForNode, agentsOnOtherNodes, agentsWithoutNode } from '../src/nodes/placement.ts';
import { joinSettings, splitSettings } from '../src/nodes/settings-split.ts';
import { SqliteQueueStore } from '../src/queue/sqlite-store.ts';
import { QueueWorker } from '../src/queue/worker.ts';
import { openDatabase } from '../src/storage/database.ts';

describe('agent placement', () => {
  const settings: Settings = { agents: { a: { provider: 'mock', node: 'n1' }, b: { provider: 'mock', node: 'n2' }, c: { provider: 'mock' } } };

  it('a node runs the agents assigned to it and the unassigned ones', () => {
    expect(agentsForNode(settings, 'n1')).toEqual(['a', 'c']);
    expect(agentsForNode(settings, 'n2')).toEqual(['b', 'c']);
    expect(agentsForNode(settings, 'other')).toEqual(['c']);
    expect(agentsForNode({}, 'n1')).toEqual([]);
    expect(agentsWithoutNode(settings, new Set(['n1']))).toEqual([{ agent: 'b', node: 'n2' }]);
    // What the API node skips: only agents placed on another node (an unknown agent is not in it).
    expect(agentsOnOtherNodes(settings, 'n1')).toEqual(['b']);
    expect(agentsOnOtherNodes(settings, 'api')).toEqual(['a', 'b']);
  });

  it("an agent's node and this node's name are validated like any setting, with the path of the problem", () => {
    expect(validateSettings(settings).ok).toBe(true);
    const bad = validateSettings({ node: { name: 'has space' }, agents: { a: { node: '-x' } } });
    expect(bad.ok).toBe(false);
    expect(bad.ok ? [] : bad.issues.map((i) => i.path).sort()).toEqual(['agents.a.node', 'node.name']);
  });

  it('storage, node and workspace stay local; everything else is shared', () => {
    const all: Settings = { storage: { url: 'postgres://db/x' }, node: { name: 'n1' }, workspace: { path: '/w' }, agents: settings.agents, queue: { concurrency: 3 } } as Settings;
    const { shared, local } = splitSettings(all);
    expect(Object.keys(shared)).toEqual(['agents', 'queue']);
    expect(Object.keys(local)).toEqual(['storage', 'node', 'workspace']);
    expect(joinSettings({ ...shared, node: { name: 'ignored' } } as Settings, local)).toEqual({ ...shared, ...local });
  });

  it('two workers restricted to their nodes share one queue without running the other node’s agents; a change of placement applies at the next claim', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tinyagi-placement-'));
    const db = openDatabase({ path: join(dir, 'q.db') });
    const store = new SqliteQueueStore(db);
    let live: Settings = structuredClone(settings);
    const ran: Array<[string, string]> = [];
    const workers = ['n1', 'n2'].map(
      (node) =>
        new QueueWorker({
          store,
          owner: `node:${node}:w`,
          sweepMs: 3_600_000,
          agents: () => new Set(agentsForNode(live, node)),
          handler: async (batch) => {
            ran.push(...batch.messages.map((m): [string, string] => [node, m.agentId]));
          },
        }),
    );
    try {
      for (const w of workers) w.start();
      for (let i = 0; i < 3; i++) for (const agentId of ['a', 'b', 'c']) store.enqueue({ kind: 'job', agentId, conversationId: `${agentId}${i}`, channel: 'api', content: String(i) });
      await waitFor(() => ran.length === 9, 10_000, 'nine runs');
      expect(ran.filter(([, agent]) => agent === 'a').every(([node]) => node === 'n1')).toBe(true);
      expect(ran.filter(([, agent]) => agent === 'b').every(([node]) => node === 'n2')).toBe(true);
      expect(ran.filter(([, agent]) => agent === 'c')).toHaveLength(3);

      live = { agents: { ...live.agents, a: { provider: 'mock', node: 'n2' } } };
      store.enqueue({ kind: 'job', agentId: 'a', conversationId: 'moved', channel: 'api', content: 'moved' });
      await waitFor(() => ran.length === 10, 10_000, 'the moved agent to run');
      expect(ran.at(-1)).toEqual(['n2', 'a']);
    } finally {
      for (const w of workers) await w.stop(1000);
      db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
