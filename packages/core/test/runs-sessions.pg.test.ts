/**
 * The PostgreSQL run and session stores used by two nodes at once (two pools on one schema):
 * counters added in place, a run finished once, and session turns that lock the row they read,
 * so no update is lost. Each test has its own schema. Under CI=1 an unreachable database fails.
 */
import { dropSchema, pgTestDatabase, testSchema } from '@tinyagi/test-kit/pg';
import pg from 'pg';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { PgConversationQueries } from '../src/runs/pg-queries.ts';
import { PgRunStore } from '../src/runs/pg-store.ts';
import { PgAgentSessionStore } from '../src/sessions/pg-stores.ts';
import { migratePg } from '../src/storage/pg/migrate.ts';
import { PgPoolScope } from '../src/storage/pg/scope.ts';

const db = await pgTestDatabase();
const pools = [new pg.Pool({ connectionString: db.url, max: 6 }), new pg.Pool({ connectionString: db.url, max: 6 })] as const;
afterAll(() => Promise.all(pools.map((p) => p.end())));

let schema = '';
afterEach(async () => {
  if (schema) await dropSchema(pools[0], schema);
  schema = '';
});

/** A fresh schema and one scope per "node" (its own pool). */
async function twoNodes(): Promise<[PgPoolScope, PgPoolScope]> {
  schema = testSchema('rs');
  await migratePg(pools[0], schema);
  return [new PgPoolScope(pools[0], schema), new PgPoolScope(pools[1], schema)];
}

describe.skipIf(db.skip !== undefined)('PostgreSQL run and session stores on two nodes', () => {
  it('records every turn of one session written by two nodes at once (first turn included): none is lost', async () => {
    const [a, b] = await twoNodes();
    const stores = [new PgAgentSessionStore(a), new PgAgentSessionStore(b)];
    const perNode = 15;
    await Promise.all(
      stores.flatMap((store, n) =>
        Array.from({ length: perNode }, (_, i) => store.recordTurn('coder', 'chat:1', { provider: 'claude', sessionId: 's1', user: `n${n}u${i}`, assistant: `n${n}a${i}`, maxMessages: 1000 })),
      ),
    );
    const session = await stores[0]!.get('coder', 'chat:1');
    expect(session?.turns).toBe(2 * perNode);
    expect(session?.transcript).toHaveLength(4 * perNode);
    // Each turn's two messages stand together: a turn is written as one unit.
    for (let k = 0; k < session!.transcript.length; k += 2) {
      expect(session!.transcript[k + 1]!.content).toBe(session!.transcript[k]!.content.replace('u', 'a'));
    }
  });

  it('adds conversation counters of two nodes in place and finishes a run once when both try', async () => {
    const [a, b] = await twoNodes();
    const runs = [new PgRunStore(a), new PgRunStore(b)];
    const c = await runs[0]!.createConversation({ rootAgentId: 'a', channel: 'api' });
    await Promise.all(runs.flatMap((store) => Array.from({ length: 25 }, () => store.bumpConversation(c.id, { hops: 1, messages: 2, inputTokens: 10, costUsd: 0.5 }))));
    expect(await runs[1]!.mustGetConversation(c.id)).toMatchObject({ hops: 50, messageCount: 100, inputTokens: 500, costUsd: 25 });
    const run = await runs[0]!.createRun({ conversationId: c.id, agentId: 'a', cause: 'user', status: 'running' });
    const finished = await Promise.all([
      runs[0]!.finishRun(run.id, { status: 'completed', usage: { inputTokens: 1, outputTokens: 1 } }),
      runs[1]!.finishRun(run.id, { status: 'cancelled', usage: { inputTokens: 1, outputTokens: 1 } }),
    ]);
    expect(finished.filter(Boolean)).toHaveLength(1);
    const after = await runs[1]!.mustGetRun(run.id);
    expect(after.status).toBe(finished[0] ? 'completed' : 'cancelled');
    expect(after.inputTokens).toBe(1);
  });

  it("a claim's batch contexts are one statement over the pool when asked in one turn; inside a transaction each is its own", async () => {
    const [a] = await twoNodes();
    const runs = new PgRunStore(a);
    const queries = new PgConversationQueries(a);
    const conversations = await Promise.all(['x', 'y', 'z'].map((agent) => runs.createConversation({ rootAgentId: agent, channel: 'api' })));
    const created = await Promise.all(conversations.map((c) => runs.createRun({ conversationId: c.id, agentId: c.rootAgentId, cause: 'user' })));
    const asked = conversations.map((c, i) => ({ conversationId: c.id, runIds: [created[i]!.id], session: { agentId: c.rootAgentId, sessionKey: 'k' } }));
    const spy = vi.spyOn(pools[0], 'query');
    try {
      const contexts = await Promise.all(asked.map((q) => queries.runContext(q)));
      expect(contexts.map((c) => [c.conversation?.id, c.runs.map((r) => r.id)])).toEqual(conversations.map((c, i) => [c.id, [created[i]!.id]]));
      expect(spy).toHaveBeenCalledTimes(1);
      // Inside a transaction (its statements go one after another): each read alone, the same answers.
      const inTx = await a.transaction(async (tx) => {
        const read = [];
        for (const q of asked) read.push(await new PgConversationQueries(tx).runContext(q));
        return read;
      });
      expect(inTx).toEqual(contexts);
    } finally {
      spy.mockRestore();
    }
  });
});
