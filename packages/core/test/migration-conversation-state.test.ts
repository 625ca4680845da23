/**
 * Migration 0011 moves the orchestrator's conversation state out of `meta` into typed columns
 * and the duplicated run id of a message out of `meta` (docs/storage.md). A database written by
 * the previous schema is built from migrations 0000–0009, filled the old way, then opened.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, expect, it } from 'vitest';
import { openStores } from '../src/compose/sqlite-stores.ts';
import { MIGRATIONS_FOLDER } from '../src/storage/database.ts';
import type { HeldDelivery } from '../src/runs/store.ts';

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

it('copies finished, awaitingDecision, held and addressed into columns and the message run id into run_id', async () => {
  dir = mkdtempSync(join(tmpdir(), 'tinyagi-mig-'));
  const path = join(dir, 'old.db');
  const old = new Database(path);
  const journal = JSON.parse(readFileSync(join(MIGRATIONS_FOLDER, 'meta', '_journal.json'), 'utf8')) as { entries: Array<{ tag: string; when: number }> };
  old.exec('CREATE TABLE "__drizzle_migrations" (id INTEGER PRIMARY KEY AUTOINCREMENT, hash text NOT NULL, created_at numeric)');
  for (const entry of journal.entries.filter((e) => e.tag < '0011')) {
    const text = readFileSync(join(MIGRATIONS_FOLDER, `${entry.tag}.sql`), 'utf8');
    for (const statement of text.split('--> statement-breakpoint')) if (statement.trim()) old.exec(statement);
    old.prepare('INSERT INTO "__drizzle_migrations" (hash, created_at) VALUES (?, ?)').run(createHash('sha256').update(text).digest('hex'), entry.when);
  }
  const held: HeldDelivery[] = [{ kind: 'teammate', agentId: 'b', teamId: 't', content: 'c', body: 'b', from: 'a', hop: 1, parentRunId: 'run_p', parentMessageId: null }];
  const insertConversation = old.prepare("INSERT INTO conversations (id, root_agent_id, channel, meta, created_at, updated_at) VALUES (?, 'a', 'api', ?, 0, 0)");
  insertConversation.run('conv_old', JSON.stringify({ finished: true, awaitingDecision: true, held, addressed: 'team', note: 'kept' }));
  insertConversation.run('conv_plain', '{}');
  old
    .prepare(
      "INSERT INTO messages (id, kind, agent_id, conversation_id, channel, content, meta, available_at, created_at, updated_at) VALUES ('msg_old', 'user', 'a', 'conv_old', 'api', 'x', ?, 0, 0, 0)",
    )
    .run(JSON.stringify({ runId: 'run_old', from: null, hop: 0 }));
  old.close();

  const stores = openStores({ dbPath: path });
  try {
    const c = stores.runs.mustGetConversation('conv_old');
    expect(c).toMatchObject({ finished: true, awaitingDecision: true, held, addressed: 'team', meta: { note: 'kept' } });
    expect(c.meta).toEqual({ note: 'kept' });
    expect(stores.runs.mustGetConversation('conv_plain')).toMatchObject({ finished: false, awaitingDecision: false, held: [], addressed: 'agent', meta: {} });
    const m = await stores.queue.get('msg_old');
    expect(m).toMatchObject({ runId: 'run_old', meta: { from: null, hop: 0 } });
    expect(m?.meta).not.toHaveProperty('runId');
    stores.runs.updateConversation('conv_plain', { finished: true, held, awaitingDecision: true });
    expect(stores.runs.mustGetConversation('conv_plain')).toMatchObject({ finished: true, awaitingDecision: true, held });
  } finally {
    stores.close();
  }
});
