/**
 * Parts of a transaction's last statement on PostgreSQL: the one that writes its events just
 * before its COMMIT (events/pg-log.ts, `PgEventLog.ride`). A write or read that no later
 * statement of the transaction depends on rides there instead of taking a round trip of its own.
 *
 * Contract: that statement holds the schema's events lock (commit order) while it runs, so a
 * part must not wait for a row lock another transaction may hold: it reads, or writes rows its
 * transaction has locked already. Its CTEs see the snapshot of the statement (taken after every
 * earlier statement of the transaction, and so after the row locks they waited for).
 */

/** One kind of part: the items of a transaction are combined into one part of the statement. */
export interface Rider<T> {
  /**
   * The part for `items`: CTEs (`name AS (…)`, names starting with the rider's `name`), the
   * statement's output columns for it (named likewise), and their values, numbered from `$first`.
   */
  part(items: readonly T[], first: number): { ctes: string[]; columns: string[]; values: unknown[] };
  /** Given the statement's row once it ran (the transaction has not committed yet). */
  done?(items: readonly T[], row: Record<string, unknown>): void;
  /** Told when the statement failed (the transaction rolls back). */
  failed?(items: readonly T[], err: unknown): void;
}

/** An item for a rider, as collected by the transaction. */
export interface RiderItem<T = unknown> {
  rider: Rider<T>;
  item: T;
}

export function isRiderItem(x: unknown): x is RiderItem {
  return typeof x === 'object' && x !== null && 'rider' in x && 'item' in x;
}

/** The items grouped by rider, in the order of each rider's first item. */
function byRider(items: readonly RiderItem[]): Map<Rider<unknown>, unknown[]> {
  const out = new Map<Rider<unknown>, unknown[]>();
  for (const { rider, item } of items) {
    const list = out.get(rider);
    if (list) list.push(item);
    else out.set(rider, [item]);
  }
  return out;
}

/** The parts of `items` after a statement's own CTEs, columns and values (`base`): one statement's text and values, and what to do with its row. */
export function withRiders(
  base: { ctes: string[]; columns: string[]; values: unknown[] },
  items: readonly RiderItem[],
): { text: string; values: unknown[]; done: (row: Record<string, unknown>) => void; failed: (err: unknown) => void } {
  const ctes = [...base.ctes];
  const columns = [...base.columns];
  const values = [...base.values];
  const groups = [...byRider(items)];
  for (const [rider, list] of groups) {
    const part = rider.part(list, values.length + 1);
    ctes.push(...part.ctes);
    columns.push(...part.columns);
    values.push(...part.values);
  }
  return {
    text: `${ctes.length > 0 ? `WITH ${ctes.join(',\n')} ` : ''}SELECT ${columns.length > 0 ? columns.join(', ') : '1'}`,
    values,
    done: (row) => {
      for (const [rider, list] of groups) rider.done?.(list, row);
    },
    failed: (err) => {
      for (const [rider, list] of groups) rider.failed?.(list, err);
    },
  };
}

/** `(…), (…)` of `rows` for an INSERT's VALUES in a part: each value appended to `values`, its placeholder numbered from `$first`. */
export function valuesList(rows: ReadonlyArray<readonly unknown[]>, first: number, values: unknown[]): string {
  return rows.map((row) => `(${row.map((v) => `$${first + values.push(v) - 1}`).join(', ')})`).join(', ');
}

/** `?` placeholders numbered from `$first` (the shared statements' text in a part). */
export function numberedFrom(sql: string, first: number): string {
  let n = first - 1;
  return sql.replace(/\?/g, () => `$${++n}`);
}

/** Where parts ride: the event log of the transaction's scope (`PgEventLog.ride`). */
export interface LastStatement {
  ride<T>(rider: Rider<T>, item: T): Promise<void>;
}
