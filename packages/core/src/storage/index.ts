export { openDatabase, classifyDatabaseError, MIGRATIONS_FOLDER, type TinyDatabase, type OpenDatabaseOptions, type Durability } from './database.ts';
export { GroupCommit, groupBodies, groupWrites, writeEach, type GroupCommitOptions } from './group-commit.ts';
// `TxBody` and `StoreTransaction` are exported by compose/ with every store bound (compose/store-set.ts).
export type { Transaction, TransactionOptions, TransactionRunner, TxSteps } from './transaction.ts';
export { io, runBody } from './transaction.ts';
