/** Quota holds on SQLite (the model: ./store.ts). */
import type { TinyDatabase } from '../storage/database.ts';
import type { QuotaHoldRow } from '../storage/rows.ts';
import { type QuotaHold, type QuotaHoldInput, type QuotaStoreApi, toQuotaHold } from './store.ts';

export class QuotaStore implements QuotaStoreApi {
  readonly #db: TinyDatabase;

  constructor(db: TinyDatabase) {
    this.#db = db;
  }

  put(input: QuotaHoldInput, now = Date.now()): QuotaHold {
    return this.#db.write(() => {
      this.#db
        .prepare(
          `INSERT INTO quota_holds (account, runtime, label, status, resets_at, limit_name, message, reported_by, created_at, updated_at)
           VALUES (?, ?, ?, 'exhausted', ?, ?, ?, ?, ?, ?)
           ON CONFLICT (account) DO UPDATE SET runtime = excluded.runtime, label = excluded.label, status = excluded.status, resets_at = excluded.resets_at,
             limit_name = excluded.limit_name, message = excluded.message, reported_by = excluded.reported_by, updated_at = excluded.updated_at`,
        )
        .run(input.account, input.runtime, input.label, input.resetsAt, input.limit, input.message, input.reportedBy, now, now);
      return toQuotaHold(this.#db.prepare('SELECT * FROM quota_holds WHERE account = ?').get(input.account) as QuotaHoldRow);
    });
  }

  remove(account: string): boolean {
    return this.#db.write(() => this.#db.prepare('DELETE FROM quota_holds WHERE account = ?').run(account).changes > 0);
  }

  list(): QuotaHold[] {
    return (this.#db.prepare('SELECT * FROM quota_holds ORDER BY resets_at, account').all() as QuotaHoldRow[]).map(toQuotaHold);
  }

  prune(now = Date.now()): number {
    return this.#db.write(() => this.#db.prepare('DELETE FROM quota_holds WHERE resets_at <= ?').run(now).changes);
  }
}
