-- The queue's keys compared byte by byte (docs/storage.md, "Indexes of the queue's table"): the
-- id, agent and conversation of a message, which its indexes compare at every insert and lookup,
-- went through the database's collation (strcoll, even under C.UTF-8). COLLATE "C" orders as
-- SQLite's BINARY does. A comparison with a value of the default collation (a parameter, another
-- table's column) takes the column's.
ALTER TABLE "messages" ALTER COLUMN "id" SET DATA TYPE text COLLATE "C";--> statement-breakpoint
ALTER TABLE "messages" ALTER COLUMN "agent_id" SET DATA TYPE text COLLATE "C";--> statement-breakpoint
ALTER TABLE "messages" ALTER COLUMN "conversation_id" SET DATA TYPE text COLLATE "C";