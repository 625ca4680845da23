export { openDatabase, MIGRATIONS_FOLDER, type TinyDatabase, type Durability } from './database.ts';
export { GroupCommit, toError } from './group-commit.ts';
export type { TxSteps } from './transaction.ts';
export { io, runBody } from './transaction.ts';
