/**
 * B23: what recall adds to a turn with 10,000 memory entries in scope, on SQLite (a file,
 * synchronous FULL) and PostgreSQL, beside the same turn without memory; and the block's size.
 *
 * Per backend: the real orchestrator (mock runtime answering at once), an agent `bot` in team
 * `dev` whose own and team's memory hold 10,000 accepted entries (memory-corpus.ts `bulkEntries`:
 * people's preferences, systems' facts, decisions, procedures; 10 pinned), and 5,000 more in
 * other agents' and teams' memory (on PostgreSQL then analysed, as autovacuum would have done).
 * Turns alternate between the agent's budget at 1,000 tokens and at 0 (recall off), each a new
 * conversation with a question from the same templates, timed
 * from the submission to the commit of its batch (the `committed` observer hook). Then recall
 * alone, as a turn does it (the conversation's project, the search and the block, the injection
 * recorded), for the agent and for an agent whose scopes hold no entry.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Observer, Settings } from '@tinyagi/core';
import { addMemory, newId, openStores, projectOfConversation, readableScopes, recallForTurn, type StoreSet, type StoreTransaction } from '@tinyagi/core/internal';
import { migratePg, openPgStores } from '@tinyagi/core/pg';
import { Orchestrator } from '@tinyagi/teams';
import pg from 'pg';
import { percentile } from './machine.ts';
import { bulkEntries, bulkMessages } from './memory-corpus.ts';

export interface B23Options {
  /** Entries in the agent's scopes (default 10,000). */
  entries: number;
  /** Measured turns of each kind (with and without memory). */
  turns: number;
  /** Recalls measured alone (each way). */
  recalls: number;
  /** The PostgreSQL database (undefined: SQLite only). */
  pgUrl?: string | undefined;
}

const BUDGET = 1000;

function settings(budget: number, workspace: string): Settings {
  const mock = { provider: 'mock' as const, mock: { reply: 'ok' } };
  return {
    // The agents' workspaces in the bench's own folder, never the user's ~/tinyagi-workspace.
    workspace: { path: workspace },
    agents: { bot: { ...mock, memory: { budget_tokens: budget } }, eve: mock, nobody: mock },
    teams: { dev: { agents: ['bot'], leader_agent: 'bot' }, ops: { agents: ['eve'], leader_agent: 'eve' } },
  } as Settings;
}

async function seed(stores: StoreSet, entries: number): Promise<void> {
  const t0 = Date.UTC(2026, 0, 1);
  const texts = bulkEntries(entries + entries / 2);
  const mine = [
    { kind: 'agent', id: 'bot' },
    { kind: 'team', id: 'dev' },
  ] as const;
  const others = [
    { kind: 'agent', id: 'eve' },
    { kind: 'team', id: 'ops' },
  ] as const;
  for (const [i, e] of texts.entries()) {
    const scope = i < entries ? mine[i % 2]! : others[i % 2]!;
    await addMemory(stores.memory, { scope, kind: e.kind, text: e.text, pinned: i < entries && i % (entries / 10) === 0, by: 'bench' }, t0 + i * 60_000);
  }
}

interface Row {
  label: string;
  cells: Record<string, string>;
}

const ms = (v: number) => `${v.toFixed(2)} ms`;

/** One backend's figures; `settle` runs after the seeding (PostgreSQL: the statistics autovacuum would have gathered). */
async function measure(stores: StoreSet, options: B23Options, workspace: string, settle?: () => Promise<unknown>): Promise<Record<string, string>> {
  await seed(stores, options.entries);
  await settle?.();
  let current = settings(BUDGET, workspace);
  // A batch may commit before submit() returns: its conversation is remembered until its turn asks.
  const waiting = new Map<string, () => void>();
  const committed = new Set<string>();
  const observer: Observer = {
    name: 'b23',
    committed: (e) => {
      const done = waiting.get(e.conversationId);
      if (done) done();
      else committed.add(e.conversationId);
    },
  };
  const orchestrator = new Orchestrator({ stores, getSettings: () => current, sweepMs: 1000, observers: [observer as Observer<StoreTransaction>] });
  orchestrator.start();
  const messages = bulkMessages(options.turns * 2 + 40);
  const turn = async (message: string, budget: number): Promise<number> => {
    current = settings(budget, workspace);
    const start = performance.now();
    const sent = await orchestrator.submit({ message: `@bot ${message}`, senderId: `u_${newId('s')}` });
    if (!committed.delete(sent.conversationId)) {
      await new Promise<void>((resolve) => waiting.set(sent.conversationId, resolve));
      waiting.delete(sent.conversationId);
    }
    return performance.now() - start;
  };
  try {
    for (let i = 0; i < 20; i++) await turn(messages[i]!, i % 2 === 0 ? BUDGET : 0);
    const withMemory: number[] = [];
    const without: number[] = [];
    for (let i = 0; i < options.turns * 2; i++) {
      const on = i % 2 === 0;
      (on ? withMemory : without).push(await turn(messages[20 + i]!, on ? BUDGET : 0));
    }
    // Recall alone, as a turn does it.
    const conversationId = (await stores.runs.listConversations({ limit: 1 }))[0]!.id;
    const alone = async (agent: string, teams: string[]) => {
      const times: number[] = [];
      const tokens: number[] = [];
      const entries: number[] = [];
      for (let i = 0; i < options.recalls; i++) {
        const start = performance.now();
        const project = await projectOfConversation(stores, conversationId);
        const now = Date.now();
        const recall = await recallForTurn(stores.memory, { scopes: readableScopes(agent, teams, project), message: messages[i % messages.length]!, budgetTokens: BUDGET, now });
        if (recall.entries.length > 0)
          await stores.memory.recordInjection({ runId: newId('run'), agentId: agent, entryIds: recall.entries.map((e) => e.id), tokens: recall.tokens, budget: BUDGET, createdAt: now });
        times.push(performance.now() - start);
        tokens.push(recall.tokens);
        entries.push(recall.entries.length);
      }
      return { times: times.sort((a, b) => a - b), tokens: tokens.sort((a, b) => a - b), entries: entries.sort((a, b) => a - b) };
    };
    const full = await alone('bot', ['dev']);
    const none = await alone('nobody', []);
    withMemory.sort((a, b) => a - b);
    without.sort((a, b) => a - b);
    return {
      without: `${ms(percentile(without, 50))} / ${ms(percentile(without, 99))}`,
      with: `${ms(percentile(withMemory, 50))} / ${ms(percentile(withMemory, 99))}`,
      added: `${ms(percentile(withMemory, 50) - percentile(without, 50))}`,
      alone: `${ms(percentile(full.times, 50))} / ${ms(percentile(full.times, 99))}`,
      none: `${ms(percentile(none.times, 50))} / ${ms(percentile(none.times, 99))}`,
      block: `${percentile(full.tokens, 50)} / ${full.tokens.at(-1)}, ${percentile(full.entries, 50)}`,
    };
  } finally {
    await orchestrator.stop(2000);
  }
}

export async function benchB23(options: B23Options): Promise<string> {
  const columns: Record<string, Record<string, string>> = {};
  const dir = mkdtempSync(join(tmpdir(), 'tinyagi-bench-b23-'));
  try {
    const sqlite = openStores({ dbPath: join(dir, 'tinyagi.db'), durability: 'full' });
    try {
      columns.SQLite = await measure(sqlite, options, join(dir, 'workspace'));
    } finally {
      sqlite.close();
    }
    if (options.pgUrl) {
      const schema = `bench_b23_${process.pid}`;
      const admin = new pg.Pool({ connectionString: options.pgUrl, max: 1 });
      try {
        await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
        await migratePg(admin, schema);
        const stores = await openPgStores({ url: options.pgUrl, schema, migrate: false });
        try {
          // An installation that grew to this size was analysed by autovacuum on the way; seeded in
          // seconds, this one would be analysed (or not) at some point of the run.
          columns.PostgreSQL = await measure(stores, options, join(dir, 'workspace-pg'), () => admin.query(`ANALYZE "${schema}".memory_entries, "${schema}".memory_lexemes`));
        } finally {
          await stores.close();
        }
      } finally {
        await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {});
        await admin.end();
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const names = Object.keys(columns);
  const rows: Row[] = [
    { label: 'turn, no memory', cells: {} },
    { label: `turn, ${options.entries.toLocaleString('en-US')} entries`, cells: {} },
    { label: 'added at p50', cells: {} },
    { label: 'recall alone', cells: {} },
    { label: 'recall alone, no entries', cells: {} },
    { label: 'block: tokens p50 / max, entries', cells: {} },
  ];
  const keys = ['without', 'with', 'added', 'alone', 'none', 'block'];
  for (const name of names) {
    for (const [i, row] of rows.entries()) row.cells[name] = columns[name]![keys[i]!]!;
  }
  return [
    `${options.turns} turns each, ${options.recalls} recalls; p50 / p99:`,
    '',
    `| | ${names.join(' | ')} |`,
    `|---|${names.map(() => '---').join('|')}|`,
    ...rows.map((row) => `| ${row.label} | ${names.map((n) => row.cells[n]).join(' | ')} |`),
  ].join('\n');
}
