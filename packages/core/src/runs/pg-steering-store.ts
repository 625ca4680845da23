/**
 * Steering state of open runs on PostgreSQL: the statements and mapper of the SQLite
 * `RunSteeringStore` (runs/store.ts, runs/sqlite-store.ts) over a `PgScope`.
 */
import type { RunSteeringStoreApi } from './store.ts';
import { positionalAll, type CommitWriter, type PgScope } from '../storage/pg/scope.ts';
import { steeringStatements, steeringValues, toSteeringStates, type RunSteeringState, type SteeringRow } from './store.ts';

/** A `loadAtCommit` waiting for the transaction's read. */
interface SteeringRead {
  runId: string;
  resolve: (state: RunSteeringState | undefined) => void;
  reject: (err: unknown) => void;
}

/** The reads of one schema's `loadAtCommit`s (one writer per schema: a transaction's reads share one statement). */
const readersBySchema = new Map<string, CommitWriter<SteeringRead>>();

function readerOf(scope: PgScope): CommitWriter<SteeringRead> {
  let reader = readersBySchema.get(scope.schema);
  if (!reader) {
    const sql = `SELECT * FROM ${scope.table('run_steering')} WHERE run_id = ANY($1::text[])`;
    reader = async (root, reads) => {
      try {
        const states = toSteeringStates(await root.query<SteeringRow>(sql, [[...new Set(reads.map((r) => r.runId))]]));
        for (const read of reads) read.resolve(states.get(read.runId));
      } catch (err) {
        for (const read of reads) read.reject(err);
        throw err;
      }
    };
    readersBySchema.set(scope.schema, reader);
  }
  return reader;
}

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

  loadAtCommit(runId: string): Promise<RunSteeringState | undefined> {
    const read = new Promise<RunSteeringState | undefined>((resolve, reject) => {
      void Promise.resolve(this.#scope.collect(readerOf(this.#scope), [{ runId, resolve, reject }])).catch(reject);
    });
    // A rejection nobody awaits (the transaction failed, so its caller's body did) is not reported as unhandled.
    read.catch(() => {});
    return read;
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
