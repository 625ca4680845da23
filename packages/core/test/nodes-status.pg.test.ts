/**
 * What the status says about nodes (nodes/status.ts), over the real registry on PostgreSQL: a
 * stopped node whose name runs again is left out (a restart does not pile up rows), another
 * stopped node stays listed until pruned; agents placed on a node that is down are listed with
 * that node's state (stopped, stale, absent) and their pending messages.
 */
import { dropSchema, testSchema } from '@tinyagi/test-kit/pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Settings } from '../src/config/schema.ts';
import { type LocalNode, NodeRegistry } from '../src/nodes/registry.ts';
import { agentsWaitingForNodes, nodesForStatus } from '../src/nodes/status.ts';
import { migratePg } from '../src/storage/pg/migrate.ts';
import { twoNodePools } from './pg-pools.ts';

const { db, poolA } = await twoNodePools();

describe.skipIf(db.skip !== undefined)('node status', () => {
  let schema: string;
  let registry: NodeRegistry;
  const running: LocalNode[] = [];
  beforeEach(async () => {
    schema = testSchema('ns');
    await migratePg(poolA, schema);
    registry = new NodeRegistry(poolA, { schema });
  });
  afterEach(async () => {
    for (const node of running.splice(0)) await node.stop();
    await dropSchema(poolA, schema);
  });
  const register = async (name: string, heartbeatMs = 5000): Promise<LocalNode> => {
    const node = await registry.register({ role: name === 'api' ? 'api' : 'worker', name, version: 't', heartbeatMs, onLost: () => {} });
    running.push(node);
    return node;
  };

  it('leaves out stopped nodes whose name runs again, and lists the agents whose node is down', async () => {
    await (await register('api')).stop();
    await register('api');
    await (await register('gpu-box')).stop();
    // A node that beats once a minute, its last beat put five minutes back: stale, as if it hung.
    await register('cpu-box', 60_000);
    await poolA.query(`UPDATE "${schema}".nodes SET heartbeat_at = heartbeat_at - 300000 WHERE name = 'cpu-box'`);

    const all = await registry.list();
    expect(all.map((n) => `${n.name}:${n.state}`).sort()).toEqual(['api:live', 'api:stopped', 'cpu-box:stale', 'gpu-box:stopped']);
    expect(
      nodesForStatus(all)
        .map((n) => `${n.name}:${n.state}`)
        .sort(),
    ).toEqual(['api:live', 'cpu-box:stale', 'gpu-box:stopped']);

    const settings: Settings = {
      agents: {
        free: { provider: 'mock' },
        home: { provider: 'mock', node: 'api' },
        gpu: { provider: 'mock', node: 'gpu-box' },
        cpu: { provider: 'mock', node: 'cpu-box' },
        nowhere: { provider: 'mock', node: 'laptop' },
      },
    };
    expect(agentsWaitingForNodes(settings, all, new Map([['gpu', 3]]))).toEqual([
      { agentId: 'gpu', node: 'gpu-box', nodeState: 'stopped', pending: 3 },
      { agentId: 'cpu', node: 'cpu-box', nodeState: 'stale', pending: 0 },
      { agentId: 'nowhere', node: 'laptop', nodeState: 'absent', pending: 0 },
    ]);
  });
});
