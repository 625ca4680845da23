/**
 * Pairing on PostgreSQL: the contract of the SQLite `PairingStore` (./store.ts), whose rules,
 * errors, events and row mapping it shares. A request locks the sender's row (`FOR UPDATE`); two
 * nodes asking for a new sender at once insert it once (`ON CONFLICT DO NOTHING`, then the loser
 * reads the winner's row), so both show the same code. Approving is one conditional update: a
 * code approves once, whichever node is asked. The cap on pending requests is checked, not
 * locked: nodes racing at the cap may exceed it by the few requests in flight.
 */
import { pgEventLog, type PgEventLog } from '../events/pg-log.ts';
import type { PairingStoreApi } from './store.ts';
import type { PgShared } from '../storage/pg/helpers.ts';
import type { PgScope } from '../storage/pg/scope.ts';
import type { PairingRow } from '../storage/rows.ts';
import {
  type ApprovedPairing,
  approvedEvent,
  generatePairingCode,
  noPendingCode,
  normalizePairingCode,
  notApproved,
  PAIRING_DEFAULTS,
  type PairingRequestResult,
  type PairingStoreOptions,
  type PendingPairing,
  requestedEvent,
  type SenderCheck,
  splitPairings,
  toApproved,
  tooManyPending,
  usedCode,
} from './store.ts';

export class PgPairingStore implements PairingStoreApi {
  readonly #scope: PgScope;
  readonly #events: PgEventLog;
  readonly #maxPending: number;
  readonly #pendingTtlMs: number;
  readonly #t: string;

  constructor(scope: PgScope, events: PgEventLog, options: Omit<PairingStoreOptions, 'events'> = {}) {
    this.#scope = scope;
    this.#events = events;
    this.#maxPending = options.maxPending ?? PAIRING_DEFAULTS.maxPending;
    this.#pendingTtlMs = options.pendingTtlMs ?? PAIRING_DEFAULTS.pendingTtlMs;
    this.#t = scope.table('pairings');
  }

  async checkSender(input: { channel: string; senderId: string; sender?: string }, now = Date.now()): Promise<SenderCheck> {
    const seen = await this.#scope.query(`UPDATE ${this.#t} SET last_seen_at = $3, sender = COALESCE($4, sender) WHERE channel = $1 AND sender_id = $2 AND status = 'approved' RETURNING 1`, [
      input.channel,
      input.senderId,
      now,
      input.sender ?? null,
    ]);
    return { approved: seen.length > 0 };
  }

  async request(input: { channel: string; senderId: string; sender?: string }, now = Date.now()): Promise<PairingRequestResult> {
    return this.#scope.transaction(async (scope) => {
      for (;;) {
        const [row] = await scope.query<PairingRow>(`SELECT * FROM ${this.#t} WHERE channel = $1 AND sender_id = $2 FOR UPDATE`, [input.channel, input.senderId]);
        const sender = input.sender ?? row?.sender ?? '';
        if (row && (row.status === 'approved' || now - row.created_at <= this.#pendingTtlMs)) {
          await scope.query(`UPDATE ${this.#t} SET last_seen_at = $3, sender = $4 WHERE channel = $1 AND sender_id = $2`, [input.channel, input.senderId, now, sender]);
          return row.status === 'approved' ? { status: 'approved', code: null, created: false } : { status: 'pending', code: row.code, created: false };
        }
        const code = await this.#uniqueCode(scope);
        if (row) {
          // A stale request (locked above): a fresh code replaces it.
          await scope.query(`UPDATE ${this.#t} SET code = $3, sender = $4, created_at = $5, last_seen_at = $5 WHERE channel = $1 AND sender_id = $2`, [
            input.channel,
            input.senderId,
            code,
            sender,
            now,
          ]);
        } else {
          const [{ n: pending } = { n: 0 }] = await scope.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${this.#t} WHERE status = 'pending'`);
          if (pending >= this.#maxPending) throw tooManyPending(pending);
          const inserted = await scope.query(
            `INSERT INTO ${this.#t} (channel, sender_id, sender, code, status, created_at, last_seen_at) VALUES ($1, $2, $3, $4, 'pending', $5, $5)
            ON CONFLICT (channel, sender_id) DO NOTHING RETURNING 1`,
            [input.channel, input.senderId, sender, code, now],
          );
          // Another node inserted this sender meanwhile: take its row (locked) from the top.
          if (inserted.length === 0) continue;
        }
        await this.#events.append(requestedEvent(input, sender, code));
        return { status: 'pending', code, created: true };
      }
    });
  }

  async approve(code: string, now = Date.now()): Promise<ApprovedPairing> {
    const normalized = normalizePairingCode(code);
    return this.#scope.transaction(async (scope) => {
      // Locked: a node approving the same code meanwhile finds it used once this commits.
      const [row] = await scope.query<PairingRow>(`SELECT * FROM ${this.#t} WHERE code = $1 AND status = 'pending' FOR UPDATE`, [normalized]);
      if (!row) throw noPendingCode(normalized, true);
      // The code is single-use: replace it so it can never approve anything again.
      await scope.query(`UPDATE ${this.#t} SET status = 'approved', approved_at = $3, code = $4 WHERE channel = $1 AND sender_id = $2`, [row.channel, row.sender_id, now, usedCode(row)]);
      // The channel process waits for this to tell the sender and deliver the held message.
      await this.#events.append(approvedEvent(row));
      return toApproved({ ...row, approved_at: now });
    });
  }

  async dismiss(code: string): Promise<void> {
    const normalized = normalizePairingCode(code);
    const deleted = await this.#scope.query(`DELETE FROM ${this.#t} WHERE code = $1 AND status = 'pending' RETURNING 1`, [normalized]);
    if (deleted.length === 0) throw noPendingCode(normalized, false);
  }

  async revoke(channel: string, senderId: string): Promise<void> {
    const deleted = await this.#scope.query(`DELETE FROM ${this.#t} WHERE channel = $1 AND sender_id = $2 AND status = 'approved' RETURNING 1`, [channel, senderId]);
    if (deleted.length === 0) throw notApproved(channel, senderId);
  }

  async isApproved(channel: string, senderId: string): Promise<boolean> {
    return (await this.#scope.query(`SELECT 1 FROM ${this.#t} WHERE channel = $1 AND sender_id = $2 AND status = 'approved'`, [channel, senderId])).length > 0;
  }

  async list(): Promise<{ pending: PendingPairing[]; approved: ApprovedPairing[] }> {
    return splitPairings(await this.#scope.query<PairingRow>(`SELECT * FROM ${this.#t} ORDER BY created_at, channel, sender_id`));
  }

  async #uniqueCode(scope: PgScope): Promise<string> {
    for (;;) {
      const code = generatePairingCode();
      if ((await scope.query(`SELECT 1 FROM ${this.#t} WHERE code = $1`, [code])).length === 0) return code;
    }
  }
}

export function pgPairingStore(scope: PgScope, shared: PgShared): PgPairingStore {
  return new PgPairingStore(scope, pgEventLog(scope, shared));
}
