/**
 * Outbox: one row per human-facing reply.
 *
 * Contract:
 * - Enqueue is idempotent on `idempotencyKey` (the same reply is never stored twice).
 * - Channels with a delivering client get `pending` rows that clients claim with a lease and
 *   `ack` after the platform confirmed the send; a crash between send and ack re-offers the same
 *   idempotency key. Replies for channels no client consumes (api, cli, web, heartbeat, schedule,
 *   chatroom…) are stored as `delivered` at once: they live in the conversation history, never
 *   pending forever. Which channels have a client is delivery.ts's rule (`heldForClient`); the
 *   store applies it when it inserts, and keeps the channels whose client signed in.
 * - Rows not delivered before `expiresAt` become `expired` (with an event), so nothing waits
 *   forever for a channel that never connects.
 */
import { TinyError } from '../errors.ts';
import type { EventLog } from '../events/sqlite-log.ts';
import type { EventInput } from '../events/types.ts';
import type { OutboxTableRow } from '../storage/rows.ts';
import type { Awaitable } from '../storage/transaction.ts';

export type OutboxStatus = 'pending' | 'delivering' | 'delivered' | 'failed' | 'expired';

export const EXPIRE_BATCH = 500;

/** A reply expires after a day undelivered; a send is tried at most 10 times. */
export const OUTBOX_DEFAULTS = { ttlMs: 24 * 3600_000, maxAttempts: 10 } as const;

export interface OutboxRecipient {
  senderId?: string;
  sender?: string;
  chatId?: string;
  threadId?: string;
  [key: string]: unknown;
}

export interface OutboxInput {
  idempotencyKey: string;
  channel: string;
  text: string;
  recipient?: OutboxRecipient;
  files?: string[];
  messageId?: string | null;
  runId?: string | null;
  conversationId?: string | null;
  agentId?: string | null;
  meta?: Record<string, unknown>;
  ttlMs?: number;
}

export interface OutboxRow {
  seq: number;
  id: string;
  messageId: string | null;
  runId: string | null;
  conversationId: string | null;
  agentId: string | null;
  channel: string;
  recipient: OutboxRecipient;
  text: string;
  files: string[];
  meta: Record<string, unknown>;
  idempotencyKey: string;
  status: OutboxStatus;
  attempts: number;
  leaseOwner: string | null;
  leaseExpiresAt: number | null;
  availableAt: number;
  expiresAt: number;
  lastError: string | null;
  createdAt: number;
  deliveredAt: number | null;
}

export interface OutboxListQuery {
  channel?: string;
  status?: OutboxStatus;
  conversationId?: string;
  afterSeq?: number;
  limit?: number;
}

export interface OutboxStoreOptions {
  events?: EventLog;
  clientChannels?: readonly string[];
  defaultTtlMs?: number;
  maxAttempts?: number;
}

/** A `SELECT *` row (type derived from the drizzle schema). */
type Row = OutboxTableRow;

/** Human-facing replies with at-least-once delivery (leases, retries, expiry). */
export interface OutboxStoreApi {
  /** Whether a client delivers `channel` (delivery.ts's `heldForClient` over the channels signed in here). */
  hasClient(channel: string): boolean;
  /** Remembers that a client of `channel` signed in (`ReplyDelivery.clientSignedIn`; shared by the store set's transactions). */
  registerClientChannel(channel: string): void;
  enqueue(input: OutboxInput): Awaitable<{ row: OutboxRow; created: boolean }>;
  /**
   * `enqueue` as part of the transaction's last statement (PostgreSQL: the one that writes its
   * events, just before its COMMIT; elsewhere at once), for a reply whose key no row holds yet
   * because the transaction holds what makes it unique (the run it finished): a key stored
   * already fails the transaction instead of returning that row. Its row comes after every row
   * the transaction enqueues (delivery follows the store's order): for a transaction's last
   * reply. `run` is the place in the tree of the reply's run (`input.runId`), which its events carry.
   */
  enqueueAtCommit(input: OutboxInput, run?: ReplyRun): Awaitable<void>;
  claim(options: { channel: string; owner: string; limit?: number; leaseMs?: number; now?: number }): Awaitable<OutboxRow[]>;
  ack(id: string): Awaitable<OutboxRow>;
  fail(id: string, error: string, options?: { retryAfterMs?: number; permanent?: boolean }): Awaitable<OutboxRow>;
  expire(now?: number): Awaitable<OutboxRow[]>;
  get(id: string): Awaitable<OutboxRow | undefined>;
  list(query?: OutboxListQuery): Awaitable<OutboxRow[]>;
  counts(): Awaitable<Record<OutboxStatus, number>>;
  prune(beforeTs: number, batchSize?: number): Awaitable<number>;
}

// Shared with the PostgreSQL store (pg-store.ts): the rules and events, whatever runs the SQL.

export const INSERT_COLUMNS = 'id, message_id, run_id, conversation_id, agent_id, channel, recipient, text, files, meta, idempotency_key, status, available_at, expires_at, created_at, delivered_at';

/** The values of a new reply in the order of INSERT_COLUMNS: stored as delivered at once when no client delivers its channel. */
export function insertValues(id: string, input: OutboxInput, delivered: boolean, now: number, defaultTtlMs: number): Array<string | number | null> {
  return [
    id,
    input.messageId ?? null,
    input.runId ?? null,
    input.conversationId ?? null,
    input.agentId ?? null,
    input.channel,
    JSON.stringify(input.recipient ?? {}),
    input.text,
    JSON.stringify(input.files ?? []),
    JSON.stringify(input.meta ?? {}),
    input.idempotencyKey,
    delivered ? 'delivered' : 'pending',
    now,
    now + (input.ttlMs ?? defaultTtlMs),
    now,
    delivered ? now : null,
  ];
}

export type OutboxTree = { conversationId: string | null; runId: string | null; agentId: string | null; parentRunId?: string | null; depth?: number };
export type ReplyRun = { parent_run_id: string | null; depth: number };

/** The tree fields of an outbox event: the reply's run, with its parent and depth when the run is known. */
export function treeOf(conversationId: string | null, runId: string | null, agentId: string | null, run: ReplyRun | undefined): OutboxTree {
  return { conversationId, runId, agentId, ...(run ? { parentRunId: run.parent_run_id, depth: run.depth } : {}) };
}

/** `enqueueAtCommit` met a key stored already. */
export function replyKeyTaken(key: string): TinyError {
  return new TinyError('INVALID_STATE', `An outbox row with idempotency key ${key} exists already.`);
}

export function outboxNotFound(id: string): TinyError {
  return new TinyError('OUTBOX_NOT_FOUND', `No outbox row with id ${id}.`);
}

/** The events of a stored reply: enqueued, and delivered at once when it was stored as delivered. */
export function enqueuedEvents(row: Pick<OutboxRow, 'id' | 'channel' | 'status' | 'text'>, tree: OutboxTree): EventInput[] {
  const enqueued: EventInput = { type: 'outbox.enqueued', ...tree, data: { outboxId: row.id, channel: row.channel, status: row.status, text: row.text } };
  return row.status === 'delivered' ? [enqueued, { type: 'outbox.delivered', ...tree, data: { outboxId: row.id, channel: row.channel, stored: true } }] : [enqueued];
}

/** 'done' when the row was already acknowledged; throws INVALID_STATE when it can no longer be. */
export function mustAck(row: OutboxRow): 'done' | 'ack' {
  if (row.status === 'delivered') return 'done';
  if (row.status !== 'delivering' && row.status !== 'pending') throw new TinyError('INVALID_STATE', `Outbox row ${row.id} is ${row.status} and cannot be acknowledged.`);
  return 'ack';
}

/** After a failed send: retried later with backoff (or after `retryAfterMs`), or failed for good. */
export function failure(row: OutboxRow, maxAttempts: number, options: { retryAfterMs?: number; permanent?: boolean }, now: number): { status: 'failed' | 'pending'; availableAt: number } {
  if (row.status !== 'delivering' && row.status !== 'pending') {
    throw new TinyError('INVALID_STATE', `Outbox row ${row.id} is ${row.status}; only pending or delivering rows can fail.`);
  }
  const giveUp = options.permanent === true || row.attempts >= maxAttempts;
  const delay = options.retryAfterMs ?? Math.min(300_000, 1000 * 2 ** Math.max(0, row.attempts - 1));
  return { status: giveUp ? 'failed' : 'pending', availableAt: now + delay };
}

export function deliveredEvent(row: OutboxRow, tree: OutboxTree): EventInput {
  return { type: 'outbox.delivered', ...tree, data: { outboxId: row.id, channel: row.channel } };
}

export function failedEvent(row: OutboxRow, tree: OutboxTree, error: string): EventInput {
  return { type: 'outbox.failed', ...tree, data: { outboxId: row.id, channel: row.channel, error } };
}

export function expiredEvent(row: OutboxRow, tree: OutboxTree): EventInput {
  return { type: 'outbox.expired', ...tree, data: { outboxId: row.id, channel: row.channel, createdAt: row.createdAt } };
}

/** @internal Shared by both stores; an outbox row as its record. */
export function toRow(r: Row): OutboxRow {
  return {
    seq: r.seq,
    id: r.id,
    messageId: r.message_id,
    runId: r.run_id,
    conversationId: r.conversation_id,
    agentId: r.agent_id,
    channel: r.channel,
    recipient: JSON.parse(r.recipient) as OutboxRecipient,
    text: r.text,
    files: JSON.parse(r.files) as string[],
    meta: JSON.parse(r.meta) as Record<string, unknown>,
    idempotencyKey: r.idempotency_key,
    status: r.status as OutboxStatus,
    attempts: r.attempts,
    leaseOwner: r.lease_owner,
    leaseExpiresAt: r.lease_expires_at,
    availableAt: r.available_at,
    expiresAt: r.expires_at,
    lastError: r.last_error,
    createdAt: r.created_at,
    deliveredAt: r.delivered_at,
  };
}
