/**
 * Moving a home from SQLite to PostgreSQL (docs/postgresql.md, "Moving from SQLite"), end to end:
 * a real daemon on SQLite makes the history (conversations, runs, events, usage, a task, a
 * schedule; an approval through the store API), a daemon started on an empty schema with a
 * Telegram channel on (the fake Bot API) says the history is left behind, and so do `tinyagi
 * restart` and doctor; that schema (nodes, settings and the channel's status events, no history)
 * takes the copy, the channel's events kept after the copied ones; `tinyagi storage copy` refuses while the daemon runs
 * and into a schema with data, is killed (SIGKILL) after its progress shows committed batches and
 * resumes to a complete, verified copy; then a daemon on PostgreSQL shows the same history through
 * its API, where an agent placed on a node that never ran is listed as waiting for it.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openStores } from '@tinyagi/core';
import { openDatabase } from '@tinyagi/core/internal';
import { openPgStores } from '@tinyagi/core/pg';
import { createDaemon, exitOf, FAKE_BIN_DIR, spawnCli, waitFor, type TestDaemon } from '@tinyagi/test-kit';
import { FakeTelegram } from '@tinyagi/test-kit/fake-telegram';
import { dropSchema, pgTestDatabase, testSchema } from '@tinyagi/test-kit/pg';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const db = await pgTestDatabase();
const pool = new pg.Pool({ connectionString: db.url, max: 2 });
const schemas = { target: testSchema('mv'), filled: testSchema('mvfull') };
const MESSAGES = 12;
let h: TestDaemon;
let telegram: FakeTelegram;

beforeAll(async () => {
  if (db.skip !== undefined) return;
  telegram = new FakeTelegram();
  await telegram.start();
  h = await createDaemon({
    build: 'source',
    path: [FAKE_BIN_DIR],
    settings: ({ root }) => ({
      workspace: { path: `${root}/workspace` },
      channels: { enabled: [] },
      agents: {
        a: { provider: 'mock', mock: { reply: 'done', usage: { input_tokens: 7, output_tokens: 3, cost_usd: 0.01 } } },
        placed: { provider: 'mock', node: 'gpu-box' },
      },
    }),
  });
  await h.start();
}, 120_000);

afterAll(async () => {
  await h?.cleanup();
  await telegram?.close();
  for (const schema of Object.values(schemas)) await dropSchema(pool, schema);
  await pool.end();
});

/** Points the home at `schema`, with the Telegram channel on (the fake Bot API). */
function useStorage(schema: string): void {
  const file = join(h.home, 'settings.json');
  const settings = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  const channels = { enabled: ['telegram'], telegram: { bot_token: telegram.token, api_root: telegram.url } };
  writeFileSync(file, `${JSON.stringify({ ...settings, channels, storage: { url: db.url, schema } }, null, 2)}\n`, { mode: 0o600 });
}

async function count(schema: string, table: string): Promise<number> {
  return Number((await pool.query<{ n: string }>(`SELECT count(*) AS n FROM "${schema}"."${table}"`)).rows[0]!.n);
}

async function copied(schema: string): Promise<number> {
  const rows = await pool.query<{ n: string }>(`SELECT coalesce(sum(copied), 0) AS n FROM "${schema}".tinyagi_copy_progress`).catch(() => ({ rows: [{ n: '0' }] }));
  return Number(rows.rows[0]!.n);
}

describe.skipIf(db.skip !== undefined)('tinyagi storage copy', () => {
  it('moves a home with its history to PostgreSQL: refused while unsafe, interrupted and resumed, visible through the API', async () => {
    const sent = [];
    for (let i = 0; i < MESSAGES; i++) sent.push(await h.api.sendMessage({ body: { agent: 'a', message: `question ${i}` } }));
    for (const m of sent) await waitFor(async () => (await h.api.getMessage({ params: { id: m.messageId } })).message.status === 'completed', 60_000, 'the replies');
    const task = await h.api.createTask({ body: { title: 'Move to PostgreSQL', assigneeAgent: 'a' } });
    await h.api.createSchedule({ body: { agent: 'a', message: 'daily', cron: '0 9 * * *', label: 'morning' } });
    const before = { conversations: await h.api.listConversations(), usage: await h.api.usage() };
    expect(before.conversations.length).toBe(MESSAGES);

    const running = await h.cli(['storage', 'copy', '--to', db.url, '--schema', schemas.target]);
    expect(running.code).toBe(1);
    expect(running.stderr).toMatch(/The daemon of this home runs \(pid \d+\)/);
    await h.stop();

    const sqlite = openStores({ dbPath: join(h.home, 'tinyagi.db') });
    const raw = openDatabase({ path: join(h.home, 'tinyagi.db'), readonly: true });
    const run = raw.sqlite.prepare('SELECT id, conversation_id AS conversationId FROM runs LIMIT 1').get() as { id: string; conversationId: string };
    sqlite.approvals.createOnce({
      id: 'apr_moved',
      kind: 'permission',
      agentId: 'a',
      runId: run.id,
      conversationId: run.conversationId,
      sessionKey: null,
      tool: 'Bash',
      input: { command: 'ls' },
      summary: 'ls',
      requestedAt: Date.now(),
      expiresAt: null,
    });
    const tables = ['conversations', 'runs', 'messages', 'events', 'outbox', 'tasks', 'schedules', 'approvals', 'agent_messages'];
    const source = Object.fromEntries(tables.map((t) => [t, (raw.sqlite.prepare(`SELECT count(*) AS n FROM ${t}`).get() as { n: number }).n]));
    const lastEvent = (raw.sqlite.prepare('SELECT max(id) AS n FROM events').get() as { n: number }).n;
    sqlite.close();
    raw.close();

    // `tinyagi start` on the empty schema says what it left behind, and so does the daemon's log;
    // `tinyagi restart` and doctor say the same. The channel writes its status events there; the
    // schema stays empty of history, so it is the copy's target.
    useStorage(schemas.target);
    const said = `holds this home's history (${MESSAGES} conversations, 1 task, 1 schedule), and the PostgreSQL schema ${schemas.target} has none: copy it with \`tinyagi stop && tinyagi storage copy && tinyagi start\``;
    const started = await h.cli(['start', '--timeout', '120']);
    expect(started.code, started.stderr).toBe(0);
    expect(started.stdout).toContain(said);
    expect(readFileSync(join(h.home, 'logs', 'daemon.log'), 'utf8')).toContain(said);
    const connected = async (): Promise<boolean> => (await h.api.listChannels()).find((c) => c.name === 'telegram')?.state === 'connected';
    await waitFor(connected, 60_000, 'telegram connected on PostgreSQL');
    const restarted = await h.cli(['restart', '--timeout', '120']);
    expect(restarted.code, restarted.stderr).toBe(0);
    expect(restarted.stdout).toContain(said);
    expect((await h.cli(['stop'])).code).toBe(0);
    const own = (await pool.query<{ id: string; type: string }>(`SELECT id, type FROM "${schemas.target}".events ORDER BY id`)).rows;
    expect(own.map((e) => e.type)).toContain('channel.status');
    const doctor = JSON.parse((await h.cliHere(['doctor', '--json'])).stdout) as { findings: Array<{ check: string; status: string; message: string }> };
    expect(doctor.findings.find((f) => f.check === 'sqlite-left-behind')).toMatchObject({ status: 'warn', message: expect.stringContaining('tinyagi storage copy') });

    // A schema with data is refused, naming what is there.
    const other = await openPgStores({ pool, schema: schemas.filled });
    await other.queue.enqueue({ kind: 'user', agentId: 'b', conversationId: 'conv_there', channel: 'api', content: 'already here' });
    await other.close();
    const refused = await h.cli(['storage', 'copy', '--schema', schemas.filled]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/is not empty: .*messages \(1\)/);

    // Killed after committed batches, then resumed.
    useStorage(schemas.target);
    // The start and the restart each registered the daemon's node (the restart's replaced the first).
    expect(await count(schemas.target, 'nodes')).toBe(2);
    const first = spawnCli(['storage', 'copy', '--batch', '1'], h.env, { build: 'source' });
    await waitFor(async () => (await copied(schemas.target)) >= 40, 60_000, 'committed batches');
    first.child.kill('SIGKILL');
    await exitOf(first.child);
    const atKill = await copied(schemas.target);
    const total = Object.values(source).reduce((a, b) => a + b, 0);
    expect(atKill).toBeLessThan(total);
    const resumed = await h.cli(['storage', 'copy']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toContain('Resumed the interrupted copy; it is complete.');
    expect(resumed.stdout).toMatch(/Verified: the counts match, and \d+ sampled rows read back alike/);
    for (const t of tables.filter((t) => t !== 'events')) expect(await count(schemas.target, t), t).toBe(source[t]);
    // The events the daemon wrote on PostgreSQL before the copy are kept, after the copied ones, in their order.
    expect(await count(schemas.target, 'events')).toBe(source['events']! + own.length);
    const kept = (await pool.query<{ id: string; type: string }>(`SELECT id, type FROM "${schemas.target}".events WHERE id > $1 ORDER BY id`, [lastEvent])).rows;
    expect(kept.map((e) => e.type)).toEqual(own.map((e) => e.type));

    // The daemon on PostgreSQL shows the same history.
    const mark = h.output().length;
    await h.start();
    expect(h.output().slice(mark)).toContain(`schema ${schemas.target}`);
    expect(h.output().slice(mark)).not.toContain("holds this home's history");
    expect(await h.api.listConversations()).toEqual(before.conversations);
    expect(await h.api.usage()).toEqual(before.usage);
    expect((await h.api.listTasks()).map((t) => t.id)).toContain(task.id);
    expect((await h.api.listApprovals()).map((a) => a.id)).toContain('apr_moved');
    const conversation = await h.api.getConversation({ params: { id: run.conversationId } });
    expect(conversation.roots.map((r) => r.runId)).toContain(run.id);
    // New work continues after the copied ids.
    const after = await h.api.sendMessage({ body: { agent: 'a', message: 'on PostgreSQL now' } });
    await waitFor(async () => (await h.api.getMessage({ params: { id: after.messageId } })).message.status === 'completed', 60_000, 'a reply on PostgreSQL');
    // The run records the node that ran it: the API's run and tree, and the CLI's tree.
    const self = (await h.api.status()).nodes.find((n) => n.self)!;
    const [root] = (await h.api.getConversation({ params: { id: after.conversationId } })).roots;
    expect(root).toMatchObject({ node: self.name });
    expect((await h.api.getRun({ params: { id: root!.runId } })).run.node).toBe(self.name);
    expect(await h.cliHereOk(['runs', 'tree', after.conversationId])).toContain(`on ${self.name}`);
    expect(conversation.roots[0]!.node).toBeUndefined();

    // An agent placed on a node that never ran: its message waits, and the status says for what.
    await h.api.sendMessage({ body: { agent: 'placed', message: 'for the gpu box' } });
    expect((await h.api.status()).waitingForNodes).toEqual([{ agentId: 'placed', node: 'gpu-box', nodeState: 'absent', pending: 1 }]);
    expect(await h.cliHereOk(['status'])).toMatch(/Waiting for a node that is down[^\n]*\n\s+placed: node gpu-box is not running \(no such node\), 1 message pending/);
    await h.stop();
  }, 300_000);
});
