export { openDatabase, classifyDatabaseError, MIGRATIONS_FOLDER, type TinyDatabase, type OpenDatabaseOptions, type Durability } from './database.ts';
export { GroupCommit, groupBodies, groupWrites, writeEach } from './group-commit.ts';
export type { Transaction, TransactionOptions, TransactionRunner, TxBody, TxSteps } from './transaction.ts';
export { io, runBody } from './transaction.ts';
export type * from './interfaces.ts';
