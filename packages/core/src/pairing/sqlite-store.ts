/**
 * Pairing on SQLite: `PairingStore` over the process's one connection (synchronous; every method
 * returns a plain value). The model it shares with the PostgreSQL store (./pg-store.ts): the
 * types, the store interface, the rules, SQL and row mapping are in ./store.ts.
 */
import type { PairingRow } from '../storage/rows.ts';
import type { EventLog } from '../events/sqlite-log.ts';
import type { TinyDatabase } from '../storage/database.ts';
import {
  type ApprovedPairing,
  PAIRING_DEFAULTS,
  type PairingRequestResult,
  type PairingStoreApi,
  type PairingStoreOptions,
  type PendingPairing,
  type SenderCheck,
  approvedEvent,
  generatePairingCode,
  noPendingCode,
  normalizePairingCode,
  notApproved,
  requestedEvent,
  splitPairings,
  toApproved,
  tooManyPending,
  usedCode,
} from './store.ts';

/** A `SELECT *` row (type derived from the drizzle schema). */
type Row = PairingRow;

export class PairingStore implements PairingStoreApi {
  readonly #db: TinyDatabase;
  readonly #events: EventLog | undefined;
  readonly #maxPending: number;
  readonly #pendingTtlMs: number;

  constructor(db: TinyDatabase, options: PairingStoreOptions = {}) {
    this.#db = db;
    this.#events = options.events;
    this.#maxPending = options.maxPending ?? PAIRING_DEFAULTS.maxPending;
    this.#pendingTtlMs = options.pendingTtlMs ?? PAIRING_DEFAULTS.pendingTtlMs;
  }

  checkSender(input: { channel: string; senderId: string; sender?: string }, now = Date.now()): SenderCheck {
    const seen = this.#db.write(
      () =>
        this.#db
          .prepare("UPDATE pairings SET last_seen_at = ?, sender = COALESCE(?, sender) WHERE channel = ? AND sender_id = ? AND status = 'approved'")
          .run(now, input.sender ?? null, input.channel, input.senderId).changes,
    );
    return { approved: seen > 0 };
  }

  /** Called by channel clients when a sender the check did not let in writes (and by clients of the previous version for every message). */
  request(input: { channel: string; senderId: string; sender?: string }, now = Date.now()): PairingRequestResult {
    const sql = this.#db.sqlite;
    return this.#db.write(() => {
      const row = sql.prepare('SELECT * FROM pairings WHERE channel = ? AND sender_id = ?').get(input.channel, input.senderId) as Row | undefined;
      const sender = input.sender ?? row?.sender ?? '';
      if (row?.status === 'approved') {
        sql.prepare('UPDATE pairings SET last_seen_at = ?, sender = ? WHERE channel = ? AND sender_id = ?').run(now, sender, input.channel, input.senderId);
        return { status: 'approved', code: null, created: false };
      }
      if (row && now - row.created_at <= this.#pendingTtlMs) {
        sql.prepare('UPDATE pairings SET last_seen_at = ?, sender = ? WHERE channel = ? AND sender_id = ?').run(now, sender, input.channel, input.senderId);
        return { status: 'pending', code: row.code, created: false };
      }
      if (!row) {
        const pending = (sql.prepare("SELECT COUNT(*) AS n FROM pairings WHERE status = 'pending'").get() as { n: number }).n;
        if (pending >= this.#maxPending) throw tooManyPending(pending);
      }
      const code = this.#uniqueCode();
      sql
        .prepare(`INSERT INTO pairings (channel, sender_id, sender, code, status, created_at, last_seen_at) VALUES (?, ?, ?, ?, 'pending', ?, ?)
          ON CONFLICT (channel, sender_id) DO UPDATE SET code = excluded.code, sender = excluded.sender, created_at = excluded.created_at, last_seen_at = excluded.last_seen_at`)
        .run(input.channel, input.senderId, sender, code, now, now);
      this.#events?.append(requestedEvent(input, sender, code));
      return { status: 'pending', code, created: true };
    });
  }

  approve(code: string, now = Date.now()): ApprovedPairing {
    const normalized = normalizePairingCode(code);
    return this.#db.write(() => {
      const row = this.#db.prepare("SELECT * FROM pairings WHERE code = ? AND status = 'pending'").get(normalized) as Row | undefined;
      if (!row) throw noPendingCode(normalized, true);
      // The code is single-use: replace it so it can never approve anything again.
      this.#db.prepare("UPDATE pairings SET status = 'approved', approved_at = ?, code = ? WHERE channel = ? AND sender_id = ?").run(now, usedCode(row), row.channel, row.sender_id);
      // The channel process waits for this to tell the sender and deliver the held message.
      this.#events?.append(approvedEvent(row));
      return toApproved({ ...row, approved_at: now });
    });
  }

  dismiss(code: string): void {
    const normalized = normalizePairingCode(code);
    const n = this.#db.write(() => this.#db.prepare("DELETE FROM pairings WHERE code = ? AND status = 'pending'").run(normalized).changes);
    if (n === 0) throw noPendingCode(normalized, false);
  }

  revoke(channel: string, senderId: string): void {
    const n = this.#db.write(() => this.#db.prepare("DELETE FROM pairings WHERE channel = ? AND sender_id = ? AND status = 'approved'").run(channel, senderId).changes);
    if (n === 0) throw notApproved(channel, senderId);
  }

  isApproved(channel: string, senderId: string): boolean {
    return this.#db.prepare("SELECT 1 FROM pairings WHERE channel = ? AND sender_id = ? AND status = 'approved'").get(channel, senderId) !== undefined;
  }

  list(): { pending: PendingPairing[]; approved: ApprovedPairing[] } {
    return splitPairings(this.#db.prepare('SELECT * FROM pairings ORDER BY created_at, channel, sender_id').all() as Row[]);
  }

  #uniqueCode(): string {
    const taken = this.#db.prepare('SELECT 1 FROM pairings WHERE code = ?');
    for (;;) {
      const code = generatePairingCode();
      if (taken.get(code) === undefined) return code;
    }
  }
}
