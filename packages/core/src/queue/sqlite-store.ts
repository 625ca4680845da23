/**
 * SQLite implementation of the durable queue.
 *
 * Operational contract (see docs/queue.md):
 * - Every state change is one `BEGIN IMMEDIATE` transaction on the file; with the default
 *   `synchronous=FULL` an acknowledged enqueue survives power loss.
 * - Claims are atomic across processes: the immediate lock serialises claimers, and a message
 *   moves pending -> processing inside that transaction.
 * - Per agent: at most one processing batch at a time, strict FIFO by `seq`; a message waiting
 *   for its retry time holds back the agent's later messages (no overtaking).
 * - `attempts` is counted at claim, so a lease that expires (crash, kill -9) has already spent
 *   an attempt and a message that always kills its worker ends `dead`.
 */
import { newId } from '../ids.ts';
import { TinyError } from '../errors.ts';
import type { TinyDatabase } from '../storage/database.ts';
import { writeEach } from '../storage/group-commit.ts';
import { SqliteWriteTransaction } from '../storage/sqlite-transaction.ts';
import { runWork, type StoreTransaction } from '../storage/transaction.ts';
import type { EventLog } from '../events/sqlite-log.ts';
import { DEFAULT_BACKOFF } from './backoff.ts';
import type { MessageRow as SchemaMessageRow } from '../storage/rows.ts';
import type {
  BackoffPolicy,
  CancelOutcome,
  ClaimedBatch,
  ClaimOptions,
  CompletionEffects,
  CompletionInput,
  EnqueueInput,
  EnqueueResult,
  FailInput,
  FailOutcome,
  LeaseRenewal,
  MessageStatus,
  QueueCounts,
  QueueMessage,
  QueueStore,
  RecoveredLease,
} from './types.ts';
import { chargeExpired, emptyCounts, enqueuedEvent, leaseLost, RELEASED, settleFailure, toQueueMessage } from './message-row.ts';

/** A `SELECT *` row (type derived from the drizzle schema). */
type MessageRow = SchemaMessageRow;

export interface SqliteQueueStoreOptions {
  defaultMaxAttempts?: number;
  backoff?: BackoffPolicy;
  /** When given, dead letters and retries are recorded as events in the same transaction. */
  events?: EventLog;
  random?: () => number;
}

const SCAN_PAGE = 256;
/** How far past an agent's head a collecting claim looks for more of the head's conversation. */
const COLLECT_WINDOW = 512;
/** Rows the claim's seq-order walk looks at before it switches to listing agents (see #findHeads). */
const PHASE_ONE_ROWS = 512;
const DELETE_DEAD_SQL = "DELETE FROM messages WHERE seq IN (SELECT seq FROM messages WHERE status = 'dead' LIMIT ?)";
const DELETE_DEAD_OF_AGENT_SQL = "DELETE FROM messages WHERE seq IN (SELECT seq FROM messages WHERE status = 'dead' AND agent_id = ? LIMIT ?)";
const PRUNE_SQL = "DELETE FROM messages WHERE seq IN (SELECT seq FROM messages WHERE status IN ('completed', 'cancelled') AND finished_at < ? LIMIT ?)";

/** `S`: the stores completion effects write through (bound by openStores; none on a store made on its own). */
export class SqliteQueueStore<S = never> implements QueueStore<S> {
  readonly #db: TinyDatabase;
  readonly #events: EventLog | undefined;
  readonly #backoff: BackoffPolicy;
  readonly #defaultMaxAttempts: number;
  readonly #random: () => number;
  readonly #wakeListeners = new Set<() => void>();
  readonly #stmt;
  #tx: StoreTransaction<S>;

  constructor(db: TinyDatabase, options: SqliteQueueStoreOptions = {}) {
    this.#db = db;
    this.#tx = new SqliteWriteTransaction<S>(db, undefined);
    this.#events = options.events;
    this.#backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.#defaultMaxAttempts = options.defaultMaxAttempts ?? 5;
    this.#random = options.random ?? Math.random;
    const s = db.sqlite;
    // Hot queries name their (partial) index: the planner would otherwise prefer the full
    // (status, finished_at) index for `status = ?` and walk every live row of that status.
    // `+?` instead of `?` in `col = ?` beside ORDER BY, and in LIMIT: SQLite 3.54 plans such a
    // statement with the bound value and re-prepares it every time a new value is bound
    // (~10-60 µs per run, 3 % of the daemon's CPU under B0); the unary plus keeps the plan
    // generic (same plan, same index).
    this.#stmt = {
      insert:
        s.prepare(`INSERT INTO messages (id, kind, agent_id, team_id, conversation_id, parent_message_id, parent_run_id, run_id, depth, channel, sender, sender_id, thread_key, content, attachments, meta, status, max_attempts, available_at, idempotency_key, created_at, updated_at)
        VALUES (@id, @kind, @agentId, @teamId, @conversationId, @parentMessageId, @parentRunId, @runId, @depth, @channel, @sender, @senderId, @threadKey, @content, @attachments, @meta, 'pending', @maxAttempts, @availableAt, @idempotencyKey, @now, @now)
        ON CONFLICT (idempotency_key) DO NOTHING`),
      byKey: s.prepare('SELECT seq, id, conversation_id FROM messages WHERE idempotency_key = ?'),
      byId: s.prepare('SELECT * FROM messages WHERE id = ?'),
      conversationOf: s.prepare('SELECT conversation_id FROM messages WHERE seq = ?').pluck(),
      // Distinct agents with pending messages, by a loose index scan (one seek per agent).
      pendingAgents: s
        .prepare(`WITH RECURSIVE agents(id) AS (
          SELECT (SELECT MIN(agent_id) FROM messages INDEXED BY messages_pending_agent WHERE status = 'pending')
          UNION ALL
          SELECT (SELECT MIN(agent_id) FROM messages INDEXED BY messages_pending_agent WHERE status = 'pending' AND agent_id > agents.id) FROM agents WHERE agents.id IS NOT NULL
        ) SELECT id FROM agents WHERE id IS NOT NULL`)
        .pluck(),
      agentHead: s.prepare("SELECT seq, available_at FROM messages INDEXED BY messages_pending_agent WHERE status = 'pending' AND agent_id = +? ORDER BY seq LIMIT 1"),
      agentBusy: s.prepare("SELECT 1 FROM messages INDEXED BY messages_processing_agent WHERE status = 'processing' AND agent_id = ? LIMIT 1").pluck(),
      pendingPage: s.prepare("SELECT seq, agent_id, available_at FROM messages INDEXED BY messages_pending_seq WHERE status = 'pending' AND seq > ? ORDER BY seq LIMIT +?"),
      // The head's conversation among the agent's next COLLECT_WINDOW pending messages: a burst
      // of one conversation merges into one turn; other conversations wait for their own turn.
      conversationPending: s.prepare(`SELECT m.* FROM (SELECT seq FROM messages INDEXED BY messages_pending_agent WHERE status = 'pending' AND agent_id = +? ORDER BY seq LIMIT ${COLLECT_WINDOW}) w
        JOIN messages m ON m.seq = w.seq WHERE m.conversation_id = +? ORDER BY m.seq LIMIT +?`),
      claimOne: s.prepare("UPDATE messages SET status = 'processing', lease_owner = ?, lease_expires_at = ?, attempts = attempts + 1, updated_at = ? WHERE seq = ? AND status = 'pending' RETURNING *"),
      markClaimed: s.prepare("UPDATE messages SET status = 'processing', lease_owner = ?, lease_expires_at = ?, attempts = attempts + 1, updated_at = ? WHERE seq = ? AND status = 'pending'"),
      heldBy: s.prepare("SELECT * FROM messages WHERE id = ? AND status = 'processing' AND lease_owner = ?"),
      renew: s.prepare("UPDATE messages SET lease_expires_at = ?, updated_at = ? WHERE id = ? AND status = 'processing' AND lease_owner = ? RETURNING cancel_requested"),
      release: s.prepare(
        "UPDATE messages SET status = 'pending', lease_owner = NULL, lease_expires_at = NULL, attempts = MAX(0, attempts - 1), last_error = ?, available_at = ?, updated_at = ? WHERE id = ? AND status = 'processing' AND lease_owner = ? AND cancel_requested = 0",
      ),
      complete: s.prepare(
        "UPDATE messages SET status = 'completed', lease_owner = NULL, lease_expires_at = NULL, finished_at = ?, updated_at = ? WHERE id = ? AND status = 'processing' AND lease_owner = ?",
      ),
      toPending: s.prepare(
        "UPDATE messages SET status = 'pending', lease_owner = NULL, lease_expires_at = NULL, available_at = ?, attempts = ?, rate_limit_waits = ?, last_error = ?, last_failure = ?, solo = ?, updated_at = ? WHERE seq = ?",
      ),
      toFinal: s.prepare('UPDATE messages SET status = ?, lease_owner = NULL, lease_expires_at = NULL, last_error = ?, finished_at = ?, updated_at = ? WHERE seq = ?'),
      toDead: s.prepare("UPDATE messages SET status = 'dead', lease_owner = NULL, lease_expires_at = NULL, last_error = ?, last_failure = ?, finished_at = ?, updated_at = ? WHERE seq = ?"),
      requestCancel: s.prepare("UPDATE messages SET cancel_requested = 1, last_error = ?, updated_at = ? WHERE id = ? AND status = 'processing'"),
      expired: s.prepare("SELECT * FROM messages INDEXED BY messages_processing_lease WHERE status = 'processing' AND lease_expires_at < ? ORDER BY seq"),
      leaseOwners: s.prepare("SELECT DISTINCT lease_owner FROM messages INDEXED BY messages_processing_lease WHERE status = 'processing' AND lease_owner IS NOT NULL").pluck(),
      expireOwner: s.prepare("UPDATE messages SET lease_expires_at = ?, updated_at = ? WHERE status = 'processing' AND lease_owner = ?"),
      anyExpired: s.prepare("SELECT 1 FROM messages INDEXED BY messages_processing_lease WHERE status = 'processing' AND lease_expires_at < ? LIMIT 1").pluck(),
      counts: s.prepare('SELECT status, COUNT(*) AS n FROM messages GROUP BY status'),
      countsByAgent: s.prepare('SELECT agent_id, status, COUNT(*) AS n FROM messages GROUP BY agent_id, status'),
      processing: s.prepare("SELECT * FROM messages INDEXED BY messages_processing_lease WHERE status = 'processing' ORDER BY seq"),
      dead: s.prepare("SELECT * FROM messages WHERE status = 'dead' ORDER BY seq DESC LIMIT ?"),
      retryDead: s.prepare(
        "UPDATE messages SET status = 'pending', attempts = 0, rate_limit_waits = 0, available_at = ?, finished_at = NULL, cancel_requested = 0, updated_at = ? WHERE id = ? AND status = 'dead'",
      ),
      deleteDead: s.prepare("DELETE FROM messages WHERE id = ? AND status = 'dead'"),
      assignRun: s.prepare('UPDATE messages SET run_id = ?, updated_at = ? WHERE id = ?'),
      nextPending: s.prepare("SELECT MIN(available_at) FROM messages INDEXED BY messages_pending_available WHERE status = 'pending' AND available_at > ?").pluck(),
      nextLease: s.prepare("SELECT MIN(lease_expires_at) FROM messages INDEXED BY messages_processing_lease WHERE status = 'processing'").pluck(),
    };
  }

  enqueue(input: EnqueueInput): EnqueueResult {
    return this.enqueueMany([input])[0]!;
  }

  enqueueMany(inputs: readonly EnqueueInput[]): EnqueueResult[] {
    const now = Date.now();
    const results = this.#db.write(() => inputs.map((input) => this.#insert(input, now)));
    if (results.some((r) => r.created)) this.#db.onCommit(() => this.#wake());
    return results;
  }

  #insert(input: EnqueueInput, now: number): EnqueueResult {
    const id = input.id ?? newId('msg');
    const info = this.#stmt.insert.run({
      id,
      kind: input.kind,
      agentId: input.agentId,
      teamId: input.teamId ?? null,
      conversationId: input.conversationId,
      parentMessageId: input.parentMessageId ?? null,
      parentRunId: input.parentRunId ?? null,
      runId: input.runId ?? null,
      depth: input.depth ?? 0,
      channel: input.channel,
      sender: input.sender ?? '',
      senderId: input.senderId ?? '',
      threadKey: input.threadKey ?? null,
      content: input.content,
      attachments: JSON.stringify(input.attachments ?? []),
      meta: JSON.stringify(input.meta ?? {}),
      maxAttempts: input.maxAttempts ?? this.#defaultMaxAttempts,
      availableAt: input.availableAt ?? now,
      idempotencyKey: input.idempotencyKey ?? null,
      now,
    });
    if (info.changes === 1) {
      this.#events?.append(enqueuedEvent(input, id));
      return { id, seq: Number(info.lastInsertRowid), created: true, conversationId: input.conversationId };
    }
    const existing = this.#stmt.byKey.get(input.idempotencyKey) as { seq: number; id: string; conversation_id: string };
    return { id: existing.id, seq: existing.seq, created: false, conversationId: existing.conversation_id };
  }

  claim(options: ClaimOptions): ClaimedBatch[] {
    if (options.maxAgents <= 0 || options.agents?.size === 0) return [];
    const collectLimit = Math.max(1, options.collectLimit ?? 50);
    // A read first (WAL readers take no lock): a worker with nothing to claim must not take the
    // write lock other processes' claims and completions are waiting for.
    if (this.#findHeads(options, options.now ?? Date.now(), 1).length === 0) return [];
    // A claim lost to power loss only leaves its messages pending: it need not wait for the disk.
    return this.#db.writeLazy(() => {
      const now = options.now ?? Date.now();
      const heads = this.#findHeads(options, now, options.maxAgents);
      const batches: ClaimedBatch[] = [];
      const leaseUntil = now + options.leaseMs;
      for (const { agentId, seq } of heads) {
        const limit = (options.policy?.(agentId) ?? 'collect') === 'collect' ? collectLimit : 1;
        if (limit === 1) {
          // The head row is known and available: claim it by primary key in one statement.
          const row = this.#stmt.claimOne.get(options.owner, leaseUntil, now, seq) as MessageRow;
          batches.push({ agentId, messages: [toMessage(row)] });
          continue;
        }
        const conversation = this.#stmt.conversationOf.get(seq) as string;
        const rows = this.#stmt.conversationPending.all(agentId, conversation, limit) as MessageRow[];
        const messages: QueueMessage[] = [];
        for (const row of rows) {
          if (row.available_at > now) break;
          // A message that was in a failed or crashed batch runs alone, so a poison message
          // cannot take the innocent messages collected with it down to the dead letters.
          if (row.solo && messages.length > 0) break;
          this.#stmt.markClaimed.run(options.owner, leaseUntil, now, row.seq);
          messages.push(toMessage({ ...row, status: 'processing', lease_owner: options.owner, lease_expires_at: leaseUntil, attempts: row.attempts + 1, updated_at: now }));
          if (row.solo) break;
        }
        if (messages.length > 0) batches.push({ agentId, messages });
      }
      return batches;
    });
  }

  /**
   * The agents to claim for, oldest head first. An agent's head is its oldest pending message;
   * an agent that is busy (one batch at a time), skipped, or whose head is not yet available
   * (strict FIFO) is passed over.
   *
   * Phase 1 walks pending rows in seq order, so a backlog spread over many free agents costs
   * one short index scan. Rows of busy agents are passed over one by one, so when that walk
   * gets long (an agent with thousands of queued messages is running), phase 2 lists the
   * remaining agents with pending work by a loose index scan instead and looks up each one's
   * head: O(agents), not O(backlog). Both phases together pick the same heads as a full walk.
   */
  #findHeads(options: ClaimOptions, now: number, want: number): Array<{ agentId: string; seq: number }> {
    const seen = new Set<string>([...(options.skipAgents ?? []), ...(options.busyAgents ?? [])]);
    const heads: Array<{ agentId: string; seq: number }> = [];
    const allowed = options.agents;
    const consider = (agentId: string, seq: number, availableAt: number): boolean => {
      if (seen.has(agentId)) return false;
      seen.add(agentId);
      if (allowed !== undefined && !allowed.has(agentId)) return false;
      if (availableAt > now || this.#stmt.agentBusy.get(agentId) !== undefined) return false;
      heads.push({ agentId, seq });
      return heads.length >= want;
    };
    let cursor = 0;
    let scanned = 0;
    let pageSize = Math.min(SCAN_PAGE, 2 * want + 16);
    for (;;) {
      const page = this.#stmt.pendingPage.all(cursor, pageSize) as Array<{ seq: number; agent_id: string; available_at: number }>;
      for (const row of page) {
        cursor = row.seq;
        if (consider(row.agent_id, row.seq, row.available_at)) return heads;
      }
      if (page.length < pageSize) return heads;
      scanned += page.length;
      // Rows of agents seen already are passed over one by one: once the walk is mostly those
      // (busy agents' backlogs), listing the remaining agents is cheaper.
      if (scanned >= PHASE_ONE_ROWS || scanned >= 4 * (seen.size + want)) break;
      pageSize = Math.min(SCAN_PAGE * 4, pageSize * 2);
    }
    // Phase 2: agents not seen yet all have their head after `cursor`. With an allow-list,
    // only its agents are looked up (one seek each) instead of every agent with pending work.
    const rest: Array<{ agentId: string; seq: number; availableAt: number }> = [];
    for (const agentId of allowed ?? (this.#stmt.pendingAgents.all() as string[])) {
      if (seen.has(agentId)) continue;
      const head = this.#stmt.agentHead.get(agentId) as { seq: number; available_at: number } | undefined;
      if (head) rest.push({ agentId, seq: head.seq, availableAt: head.available_at });
    }
    rest.sort((a, b) => a.seq - b.seq);
    for (const r of rest) if (consider(r.agentId, r.seq, r.availableAt)) break;
    return heads;
  }

  renewLeases(owner: string, ids: readonly string[], leaseMs: number): LeaseRenewal {
    const now = Date.now();
    return this.#db.write(() => {
      const result: LeaseRenewal = { lost: [], cancelRequested: [] };
      for (const id of ids) {
        const row = this.#stmt.renew.get(now + leaseMs, now, id, owner) as { cancel_requested: number } | undefined;
        if (!row) result.lost.push(id);
        else if (row.cancel_requested) result.cancelRequested.push(id);
      }
      return result;
    });
  }

  release(owner: string, ids: readonly string[]): void {
    const now = Date.now();
    this.#db.write(() => {
      for (const id of ids) this.#stmt.release.run(RELEASED, now, now, id, owner);
    });
    this.#db.onCommit(() => this.#wake());
  }

  /**
   * The transaction handle completion effects receive (openStores binds one whose `stores` are
   * the process's stores; on one SQLite connection every write is inside the open transaction).
   */
  bindTransaction(tx: StoreTransaction<S>): void {
    this.#tx = tx;
  }

  complete(owner: string, ids: readonly string[], effects?: CompletionEffects<S>): void {
    const now = Date.now();
    this.#db.write(() => this.#complete(owner, ids, effects, now));
    this.#db.onCommit(() => this.#wake());
  }

  completeMany(items: readonly CompletionInput<S>[]): Array<Error | undefined> {
    const now = Date.now();
    const results = writeEach(
      this.#db,
      items.map((item) => () => this.#complete(item.owner, item.ids, item.effects, now)),
    );
    this.#db.onCommit(() => this.#wake());
    return results;
  }

  /** Runs inside a write; throws (so the caller's transaction or savepoint rolls back) on a lost lease. */
  #complete(owner: string, ids: readonly string[], effects: CompletionEffects<S> | undefined, now: number): void {
    for (const id of ids) {
      if (this.#stmt.complete.run(now, now, id, owner).changes !== 1) {
        throw new TinyError('INVALID_STATE', `Cannot complete message ${id}: ${owner} no longer holds its lease (expired, cancelled or claimed elsewhere).`, {
          details: { id, owner },
        });
      }
    }
    if (effects && runWork(effects, this.#tx) instanceof Promise) {
      throw new TypeError('Completion effects on SQLite must not return a promise (their work would run after the transaction ends).');
    }
  }

  fail(owner: string, ids: readonly string[], input: FailInput): FailOutcome[] {
    const now = input.now ?? Date.now();
    const outcomes = this.#db.write(() => {
      const out: FailOutcome[] = [];
      for (const id of ids) {
        const row = this.#stmt.heldBy.get(id, owner) as MessageRow | undefined;
        if (!row) continue;
        out.push(this.#settleFailure(row, input, now, ids.length > 1));
      }
      return out;
    });
    this.#db.onCommit(() => this.#wake());
    return outcomes;
  }

  /** Writes what a failed or expired processing row becomes (message-row.ts's rules). Runs inside a write. */
  #settleFailure(row: MessageRow, input: FailInput, now: number, isolate: boolean): FailOutcome {
    const settled = settleFailure(row, input, now, isolate, this.#backoff, this.#random);
    if (settled.status === 'cancelled') this.#stmt.toFinal.run('cancelled', settled.lastError, now, now, row.seq);
    else if (settled.status === 'dead') this.#stmt.toDead.run(settled.reason, settled.failure, now, now, row.seq);
    else {
      const { attempts, availableAt } = settled.outcome;
      this.#stmt.toPending.run(availableAt, attempts, settled.waits, settled.error, settled.failure, settled.solo ? 1 : 0, now, row.seq);
    }
    if (settled.status !== 'cancelled') this.#events?.append(settled.event);
    return settled.outcome;
  }

  finishCancelled(owner: string, ids: readonly string[], reason: string): void {
    const now = Date.now();
    this.#db.write(() => {
      for (const id of ids) {
        const row = this.#stmt.heldBy.get(id, owner) as MessageRow | undefined;
        if (row) this.#stmt.toFinal.run('cancelled', reason, now, now, row.seq);
      }
    });
    this.#db.onCommit(() => this.#wake());
  }

  cancel(id: string, reason = 'cancelled by request'): CancelOutcome {
    const now = Date.now();
    return this.#db.write(() => {
      const row = this.#stmt.byId.get(id) as MessageRow | undefined;
      if (!row) throw new TinyError('MESSAGE_NOT_FOUND', `No message with id ${id}.`);
      if (row.status === 'pending') {
        this.#stmt.toFinal.run('cancelled', reason, now, now, row.seq);
        this.#db.onCommit(() => this.#wake());
        return { id, state: 'cancelled', status: 'cancelled' };
      }
      if (row.status === 'processing') {
        this.#stmt.requestCancel.run(reason, now, id);
        return { id, state: 'cancelling', status: 'processing' };
      }
      return { id, state: 'not_cancellable', status: row.status as MessageStatus };
    });
  }

  recoverExpiredLeases(now = Date.now()): RecoveredLease[] {
    // A read first: the sweep runs often, and most sweeps find nothing; taking the write lock
    // (and, at FULL, a commit) for nothing would contend with every other writer.
    if (this.#stmt.anyExpired.get(now) === undefined) return [];
    const recovered = this.#db.write(() => {
      const rows = this.#stmt.expired.all(now) as MessageRow[];
      return chargeExpired(rows).map((charged) => {
        const outcome = this.#settleFailure(charged, leaseLost(charged.lease_owner), now, true);
        return { id: charged.id, agentId: charged.agent_id, status: outcome.status, attempts: outcome.attempts };
      });
    });
    if (recovered.length > 0) this.#db.onCommit(() => this.#wake());
    return recovered;
  }

  expireLeases(isDead: (owner: string) => boolean, now = Date.now()): number {
    const owners = (this.#stmt.leaseOwners.all() as string[]).filter(isDead);
    if (owners.length === 0) return 0;
    return this.#db.write(() => owners.reduce((n, owner) => n + this.#stmt.expireOwner.run(now - 1, now, owner).changes, 0));
  }

  get(id: string): QueueMessage | undefined {
    const row = this.#stmt.byId.get(id) as MessageRow | undefined;
    return row ? toMessage(row) : undefined;
  }

  counts(): QueueCounts {
    const counts = emptyCounts();
    for (const row of this.#stmt.counts.all() as Array<{ status: MessageStatus; n: number }>) counts[row.status] = row.n;
    return counts;
  }

  countsByAgent(): Array<{ agentId: string } & QueueCounts> {
    const byAgent = new Map<string, { agentId: string } & QueueCounts>();
    for (const row of this.#stmt.countsByAgent.all() as Array<{ agent_id: string; status: MessageStatus; n: number }>) {
      let entry = byAgent.get(row.agent_id);
      if (!entry) {
        entry = { agentId: row.agent_id, ...emptyCounts() };
        byAgent.set(row.agent_id, entry);
      }
      entry[row.status] = row.n;
    }
    return [...byAgent.values()];
  }

  listProcessing(): QueueMessage[] {
    return (this.#stmt.processing.all() as MessageRow[]).map(toMessage);
  }

  listDead(limit = 100): QueueMessage[] {
    return (this.#stmt.dead.all(limit) as MessageRow[]).map(toMessage);
  }

  retryDead(id: string): QueueMessage {
    const now = Date.now();
    this.#db.write(() => {
      if (this.#stmt.retryDead.run(now, now, id).changes !== 1) {
        throw new TinyError('MESSAGE_NOT_FOUND', `No dead message with id ${id}.`);
      }
    });
    this.#db.onCommit(() => this.#wake());
    return this.get(id)!;
  }

  assignRun(id: string, runId: string): void {
    this.#db.write(() => {
      if (this.#stmt.assignRun.run(runId, Date.now(), id).changes !== 1) throw new TinyError('MESSAGE_NOT_FOUND', `No message with id ${id}.`);
    });
  }

  deleteDead(id: string): void {
    this.#db.write(() => {
      if (this.#stmt.deleteDead.run(id).changes !== 1) throw new TinyError('MESSAGE_NOT_FOUND', `No dead message with id ${id}.`);
    });
  }

  deleteAllDead(agentId?: string): number {
    return agentId === undefined ? this.#db.deleteInBatches(DELETE_DEAD_SQL, [], 1000) : this.#db.deleteInBatches(DELETE_DEAD_OF_AGENT_SQL, [agentId], 1000);
  }

  nextWakeAt(now = Date.now()): number | undefined {
    const times = [this.#stmt.nextPending.get(now), this.#stmt.nextLease.get()].filter((t): t is number => typeof t === 'number');
    return times.length > 0 ? Math.min(...times) : undefined;
  }

  prune(beforeTs: number, batchSize = 1000): number {
    return this.#db.deleteInBatches(PRUNE_SQL, [beforeTs], batchSize);
  }

  onWake(listener: () => void): () => void {
    this.#wakeListeners.add(listener);
    return () => this.#wakeListeners.delete(listener);
  }

  /**
   * Wake-ups are this process's own business (its workers claim sooner), so they follow the
   * commit at once (`onCommit`), not its fsync: a message claimed before its enqueue is on disk
   * can only be lost together with that enqueue, which nobody was told of yet.
   */
  #wake(): void {
    for (const listener of this.#wakeListeners) listener();
  }
}

function toMessage(row: MessageRow): QueueMessage {
  return toQueueMessage(row, { attachments: JSON.parse(row.attachments) as string[], meta: JSON.parse(row.meta) as Record<string, unknown>, cancelRequested: row.cancel_requested === 1 });
}
