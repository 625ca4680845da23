/**
 * Pairing: which (channel, sender) pairs may talk to the agents (`pairings` table).
 *
 * Contract:
 * - A sender check (`checkSender`, on every message a channel takes in) says whether the sender
 *   is let in and, for an approved sender, records when it was last seen; it never creates a
 *   request. Asking to be let in is `request`.
 * - An unknown sender gets one pending request with an 8-character code from an alphabet
 *   without look-alikes (no I, O, 0, 1); asking again returns the same code (no code churn),
 *   until the request is older than `pendingTtlMs`, when a fresh code replaces it.
 * - Pending requests are capped (`maxPending`): beyond it new senders are refused with
 *   LIMIT_EXCEEDED instead of growing the table without bound.
 * - Approving is by code (case-insensitive); the code is single-use.
 */
import { randomBytes } from 'node:crypto';
import { TinyError } from '../errors.ts';
import type { EventLog } from '../events/sqlite-log.ts';
import type { EventInput } from '../events/types.ts';
import type { PairingRow } from '../storage/rows.ts';
import type { Awaitable } from '../storage/transaction.ts';

export const PAIRING_CODE_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
export const PAIRING_CODE_LENGTH = 8;
/** At most 100 pending requests; a request older than a day gets a fresh code. */
export const PAIRING_DEFAULTS = { maxPending: 100, pendingTtlMs: 24 * 3600_000 } as const;

export interface PendingPairing {
  channel: string;
  senderId: string;
  sender: string;
  code: string;
  createdAt: number;
  lastSeenAt: number | null;
}

export interface ApprovedPairing {
  channel: string;
  senderId: string;
  sender: string;
  approvedAt: number;
  lastSeenAt: number | null;
}

export interface PairingRequestResult {
  status: 'approved' | 'pending';
  /** The code to show the sender while pending; null once approved. */
  code: string | null;
  /** True when this call created a new pending request (or a fresh code). */
  created: boolean;
}

/** A sender check: is the sender let in? */
export interface SenderCheck {
  approved: boolean;
}

export interface PairingStoreOptions {
  events?: EventLog;
  maxPending?: number;
  pendingTtlMs?: number;
}

/** A `SELECT *` row (type derived from the drizzle schema). */
type Row = PairingRow;

export function generatePairingCode(): string {
  const bytes = randomBytes(PAIRING_CODE_LENGTH);
  let code = '';
  // 32 symbols: the low 5 bits of a random byte are uniform.
  for (const byte of bytes) code += PAIRING_CODE_ALPHABET[byte & 31];
  return code;
}

export function normalizePairingCode(code: string): string {
  return code.trim().toUpperCase();
}

export interface PairingStoreApi {
  /** Is this sender let in? An approved sender's last-seen time (and display name, when given) is recorded; nothing else is written. */
  checkSender(input: { channel: string; senderId: string; sender?: string }, now?: number): Awaitable<SenderCheck>;
  /** The sender asks to be let in: a pending request with its code (created once, then reused; renewed once expired); `approved` for a sender already let in. */
  request(input: { channel: string; senderId: string; sender?: string }, now?: number): Awaitable<PairingRequestResult>;
  approve(code: string, now?: number): Awaitable<ApprovedPairing>;
  dismiss(code: string): Awaitable<void>;
  revoke(channel: string, senderId: string): Awaitable<void>;
  isApproved(channel: string, senderId: string): Awaitable<boolean>;
  list(): Awaitable<{ pending: PendingPairing[]; approved: ApprovedPairing[] }>;
}

// Shared with the PostgreSQL store (pg-store.ts).

export function tooManyPending(pending: number): TinyError {
  return new TinyError('LIMIT_EXCEEDED', `There are already ${pending} pending pairing requests.`, {
    hint: 'Approve or deny pending requests (`tinyagi pairing list`) before new senders can ask.',
  });
}

export function noPendingCode(code: string, withHint: boolean): TinyError {
  return new TinyError(
    'PAIRING_NOT_FOUND',
    `No pending pairing request with code ${code}.`,
    withHint ? { hint: 'Check the code the bot sent (8 characters); `tinyagi pairing pending` lists open requests.' } : undefined,
  );
}

export function notApproved(channel: string, senderId: string): TinyError {
  return new TinyError('PAIRING_NOT_FOUND', `Sender ${senderId} on ${channel} is not approved.`);
}

/** @internal What replaces an approved sender's code, so the code can never approve anything again. */
export function usedCode(row: Pick<Row, 'channel' | 'sender_id'>): string {
  return `used:${row.channel}:${row.sender_id}`;
}

export function requestedEvent(input: { channel: string; senderId: string }, sender: string, code: string): EventInput {
  return { type: 'pairing.requested', data: { channel: input.channel, senderId: input.senderId, sender, code } };
}

/** @internal Row mapping shared by the SQLite and PostgreSQL stores. */
export function approvedEvent(row: Row): EventInput {
  return { type: 'pairing.approved', data: { channel: row.channel, senderId: row.sender_id, sender: row.sender } };
}

/** @internal Row mapping shared by the SQLite and PostgreSQL stores. */
export function toApproved(r: Row): ApprovedPairing {
  return { channel: r.channel, senderId: r.sender_id, sender: r.sender, approvedAt: r.approved_at ?? r.created_at, lastSeenAt: r.last_seen_at };
}

/** @internal Rows (oldest first) as the pending requests and the approved senders. */
export function splitPairings(rows: readonly Row[]): { pending: PendingPairing[]; approved: ApprovedPairing[] } {
  return {
    pending: rows
      .filter((r) => r.status === 'pending')
      .map((r) => ({ channel: r.channel, senderId: r.sender_id, sender: r.sender, code: r.code, createdAt: r.created_at, lastSeenAt: r.last_seen_at })),
    approved: rows.filter((r) => r.status === 'approved').map(toApproved),
  };
}
