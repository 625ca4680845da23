/**
 * Steering state of open runs on PostgreSQL: the statements and mapper of the SQLite
 * `RunSteeringStore` (runs/store.ts, runs/sqlite-store.ts) over a `PgScope`.
 */
import type { RunSteeringStoreApi } from './store.ts';
import { positionalAll, type PgScope } from '../storage/pg/scope.ts';
import { steeringStatements, steeringValues, toSteeringStates, type RunSteeringState, type SteeringRow } from './store.ts';

export class PgRunSteeringStore implements RunSteeringStoreApi {
  readonly #scope: PgScope;
  readonly #s: ReturnType<typeof steeringStatements>;

  constructor(scope: PgScope) {
    this.#scope = scope;
    this.#s = positionalAll(steeringStatements(scope.table('run_steering'), scope.table('runs'), ' FOR SHARE'));
  }

  async save(runId: string, state: RunSteeringState): Promise<void> {
    await this.#scope.query(this.#s.save, [runId, ...steeringValues(state)]);
  }

  async delete(runId: string): Promise<void> {
    await this.#scope.query(this.#s.delete, [runId]);
  }

  async load(runId: string): Promise<RunSteeringState | undefined> {
    return toSteeringStates(await this.#scope.query<SteeringRow>(this.#s.load, [runId])).get(runId);
  }

  async saveIfQueued(runId: string, state: RunSteeringState): Promise<boolean> {
    return (await this.#scope.query(this.#s.saveIfQueued, [runId, ...steeringValues(state), runId])).length > 0;
  }

  /** The delete of ended runs' rows and the read in one transaction (a savepoint inside one). */
  loadOpen(): Promise<Map<string, RunSteeringState>> {
    return this.#scope.transaction(async (tx) => {
      await tx.query(this.#s.deleteClosed);
      return toSteeringStates(await tx.query<SteeringRow>(this.#s.all));
    });
  }
}
