/**
 * Durable steering state of open runs (see the `run_steering` table). The orchestrator's
 * steering board writes through to it on every change and reads it back at start, so a pause,
 * an injected message or a redirect survives a daemon restart.
 *
 * Contract: `save` is one upsert (inside the caller's transaction when open); `loadOpen`
 * returns the rows of runs that are still queued or running and deletes the others (a run
 * that ended while its row's removal was lost in a crash). With several nodes, a command for a
 * queued run is kept here for whichever node starts it: `saveIfQueued` writes only while the
 * run is queued, holding the run's row meanwhile (PostgreSQL `FOR SHARE`), so a start commits
 * either before it (nothing written) or after it (the starting node's `load` sees the row).
 */
import type { TinyDatabase } from '../storage/database.ts';
import type { RunSteeringRow } from '../storage/rows.ts';
import type { Awaitable } from '../storage/transaction.ts';

export interface RunSteeringState {
  paused: boolean;
  /** Operator messages not yet handed to the run, oldest first. */
  injected: string[];
  redirect?: string | undefined;
  /** Input already handed to the current attempt; a retry after a crash gets it again. */
  applied: string[];
  appliedRedirect?: string | undefined;
}

/** @internal A `SELECT *` row (type derived from the drizzle schema). */
export type SteeringRow = Pick<RunSteeringRow, 'run_id' | 'paused' | 'injected' | 'redirect' | 'applied' | 'applied_redirect'>;

/** The statements of both backends, over the tables' names (`?` placeholders: the PostgreSQL store numbers them). */
export function steeringStatements(steering: string, runs: string, lockRun = '') {
  const upsert = `ON CONFLICT (run_id) DO UPDATE SET paused = excluded.paused, injected = excluded.injected, redirect = excluded.redirect,
        applied = excluded.applied, applied_redirect = excluded.applied_redirect, updated_at = excluded.updated_at`;
  return {
    save: `INSERT INTO ${steering} (run_id, paused, injected, redirect, applied, applied_redirect, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
      ${upsert}`,
    saveIfQueued: `INSERT INTO ${steering} (run_id, paused, injected, redirect, applied, applied_redirect, updated_at)
      SELECT ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM ${runs} WHERE id = ? AND status = 'queued'${lockRun})
      ${upsert} RETURNING run_id`,
    load: `SELECT * FROM ${steering} WHERE run_id = ?`,
    delete: `DELETE FROM ${steering} WHERE run_id = ?`,
    // Rows of runs that ended (their removal was lost in a crash) go.
    deleteClosed: `DELETE FROM ${steering} WHERE run_id NOT IN (SELECT id FROM ${runs} WHERE status IN ('queued', 'running'))`,
    all: `SELECT * FROM ${steering}`,
  };
}

/** The values of `save` after the run id. */
export function steeringValues(state: RunSteeringState): unknown[] {
  return [state.paused ? 1 : 0, JSON.stringify(state.injected), state.redirect ?? null, JSON.stringify(state.applied), state.appliedRedirect ?? null, Date.now()];
}

/** @internal Row mapping shared by the SQLite and PostgreSQL stores. */
export function toSteeringStates(rows: readonly SteeringRow[]): Map<string, RunSteeringState> {
  return new Map(
    rows.map((r) => [
      r.run_id,
      {
        paused: r.paused === 1,
        injected: JSON.parse(r.injected) as string[],
        redirect: r.redirect ?? undefined,
        applied: JSON.parse(r.applied) as string[],
        appliedRedirect: r.applied_redirect ?? undefined,
      },
    ]),
  );
}

const S = steeringStatements('run_steering', 'runs');

export interface RunSteeringStoreApi {
  save(runId: string, state: RunSteeringState): Awaitable<void>;
  delete(runId: string): Awaitable<void>;
  loadOpen(): Awaitable<Map<string, RunSteeringState>>;
  /** One run's row (a node starting a run another node may have steered while it was queued). */
  load(runId: string): Awaitable<RunSteeringState | undefined>;
  /** Saves only while the run is queued (a concurrent start waits for it): false when it is not queued. */
  saveIfQueued(runId: string, state: RunSteeringState): Awaitable<boolean>;
}

export class RunSteeringStore implements RunSteeringStoreApi {
  readonly #db: TinyDatabase;

  constructor(db: TinyDatabase) {
    this.#db = db;
  }

  save(runId: string, state: RunSteeringState): void {
    this.#db.write(() => this.#db.prepare(S.save).run(runId, ...steeringValues(state)));
  }

  delete(runId: string): void {
    this.#db.write(() => this.#db.prepare(S.delete).run(runId));
  }

  load(runId: string): RunSteeringState | undefined {
    return toSteeringStates(this.#db.prepare(S.load).all(runId) as SteeringRow[]).get(runId);
  }

  saveIfQueued(runId: string, state: RunSteeringState): boolean {
    return this.#db.write(() => this.#db.prepare(S.saveIfQueued).all(runId, ...steeringValues(state), runId).length > 0);
  }

  loadOpen(): Map<string, RunSteeringState> {
    return this.#db.write(() => {
      this.#db.prepare(S.deleteClosed).run();
      return toSteeringStates(this.#db.prepare(S.all).all() as SteeringRow[]);
    });
  }
}
