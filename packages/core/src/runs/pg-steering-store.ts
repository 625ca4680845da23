/**
 * Steering state of open runs on PostgreSQL: the statements and mapper of the SQLite
 * `RunSteeringStore` (runs/store.ts, runs/sqlite-store.ts) over a `PgScope`.
 */
import type { RunSteeringStoreApi } from './store.ts';
import type { LastStatement, Rider } from '../storage/pg/last-statement.ts';
import { positionalFor, type PgScope } from '../storage/pg/scope.ts';
import { steeringStatements, steeringValues, toSteeringStates, type RunSteeringState, type SteeringRow } from './store.ts';

/** A `loadAtCommit` waiting for the transaction's read. */
interface SteeringRead {
  runId: string;
  resolve: (state: RunSteeringState | undefined) => void;
  reject: (err: unknown) => void;
}

/** The `loadAtCommit`s of one schema: a transaction's reads are one part of its last statement. */
const readersBySchema = new Map<string, Rider<SteeringRead>>();

function readerOf(scope: PgScope): Rider<SteeringRead> {
  let reader = readersBySchema.get(scope.schema);
  if (!reader) {
    const table = scope.table('run_steering');
    reader = {
      part: (reads, first) => ({
        ctes: [`steering_read AS (SELECT * FROM ${table} WHERE run_id = ANY($${first}::text[]))`],
        columns: ['(SELECT json_agg(s) FROM steering_read s) AS steering_rows'],
        values: [[...new Set(reads.map((r) => r.runId))]],
      }),
      done: (reads, row) => {
        const states = toSteeringStates((row.steering_rows ?? []) as SteeringRow[]);
        for (const read of reads) read.resolve(states.get(read.runId));
      },
      failed: (reads, err) => {
        for (const read of reads) read.reject(err);
      },
    };
    readersBySchema.set(scope.schema, reader);
  }
  return reader;
}

/** The steering statements of a schema (`"schema"`), reading the run `FOR SHARE`. */
const pgSteeringStatements = (schema: string) => steeringStatements(`${schema}."run_steering"`, `${schema}."runs"`, ' FOR SHARE');

export class PgRunSteeringStore implements RunSteeringStoreApi {
  readonly #scope: PgScope;
  readonly #s: ReturnType<typeof steeringStatements>;
  readonly #last: (() => LastStatement) | undefined;

  /** `last`: the last statement of the scope's transaction (its event log); without it, `loadAtCommit` reads at once. */
  constructor(scope: PgScope, last?: () => LastStatement) {
    this.#scope = scope;
    this.#last = last;
    this.#s = positionalFor(pgSteeringStatements, scope.schemaIdent);
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
    const last = this.#last;
    if (!last) return this.load(runId);
    const read = new Promise<RunSteeringState | undefined>((resolve, reject) => {
      last().ride(readerOf(this.#scope), { runId, resolve, reject }).catch(reject);
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
