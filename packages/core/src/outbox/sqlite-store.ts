/**
 * The outbox on SQLite: `OutboxStore` over the process's one connection (synchronous). Its
 * contract, types, store interface, rules, events and row mapping, shared with the PostgreSQL
 * store (./pg-store.ts), are in ./store.ts; which replies are held for a client, in ./delivery.ts.
 */
import { newId } from '../ids.ts';
import type { TinyDatabase } from '../storage/database.ts';
import type { OutboxTableRow } from '../storage/rows.ts';
import type { EventLog } from '../events/sqlite-log.ts';
import { notWaiting } from '../runs/store.ts';
import {
  EXPIRE_BATCH,
  INSERT_COLUMNS,
  OUTBOX_DEFAULTS,
  type OutboxInput,
  type OutboxListQuery,
  type OutboxRow,
  type OutboxStatus,
  type OutboxStoreApi,
  type OutboxStoreOptions,
  type OutboxTree,
  type ReplyRun,
  deliveredEvent,
  enqueuedEvents,
  expiredEvent,
  failedEvent,
  failure,
  insertValues,
  mustAck,
  outboxNotFound,
  replyKeyTaken,
  toRow,
  treeOf,
} from './store.ts';
import { heldForClient } from './delivery.ts';

export class OutboxStore implements OutboxStoreApi {
  readonly #db: TinyDatabase;
  readonly #events: EventLog | undefined;
  readonly #clientChannels: Set<string>;
  readonly #ttlMs: number;
  readonly #maxAttempts: number;

  constructor(db: TinyDatabase, options: OutboxStoreOptions = {}) {
    this.#db = db;
    this.#events = options.events;
    this.#clientChannels = new Set(options.clientChannels);
    this.#ttlMs = options.defaultTtlMs ?? OUTBOX_DEFAULTS.ttlMs;
    this.#maxAttempts = options.maxAttempts ?? OUTBOX_DEFAULTS.maxAttempts;
  }

  /** The tree fields of an outbox event: the reply's run, with its parent and depth when known. */
  #tree(conversationId: string | null, runId: string | null, agentId: string | null): OutboxTree {
    const run = runId ? (this.#db.prepare('SELECT parent_run_id, depth FROM runs WHERE id = ?').get(runId) as ReplyRun | undefined) : undefined;
    return treeOf(conversationId, runId, agentId, run);
  }

  hasClient(channel: string): boolean {
    return heldForClient(channel, this.#clientChannels);
  }

  registerClientChannel(channel: string): void {
    this.#clientChannels.add(channel);
  }

  /** Stores a reply (inside the caller's transaction if one is open). Returns the row. */
  enqueue(input: OutboxInput): { row: OutboxRow; created: boolean } {
    const now = Date.now();
    return this.#db.write(() => {
      const existing = this.#db.prepare('SELECT * FROM outbox WHERE idempotency_key = ?').get(input.idempotencyKey) as OutboxTableRow | undefined;
      if (existing) return { row: toRow(existing), created: false };
      const id = newId('out');
      this.#db
        .prepare(`INSERT INTO outbox (${INSERT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
        .run(...insertValues(id, input, !this.hasClient(input.channel), now, this.#ttlMs));
      const row = this.get(id)!;
      for (const event of enqueuedEvents(row, this.#tree(row.conversationId, row.runId, row.agentId))) this.#events?.append(event);
      return { row, created: true };
    });
  }

  /** SQLite's writes are serialised: at once (its events carry the run's place in the tree as the store reads it). */
  enqueueAtCommit(input: OutboxInput, _run?: ReplyRun): void {
    if (!this.enqueue(input).created) throw replyKeyTaken(input.idempotencyKey);
  }

  /** Leases up to `limit` deliverable rows of a channel, oldest first. */
  claim(options: { channel: string; owner: string; limit?: number; leaseMs?: number; now?: number }): OutboxRow[] {
    const now = options.now ?? Date.now();
    const leaseMs = options.leaseMs ?? 30_000;
    return this.#db.write(() => {
      this.#expire(now);
      const rows = this.#db
        .prepare(`SELECT * FROM outbox WHERE channel = ? AND ((status = 'pending' AND available_at <= ?) OR (status = 'delivering' AND lease_expires_at < ?)) ORDER BY seq LIMIT ?`)
        .all(options.channel, now, now, Math.max(1, Math.min(options.limit ?? 20, 500))) as OutboxTableRow[];
      const mark = this.#db.prepare("UPDATE outbox SET status = 'delivering', lease_owner = ?, lease_expires_at = ?, attempts = attempts + 1 WHERE seq = ?");
      return rows.map((r) => {
        mark.run(options.owner, now + leaseMs, r.seq);
        return toRow({ ...r, status: 'delivering', lease_owner: options.owner, lease_expires_at: now + leaseMs, attempts: r.attempts + 1 });
      });
    });
  }

  /** The platform confirmed the send. Acking twice is fine; acking an unknown id is an error. */
  ack(id: string): OutboxRow {
    const now = Date.now();
    return this.#db.write(() => {
      const row = this.#mustGet(id);
      if (mustAck(row) === 'done') return row;
      this.#db.prepare("UPDATE outbox SET status = 'delivered', delivered_at = ?, lease_owner = NULL, lease_expires_at = NULL WHERE id = ?").run(now, id);
      this.#events?.append(deliveredEvent(row, this.#tree(row.conversationId, row.runId, row.agentId)));
      return this.get(id)!;
    });
  }

  /** A send failed: retry later with backoff, or `failed` after too many attempts. */
  fail(id: string, error: string, options: { retryAfterMs?: number; permanent?: boolean } = {}): OutboxRow {
    const now = Date.now();
    return this.#db.write(() => {
      const row = this.#mustGet(id);
      const next = failure(row, this.#maxAttempts, options, now);
      this.#db.prepare('UPDATE outbox SET status = ?, last_error = ?, available_at = ?, lease_owner = NULL, lease_expires_at = NULL WHERE id = ?').run(next.status, error, next.availableAt, id);
      if (next.status === 'failed') this.#events?.append(failedEvent(row, this.#tree(row.conversationId, row.runId, row.agentId), error));
      return this.get(id)!;
    });
  }

  /**
   * Marks every row past its TTL as expired (an `outbox.expired` event each) and returns them.
   * One short write transaction per EXPIRE_BATCH rows. The daemon calls this periodically, so
   * replies for a channel that never connects expire without a client polling `claim`.
   */
  expire(now = Date.now()): OutboxRow[] {
    const expired: OutboxRow[] = [];
    for (;;) {
      const batch = this.#db.write(() => this.#expire(now));
      expired.push(...batch);
      if (batch.length < EXPIRE_BATCH) return expired;
    }
  }

  #expire(now: number): OutboxRow[] {
    const rows = this.#db.prepare("SELECT * FROM outbox WHERE status IN ('pending', 'delivering') AND expires_at < ? ORDER BY seq LIMIT ?").all(now, EXPIRE_BATCH) as OutboxTableRow[];
    const mark = this.#db.prepare("UPDATE outbox SET status = 'expired', lease_owner = NULL, lease_expires_at = NULL WHERE seq = ?");
    return rows.map((r) => {
      mark.run(r.seq);
      const row = toRow({ ...r, status: 'expired' });
      this.#events?.append(expiredEvent(row, this.#tree(r.conversation_id, r.run_id, r.agent_id)));
      return row;
    });
  }

  get(id: string): OutboxRow | undefined {
    const row = this.#db.prepare('SELECT * FROM outbox WHERE id = ?').get(id) as OutboxTableRow | undefined;
    return row ? toRow(row) : undefined;
  }

  list(query: OutboxListQuery = {}): OutboxRow[] {
    const where: string[] = ['seq > ?'];
    const params: unknown[] = [query.afterSeq ?? 0];
    if (query.channel) {
      where.push('channel = ?');
      params.push(query.channel);
    }
    if (query.status) {
      where.push('status = ?');
      params.push(query.status);
    }
    if (query.conversationId) {
      where.push('conversation_id = ?');
      params.push(query.conversationId);
    }
    params.push(Math.max(1, Math.min(query.limit ?? 100, 1000)));
    return (this.#db.prepare(`SELECT * FROM outbox WHERE ${where.join(' AND ')} ORDER BY seq LIMIT ?`).all(...params) as OutboxTableRow[]).map(toRow);
  }

  counts(): Record<OutboxStatus, number> {
    const out: Record<OutboxStatus, number> = { pending: 0, delivering: 0, delivered: 0, failed: 0, expired: 0 };
    for (const r of this.#db.prepare('SELECT status, COUNT(*) AS n FROM outbox GROUP BY status').all() as Array<{ status: OutboxStatus; n: number }>) out[r.status] = r.n;
    return out;
  }

  /**
   * Deletes delivered/expired rows created before `beforeTs`, in batches; not those of a
   * conversation waiting for the person's decision (the guard's note says what it waits for).
   */
  prune(beforeTs: number, batchSize = 1000): number {
    return this.#db.deleteInBatches(
      `DELETE FROM outbox WHERE seq IN (SELECT seq FROM outbox WHERE status IN ('delivered', 'expired') AND created_at < ? AND ${notWaiting('conversations')} LIMIT ?)`,
      [beforeTs],
      batchSize,
    );
  }

  #mustGet(id: string): OutboxRow {
    const row = this.get(id);
    if (!row) throw outboxNotFound(id);
    return row;
  }
}
