export { openDatabase, classifyDatabaseError, MIGRATIONS_FOLDER, type TinyDatabase, type OpenDatabaseOptions, type Durability, type Drizzle } from './database.ts';
export * as tables from './schema.ts';
export { GroupCommit, groupWrites, writeEach } from './group-commit.ts';
