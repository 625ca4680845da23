/**
 * The orchestrator's own observers (core's observer seam, docs/observers.md): the event log's
 * run events and usage accounting. They are added first to every orchestrator's list, so their
 * records run before any other observer's in the same transaction.
 *
 * - event log: `run.queued` / `run.started` / `run.rejected` when a run is created, `run.started`
 *   when the queue starts it, `run.<status>` (and `subagent.completed|failed` for sub-agent runs)
 *   when it ends — written in the transaction that changes the run, so state and event commit
 *   together — and `run.progress` for every progress report (not durable-transactional: emitted).
 * - usage accounting: what a failed attempt spent, added to the conversation's totals and the
 *   run's own in the same transaction, so budgets count every attempt (what an ended run spent
 *   its finish adds to both: `finishRun`).
 */
import type { Observer } from '@tinyagi/core';
import type { StoreSet, StoreTransaction } from '../core-internal.ts';
import { io } from '../core-internal.ts';
import { treeFields } from './lifecycle.ts';

export function eventLogObserver(events: Pick<StoreSet['events'], 'emit'>): Observer<StoreTransaction> {
  return {
    name: 'event-log',
    progress({ run, turn, progress }) {
      events.emit({ type: 'run.progress', ...treeFields(run), data: { ...progress, turn } });
    },
    records: {
      *runCreated({ run, from, hop }, tx: StoreTransaction) {
        const type = run.status === 'rejected' ? 'run.rejected' : run.status === 'running' ? 'run.started' : 'run.queued';
        const data = { cause: run.cause, messageIds: run.messageIds, ...(run.error ? { error: run.error } : {}), ...(from !== undefined ? { from } : {}), ...(hop !== undefined ? { hop } : {}) };
        yield* io(tx.stores.events.append({ type, ...treeFields(run), data }));
      },
      *runStarted({ run, messageIds, changed }, tx: StoreTransaction) {
        // A retried attempt of a run that is already running stays silent.
        if (changed) yield* io(tx.stores.events.append({ type: 'run.started', ...treeFields(run), data: { cause: run.cause, messageIds: [...messageIds] } }));
      },
      *runEnded({ run, status, totals, error, detail }, tx: StoreTransaction) {
        const data = { cause: run.cause, ...totals, ...(error ? { error } : {}), ...detail };
        yield* io(tx.stores.events.append({ type: `run.${status}`, ...treeFields(run), data }));
        if (run.cause === 'spawn' && status !== 'rejected') {
          yield* io(
            tx.stores.events.append({
              type: status === 'completed' ? 'subagent.completed' : 'subagent.failed',
              ...treeFields(run),
              data: { name: run.agentId, depth: run.depth, parentRunId: run.parentRunId, status, ...totals, ...(error ? { error } : {}) },
            }),
          );
        }
      },
    },
  };
}

export function usageObserver(): Observer<StoreTransaction> {
  return {
    name: 'usage',
    records: {
      *attemptFailed({ run, usage, costUsd }, tx: StoreTransaction) {
        if (usage === undefined) return;
        // The conversation's row first, then the run's: the order a run's finish locks them in (no deadlock with a cancel).
        yield* io(tx.stores.runs.bumpConversation(run.conversationId, { ...usage, costUsd: costUsd ?? 0 }));
        yield* io(tx.stores.runs.addUsage(run.id, usage, costUsd ?? 0));
      },
    },
  };
}
