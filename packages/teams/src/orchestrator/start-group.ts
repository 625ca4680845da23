/**
 * The start stage's writes (process-batch.ts `start`): the batches that start in one event-loop
 * turn (a claim's start together) start their runs in one update (`RunStoreApi.startRuns`; on
 * PostgreSQL one statement instead of one per run), then each records its starts and reads its
 * steering, in one grouped transaction that does not wait for the disk. If that fails, each
 * batch's starts are written again on their own, so one batch's failure is not the others'.
 */
import type { RunRecord } from '@tinyagi/core';
import { GroupCommit, io, toError, type StoreTransaction, type TxBody, type TxSteps } from '../core-internal.ts';

/** One batch's start. */
export interface StartItem {
  /** Its runs to start, with the messages each takes. */
  starts: ReadonlyArray<{ run: RunRecord; messageIds: string[] }>;
  /** The rest of its start, given its runs as the update left them (undefined: no longer open), in the order of `starts`; run again if the group's transaction is. */
  started(tx: StoreTransaction, runs: ReadonlyArray<RunRecord | undefined>): TxSteps<void>;
}

/**
 * Starts grouped per event-loop turn, committed through `writes` (the store set's group commit,
 * `durable: false`); `node` (several nodes) is recorded on each run.
 */
export function startGroup(writes: GroupCommit<TxBody<void>>, node: string | undefined): GroupCommit<StartItem> {
  return new GroupCommit<StartItem>(async (items) => {
    try {
      await writes.add(startBody(items, node));
      return items.map(() => undefined);
    } catch (err) {
      if (items.length === 1) return [toError(err)];
    }
    return Promise.all(items.map((item) => writes.add(startBody([item], node)).then(() => undefined, toError)));
  });
}

function startBody(items: readonly StartItem[], node: string | undefined): TxBody<void> {
  return function* startRuns(tx) {
    const starts = items.flatMap(({ starts }) => starts.map(({ run, messageIds }) => ({ id: run.id, patch: { messageIds, ...(node !== undefined ? { node } : {}) } })));
    const runs = yield* io(tx.stores.runs.startRuns(starts));
    let at = 0;
    for (const item of items) {
      yield* item.started(tx, runs.slice(at, at + item.starts.length));
      at += item.starts.length;
    }
  };
}
