export { openDatabase, classifyDatabaseError, MIGRATIONS_FOLDER, type TinyDatabase, type OpenDatabaseOptions, type Durability } from './database.ts';
export { GroupCommit, groupWrites, writeEach } from './group-commit.ts';
export type { Transaction, TransactionOptions, TransactionRunner } from './transaction.ts';
export type * from './interfaces.ts';
