/**
 * Two nodes ending the last two runs of one conversation at the same moment (PostgreSQL, READ
 * COMMITTED): each transaction finishes its run, then asks whether every run of the conversation
 * has ended. Without ordering, each sees the other's run still open (not yet committed) and
 * neither completes the conversation: it stays active for good. A run's finish locks the
 * conversation's row (and `completeIfDone` does too when nothing in its transaction did), so the
 * second finish waits for the first commit and its check sees it. The interleaving is forced:
 * T2 finishes while T1 (which already finished) has not committed yet.
 */
import { openPgStores, type PgStores } from '@tinyagi/core/pg';
import { runBody } from '@tinyagi/core/internal';
import { waitFor } from '@tinyagi/test-kit';
import { dropSchema, pgTestDatabase, testSchema } from '@tinyagi/test-kit/pg';
import { afterEach, describe, expect, it } from 'vitest';
import { completeIfDone } from '../src/orchestrator/conversation-ops.ts';

const db = await pgTestDatabase();

const opened: PgStores[] = [];
let schema = '';
afterEach(async () => {
  if (schema && opened[0]) await dropSchema(opened[0].pool, schema);
  for (const s of opened.splice(0)) await s.close();
  schema = '';
});

/** A backend of this database waits for a row lock (the second check waiting for the first commit). */
async function someoneWaitsForALock(stores: PgStores): Promise<boolean> {
  const { rows } = await stores.pool.query("SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'");
  return rows.length > 0;
}

describe.skipIf(db.skip !== undefined)('completing a conversation from two nodes at once (PostgreSQL)', () => {
  it('the last two runs ending in two concurrent transactions complete the conversation once', async () => {
    schema = testSchema('race');
    const a = await openPgStores({ url: db.url, schema, poolSize: 4 });
    opened.push(a);
    const b = await openPgStores({ url: db.url, schema, poolSize: 4 });
    opened.push(b);
    const conversation = await a.runs.createConversation({ rootAgentId: 'lead', channel: 'api' });
    const [r1, r2] = [
      await a.runs.createRun({ conversationId: conversation.id, agentId: 'x', cause: 'user', channel: 'api' }),
      await a.runs.createRun({ conversationId: conversation.id, agentId: 'y', cause: 'user', channel: 'api' }),
    ];
    for (const run of [r1, r2]) await a.runs.startRun(run.id);

    let r1Finished!: () => void;
    const r1FinishedP = new Promise<void>((resolve) => (r1Finished = resolve));
    let t2Finishing = false;
    let t2Finished = false;
    let t2WaitedInFinish = false;

    // Node A: finishes r1 (which locks the conversation), lets node B finish r2, checks once B's
    // finish has run or waits for A's lock, and commits.
    const t1 = a.transaction(async (tx) => {
      await tx.stores.runs.finishRun(r1.id, { status: 'completed', output: 'x done' });
      r1Finished();
      await waitFor(
        async () => {
          if (t2Finished) return true;
          if (t2Finishing && (await someoneWaitsForALock(a))) t2WaitedInFinish = true;
          return t2WaitedInFinish;
        },
        15_000,
        "node B's finish to run or wait",
      );
      return runBody((t) => completeIfDone(t, conversation.id), tx);
    });
    const t2 = b.transaction(async (tx) => {
      await r1FinishedP;
      t2Finishing = true;
      await tx.stores.runs.finishRun(r2.id, { status: 'completed', output: 'y done' });
      t2Finished = true;
      return runBody((t) => completeIfDone(t, conversation.id), tx);
    });
    const [first, second] = await Promise.all([t1, t2]);

    // Finishing r2 waited for node A's commit (a run's finish locks its conversation, docs/storage.md).
    expect(t2WaitedInFinish).toBe(true);
    // The first check saw r2 still open; the second saw both ended and completed the conversation.
    expect([first, second]).toEqual([false, true]);
    const after = await a.runs.mustGetConversation(conversation.id);
    expect(after.finished).toBe(true);
    expect(after.status).toBe('completed');
    await a.events.flush();
    const completed = await a.events.readSince(0, { conversationId: conversation.id, types: ['conversation.completed'] }, 100);
    expect(completed).toHaveLength(1);
  });
});
