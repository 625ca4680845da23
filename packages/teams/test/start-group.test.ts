/**
 * The start stage's group commit (start-group.ts) on the real stores: the batches that start in
 * one event-loop turn start their runs in one update, each learns its runs as the update left
 * them, and a batch whose part fails fails alone, written again apart from the others, which start.
 * On SQLite here, and on PostgreSQL in `pnpm test:pg`.
 */
import { join } from 'node:path';
import { tempDir } from '@tinyagi/test-kit';
import { afterAll, describe, expect, it } from 'vitest';
import type { RunRecord } from '@tinyagi/core';
import { io } from '../src/core-internal.ts';
import { startGroup, type StartItem } from '../src/orchestrator/start-group.ts';
import { closeAll, testStores } from './helpers.ts';

afterAll(closeAll);

describe('start group', () => {
  it('starts the runs of the batches added in one turn; a batch whose part throws fails alone and its runs stay queued', async () => {
    const { stores } = await testStores(join(tempDir('tinyagi-start-group-'), 'tinyagi.db'));
    const c = await stores.runs.createConversation({ rootAgentId: 'a', channel: 'api' });
    const make = (agentId: string) => stores.runs.createRun({ conversationId: c.id, agentId, cause: 'user' });
    const [a1, a2, b, ended] = [await make('a'), await make('a'), await make('b'), await make('c')];
    await stores.runs.finishRun(ended.id, { status: 'cancelled' });
    const group = startGroup(stores.groupCommit({ durable: false }), 'n1');
    const seen = new Map<string, Array<RunRecord | undefined>>();
    const item = (name: string, runs: RunRecord[], fail = false): StartItem => ({
      starts: runs.map((run, i) => ({ run, messageIds: [`${name}_m${i}`] })),
      *started(tx, started) {
        seen.set(name, [...started]);
        // A write of its own in the start's transaction, rolled back with it when it fails.
        yield* io(tx.stores.events.append({ type: 'system.notice', data: { note: name } }));
        if (fail) throw new Error(`${name} failed`);
      },
    });
    const results = await Promise.allSettled([group.add(item('first', [a1, a2])), group.add(item('broken', [b], true)), group.add(item('late', [ended]))]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason).toMatchObject({ message: 'broken failed' });
    // Each batch saw its own runs, in its order, as the update left them: the ended run not started.
    expect(seen.get('first')!.map((r) => [r?.id, r?.status, r?.messageIds, r?.node])).toEqual([
      [a1.id, 'running', ['first_m0'], 'n1'],
      [a2.id, 'running', ['first_m1'], 'n1'],
    ]);
    expect(seen.get('late')).toEqual([undefined]);
    expect((await stores.runs.getRun(a1.id))?.status).toBe('running');
    expect((await stores.runs.getRun(a2.id))?.status).toBe('running');
    expect((await stores.runs.getRun(b.id))?.status).toBe('queued');
    expect((await stores.runs.getRun(ended.id))?.status).toBe('cancelled');
    const notes = (await stores.events.readSince(0)).filter((e) => e.type === 'system.notice').map((e) => (e.data as { note: string }).note);
    expect(notes.sort()).toEqual(['first', 'late']);
  });
});
