/**
 * Crash harness (spec 80-quality, Reliability): the daemon runs as a child process under a
 * steady load of messages sent through the API and is killed with SIGKILL at random moments,
 * then started again, many times. At the end every accepted message is completed or dead with
 * a reason, nothing is lost, and no reply is stored (delivered) twice.
 *
 * Why the checks below would catch the failures they are about:
 * - A lost message: every key that got a 202 is looked up by its messageId (404 fails), must
 *   be `completed` or `dead` with a `lastError` (its conversation failed exactly when one of its
 *   messages, a handoff's included, is dead), and SQL counts one `user` message and one
 *   conversation per accepted key; a lost handoff leaves a team conversation whose completed
 *   leader run has no reviewer run.
 * - A lost reply: every completed human-facing run must have exactly one `reply` row.
 * - A duplicate: a retried POST that enqueued again would give a second message/conversation
 *   for a key (counts differ from the number of keys; the re-POST at the end must answer the
 *   first messageId with created=false); a reply stored twice would give a run two `reply` rows
 *   or an outbox key twice (the API listing and the SQL GROUP BY both check it; the schema's
 *   UNIQUE constraint on outbox.idempotency_key makes the latter a guard against its removal).
 * The harness also asserts that the crashes really happened under load: at least 20 kills,
 * POSTs that failed because the daemon was down and were retried with the same key.
 *
 * The plan (message targets, channels, pauses, kill delays) comes from a seeded PRNG; the seed
 * is printed and TINYAGI_CRASH_SEED=<seed> replays the same plan (timings still vary).
 */
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { openStores } from '@tinyagi/core/internal';
import { isApiError, type ApiClient, type OutboxView, type SendMessageBody } from '@tinyagi/client';
import { createDaemon, pidAlive, type TestDaemon } from '@tinyagi/test-kit';
import { CRASH_TEAM, endedConversations, flattenRuns, waitForDrain } from './helpers/crash.ts';
import { seededRandom, seedFromEnv } from './helpers/seeded-random.ts';

const KILLS = 22;
const KILL_DELAY_MS = [100, 600] as const;
const LANES = 3;
/** A cap well above what the lanes send before the last kill (about 200 on a 2-core machine). */
const MAX_MESSAGES = 500;
const SEND_GAP_MS = [50, 250] as const;
const CLIENT_CALL_TIMEOUT_MS = 5000;
const DRAIN_TIMEOUT_MS = 40_000;

const SETTINGS = (root: string) => ({ ...CRASH_TEAM, workspace: { path: join(root, 'workspace'), name: 'workspace' } });

type Target = 'team' | 'coder' | 'reviewer';

interface PlannedMessage {
  key: string;
  channel: 'telegram' | 'api';
  target: Target;
  body: SendMessageBody;
  gapMs: number;
}

interface Accepted {
  plan: PlannedMessage;
  messageId: string;
  conversationId: string;
  /** POSTs of this key that failed because the daemon was down (or rate limited). */
  failedPosts: number;
  created: boolean;
}

function planMessages(seed: number): PlannedMessage[] {
  const rand = seededRandom(seed);
  return Array.from({ length: MAX_MESSAGES }, (_, i) => {
    const channel = rand.pick(['telegram', 'api'] as const);
    const target = rand.pick(['team', 'team', 'coder', 'reviewer'] as const);
    const key = `crash-${seed}-${i}`;
    const senderId = `user-${rand.int(1, 5)}`;
    const base = { channel, sender: senderId, senderId, idempotencyKey: key };
    const body: SendMessageBody = target === 'team' ? { ...base, team: 'dev', message: `please build feature ${i}` } : { ...base, agent: target, message: `status of item ${i}?` };
    return { key, channel, target, body, gapMs: rand.int(...SEND_GAP_MS) };
  });
}

async function allOutbox(client: ApiClient, channel?: string): Promise<OutboxView[]> {
  const rows: OutboxView[] = [];
  for (let afterSeq = 0; ; ) {
    const page = await client.listOutbox({ query: { ...(channel ? { channel } : {}), afterSeq, limit: 100 } });
    rows.push(...page);
    if (page.length < 100) return rows;
    afterSeq = page[page.length - 1]!.seq;
  }
}

const homes: TestDaemon[] = [];
afterEach(async () => {
  await Promise.all(homes.splice(0).map((h) => h.cleanup()));
});

describe('crash harness', () => {
  it(`keeps every accepted message and never stores a reply twice across ${KILLS} SIGKILLs under load`, { timeout: 120_000 }, async () => {
    const seed = seedFromEnv('TINYAGI_CRASH_SEED');
    const tag = `seed ${seed} (replay: TINYAGI_CRASH_SEED=${seed})`;
    console.log(`crash harness: ${tag}`);
    const started = Date.now();

    const h = await createDaemon();
    homes.push(h);
    h.env['TINYAGI_API_TOKEN'] = randomBytes(32).toString('base64url');
    mkdirSync(h.home, { recursive: true });
    writeFileSync(join(h.home, 'settings.json'), JSON.stringify(SETTINGS(h.root), null, 2));
    const client = h.api;

    const plans = planMessages(seed);
    const killRand = seededRandom(seed ^ 0x5eed);
    const killDelays = Array.from({ length: KILLS }, () => killRand.int(...KILL_DELAY_MS));

    await h.start();

    // --- load: LANES senders, each retrying a failed POST with the same key until it is accepted.
    const accepted = new Map<string, Accepted>();
    let kills = 0;
    let nextIndex = 0;
    let stopNew = false;
    const send = async (plan: PlannedMessage): Promise<void> => {
      let failedPosts = 0;
      const deadline = Date.now() + 60_000;
      for (;;) {
        try {
          const res = await client.sendMessage({ body: plan.body, signal: AbortSignal.timeout(CLIENT_CALL_TIMEOUT_MS) });
          expect(res.messageId, `${plan.key}: ${tag}`).not.toBe('');
          accepted.set(plan.key, { plan, messageId: res.messageId, conversationId: res.conversationId, failedPosts, created: res.created });
          return;
        } catch (err) {
          // Down (refused, reset, or answered by nobody) or rate limited: not accepted, try again.
          // Any other answer (4xx/5xx) is a bug and fails the test.
          if (!isApiError(err, 'NETWORK_ERROR') && !isApiError(err, 'RATE_LIMITED')) throw err;
          failedPosts++;
          if (Date.now() > deadline) throw new Error(`${plan.key} was never accepted: ${err.message}; ${tag}`);
          await sleep(isApiError(err, 'RATE_LIMITED') ? 1000 : 50);
        }
      }
    };
    let killsUnderLoad: number | undefined;
    let laneError: unknown;
    const lane = async (): Promise<void> => {
      try {
        while (!stopNew && nextIndex < plans.length) {
          const plan = plans[nextIndex++]!;
          await send(plan);
          await sleep(plan.gapMs);
        }
        if (!stopNew) killsUnderLoad ??= kills; // ran out of planned messages before the last kill
      } catch (err) {
        laneError ??= err;
        stopNew = true;
      }
    };
    const lanes = Promise.all(Array.from({ length: LANES }, lane));

    // --- crashes: SIGKILL at a random moment after the daemon is healthy, then start it again.
    for (const delay of killDelays) {
      if (laneError) break;
      await sleep(delay);
      await h.kill();
      kills++;
      await h.start();
    }
    killsUnderLoad ??= kills;
    stopNew = true;
    await lanes;
    if (laneError) throw laneError;
    const killPhaseMs = Date.now() - started;

    // --- drain: the last daemon finishes (or dead-letters) everything; a conversation whose message
    // the crashes dead-lettered ends `failed` (checked below).
    await waitForDrain(client, DRAIN_TIMEOUT_MS, tag, () => h.logs());
    const entries = [...accepted.values()];
    const trees = await endedConversations(
      client,
      entries.map((a) => a.conversationId),
      15_000,
      tag,
    );

    // --- the load really ran through the crashes.
    const failedPosts = entries.reduce((n, a) => n + a.failedPosts, 0);
    const retriedAndAlreadyStored = entries.filter((a) => a.failedPosts > 0 && !a.created).length;
    expect(killsUnderLoad, `kills while messages were being sent; ${tag}`).toBeGreaterThanOrEqual(20);
    expect(entries.length, tag).toBeGreaterThanOrEqual(100);
    expect(failedPosts, `POSTs that failed while the daemon was down; ${tag}`).toBeGreaterThan(0);
    expect(new Set(entries.map((a) => a.messageId)).size, `one message per key; ${tag}`).toBe(entries.length);
    expect(new Set(entries.map((a) => a.conversationId)).size, `one conversation per key; ${tag}`).toBe(entries.length);

    // --- every accepted message: completed, or dead with a reason; never lost.
    const statusCounts: Record<string, number> = {};
    const deadReasons = new Set<string>();
    for (const a of entries) {
      const detail = await client.getMessage({ params: { id: a.messageId } });
      const m = detail.message;
      statusCounts[m.status] = (statusCounts[m.status] ?? 0) + 1;
      expect(m.conversationId).toBe(a.conversationId);
      expect(['completed', 'dead'], `${a.plan.key} ended ${m.status}; ${tag}`).toContain(m.status);
      if (m.status === 'dead') {
        // The mock agents never fail, so the only acceptable way to die is crashes using up the attempts.
        expect(m.lastError, `${a.plan.key} is dead for another reason; ${tag}`).toMatch(/^lease expired while processing .*gave up after \d+ attempts?/);
        deadReasons.add(m.lastError!.replace(/worker \S+/, 'worker …'));
      }
    }

    // --- re-sending an accepted key (as a client that never saw the answer would) adds nothing.
    for (const a of entries.slice(0, 10)) {
      const again = await client.sendMessage({ body: a.plan.body });
      expect(again, `${a.plan.key} re-sent; ${tag}`).toMatchObject({ messageId: a.messageId, conversationId: a.conversationId, created: false });
    }

    // --- replies: one per completed human-facing run, none twice, none for a stranger.
    const outbox = await allOutbox(client);
    const telegram = await allOutbox(client, 'telegram');
    expect(telegram).toEqual(outbox.filter((r) => r.channel === 'telegram'));
    expect(
      telegram.every((r) => r.status === 'pending'),
      `telegram replies wait for a channel client; ${tag}`,
    ).toBe(true);
    expect(new Set(telegram.map((r) => r.idempotencyKey)).size, `distinct idempotency keys on telegram; ${tag}`).toBe(telegram.length);
    expect(new Set(outbox.map((r) => r.idempotencyKey)).size, `distinct idempotency keys; ${tag}`).toBe(outbox.length);
    const byConversation = new Map(entries.map((a) => [a.conversationId, a]));
    const telegramConversations = new Set(entries.filter((a) => a.plan.channel === 'telegram').map((a) => a.conversationId));
    for (const r of telegram) expect(telegramConversations.has(r.conversationId ?? ''), `reply ${r.id} for a conversation nobody sent on telegram; ${tag}`).toBe(true);
    for (const r of outbox) expect(byConversation.get(r.conversationId ?? '')?.plan.channel, `reply ${r.id} on the wrong channel; ${tag}`).toBe(r.channel);

    const replies = outbox.filter((r) => r.meta['kind'] === 'reply');
    const repliesPerRun = new Map<string, number>();
    for (const r of replies) repliesPerRun.set(r.runId ?? '', (repliesPerRun.get(r.runId ?? '') ?? 0) + 1);
    let completedRuns = 0;
    for (const a of entries) {
      const runs = flattenRuns(trees.get(a.conversationId)!.roots);
      for (const run of runs) {
        const n = repliesPerRun.get(run.runId) ?? 0;
        expect(n, `replies of run ${run.runId} (${run.status}) in ${a.plan.key}; ${tag}`).toBe(run.status === 'completed' ? 1 : 0);
        if (run.status === 'completed') completedRuns++;
      }
      const leader = runs.find((r) => r.depth === 0);
      expect(leader?.agentId, `${a.plan.key}; ${tag}`).toBe(a.plan.target === 'reviewer' ? 'reviewer' : 'coder');
      // A completed leader run of the team always handed off to the reviewer: the handoff is not lost.
      if (a.plan.target === 'team' && leader?.status === 'completed') {
        expect(
          runs.filter((r) => r.agentId === 'reviewer'),
          `handoff of ${a.plan.key}; ${tag}`,
        ).toHaveLength(1);
      }
    }
    expect(replies, `every reply belongs to a run of an accepted conversation; ${tag}`).toHaveLength(completedRuns);

    // --- stop the last daemon; its process is gone.
    const lastPid = h.pid;
    const exit = await h.stop();
    expect(exit?.code, h.output()).toBe(0);
    expect(pidAlive(lastPid)).toBe(false);
    expect(existsSync(join(h.home, 'daemon.lock'))).toBe(false);

    // --- the database itself, opened directly once no daemon holds it.
    const stores = openStores({ dbPath: join(h.home, 'tinyagi.db') });
    try {
      const all = (sql: string): unknown[] => stores.db.sqlite.prepare(sql).all();
      expect(all("SELECT id, status FROM messages WHERE status IN ('pending', 'processing')"), tag).toEqual([]);
      expect(all("SELECT id, status FROM runs WHERE status IN ('queued', 'running')"), tag).toEqual([]);
      expect(all('SELECT idempotency_key, COUNT(*) AS n FROM outbox GROUP BY 1 HAVING COUNT(*) > 1'), tag).toEqual([]);
      expect(all('SELECT idempotency_key, COUNT(*) AS n FROM messages WHERE idempotency_key IS NOT NULL GROUP BY 1 HAVING COUNT(*) > 1'), tag).toEqual([]);
      expect(all("SELECT run_id, COUNT(*) AS n FROM outbox WHERE json_extract(meta, '$.kind') = 'reply' GROUP BY 1 HAVING COUNT(*) > 1"), tag).toEqual([]);
      const keys = (all("SELECT idempotency_key AS key FROM messages WHERE kind = 'user' ORDER BY key") as Array<{ key: string }>).map((r) => r.key);
      expect(keys, `exactly the accepted keys were enqueued; ${tag}`).toEqual(entries.map((a) => a.plan.key).sort());
      expect(all("SELECT COUNT(*) AS n FROM conversations WHERE channel IN ('api', 'telegram')"), tag).toEqual([{ n: entries.length }]);
      // A conversation failed exactly when one of its messages died (a handoff's included: one killed
      // on every attempt fails the conversation its completed first message began), and only of crashes.
      const messages = all('SELECT id, conversation_id, status, last_error FROM messages') as Array<{ id: string; conversation_id: string; status: string; last_error: string | null }>;
      for (const a of entries) {
        const own = messages.filter((x) => x.conversation_id === a.conversationId);
        for (const x of own.filter((y) => y.status === 'dead')) expect(x.last_error, `${a.plan.key}: message ${x.id}; ${tag}`).toMatch(/^lease expired while processing .*gave up after \d+ attempts?/);
        const anyDead = own.some((x) => x.status === 'dead');
        expect(trees.get(a.conversationId)!.conversation.status, `${a.plan.key}'s conversation (${own.map((x) => x.status).join(', ')}); ${tag}`).toBe(anyDead ? 'failed' : 'completed');
      }
    } finally {
      stores.close();
    }

    console.log(
      `crash harness: ${tag}: ${kills} kills, ${entries.length} messages accepted (${failedPosts} failed POSTs retried, ` +
        `${retriedAndAlreadyStored} retries found the message already stored), statuses ${JSON.stringify(statusCounts)} ${JSON.stringify([...deadReasons])}, ` +
        `${telegram.length} telegram replies, kill phase ${killPhaseMs} ms, total ${Date.now() - started} ms`,
    );
  });
});
