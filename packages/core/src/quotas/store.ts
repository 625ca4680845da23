/**
 * Quota holds (`quota_holds` table, docs/quotas.md): an account a
 * runtime reported exhausted, held until its reset time. The scheduler (quotas/board.ts) keeps
 * them in memory and writes them here, so a daemon restart keeps the hold. One row per account;
 * a newer report replaces the older one.
 */
import type { QuotaHoldRow } from '../storage/rows.ts';
import type { Awaitable } from '../storage/transaction.ts';

export interface QuotaHold {
  /** `<runtime>:<fingerprint>` (quotas/account.ts). */
  account: string;
  runtime: string;
  label: string;
  status: 'exhausted';
  /** When the hold ends (ms since the epoch). */
  resetsAt: number;
  /** Which limit, as the runtime named it (`five_hour`, `requests`, …). */
  limit: string | null;
  /** The runtime's own words. */
  message: string | null;
  /** The agent whose run reported it. */
  reportedBy: string | null;
  createdAt: number;
  updatedAt: number;
}

export type QuotaHoldInput = Omit<QuotaHold, 'status' | 'createdAt' | 'updatedAt'>;

export interface QuotaStoreApi {
  /** Records (or replaces) the hold of an account. */
  put(input: QuotaHoldInput, now?: number): Awaitable<QuotaHold>;
  /** Ends the hold of an account; false when there was none. */
  remove(account: string): Awaitable<boolean>;
  /** Every hold, soonest reset first (expired ones too, until removed). */
  list(): Awaitable<QuotaHold[]>;
  /** Removes holds whose reset time is at or before `now`; returns how many. */
  prune(now?: number): Awaitable<number>;
}

/** @internal Row mapping shared by the SQLite and PostgreSQL stores. */
export function toQuotaHold(row: QuotaHoldRow): QuotaHold {
  return {
    account: row.account,
    runtime: row.runtime,
    label: row.label,
    status: 'exhausted',
    resetsAt: Number(row.resets_at),
    limit: row.limit_name,
    message: row.message,
    reportedBy: row.reported_by,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}
