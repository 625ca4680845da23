/** Quota holds on PostgreSQL: the SQLite store's contract (./store.ts), shared by every node of the database. */
import type { PgScope } from '../storage/pg/scope.ts';
import type { QuotaHoldRow } from '../storage/rows.ts';
import { type QuotaHold, type QuotaHoldInput, type QuotaStoreApi, toQuotaHold } from './store.ts';

export class PgQuotaStore implements QuotaStoreApi {
  readonly #scope: PgScope;
  readonly #t: string;

  constructor(scope: PgScope) {
    this.#scope = scope;
    this.#t = scope.table('quota_holds');
  }

  async put(input: QuotaHoldInput, now = Date.now()): Promise<QuotaHold> {
    const [row] = await this.#scope.query<QuotaHoldRow>(
      `INSERT INTO ${this.#t} (account, runtime, label, status, resets_at, limit_name, message, reported_by, created_at, updated_at)
       VALUES ($1, $2, $3, 'exhausted', $4, $5, $6, $7, $8, $8)
       ON CONFLICT (account) DO UPDATE SET runtime = excluded.runtime, label = excluded.label, status = excluded.status, resets_at = excluded.resets_at,
         limit_name = excluded.limit_name, message = excluded.message, reported_by = excluded.reported_by, updated_at = excluded.updated_at
       RETURNING *`,
      [input.account, input.runtime, input.label, input.resetsAt, input.limit, input.message, input.reportedBy, now],
    );
    return toQuotaHold(row!);
  }

  async remove(account: string): Promise<boolean> {
    return (await this.#scope.query(`DELETE FROM ${this.#t} WHERE account = $1 RETURNING 1`, [account])).length > 0;
  }

  async list(): Promise<QuotaHold[]> {
    return (await this.#scope.query<QuotaHoldRow>(`SELECT * FROM ${this.#t} ORDER BY resets_at, account`)).map(toQuotaHold);
  }

  async prune(now = Date.now()): Promise<number> {
    return (await this.#scope.query(`DELETE FROM ${this.#t} WHERE resets_at <= $1 RETURNING 1`, [now])).length;
  }
}
