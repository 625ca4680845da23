CREATE TABLE `memory_entries` (
	`id` text PRIMARY KEY NOT NULL,
	`scope_kind` text NOT NULL,
	`scope_id` text NOT NULL,
	`kind` text NOT NULL,
	`action` text DEFAULT 'remember' NOT NULL,
	`status` text NOT NULL,
	`text` text NOT NULL,
	`name` text,
	`reason` text,
	`target_id` text,
	`pinned` integer DEFAULT 0 NOT NULL,
	`conversation_id` text,
	`run_id` text,
	`message_id` text,
	`proposed_by` text NOT NULL,
	`decided_by` text,
	`decided_at` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`last_used_at` integer,
	`expires_at` integer
);
--> statement-breakpoint
CREATE INDEX `memory_entries_scope_idx` ON `memory_entries` (`scope_kind`,`scope_id`,`status`);--> statement-breakpoint
CREATE INDEX `memory_entries_status_idx` ON `memory_entries` (`status`,`created_at`);--> statement-breakpoint
CREATE TABLE `memory_injections` (
	`run_id` text PRIMARY KEY NOT NULL,
	`agent_id` text NOT NULL,
	`entry_ids` text NOT NULL,
	`tokens` integer NOT NULL,
	`budget` integer NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
-- Full-text search over entries (memory/sqlite-store.ts): an FTS5 table kept by triggers, written by hand (drizzle-kit has no virtual tables).
CREATE VIRTUAL TABLE `memory_fts` USING fts5(entry_id UNINDEXED, text, tokenize = 'porter unicode61');
--> statement-breakpoint
CREATE TRIGGER `memory_fts_insert` AFTER INSERT ON `memory_entries` BEGIN
  INSERT INTO memory_fts (entry_id, text) VALUES (new.id, new.text);
END;
--> statement-breakpoint
CREATE TRIGGER `memory_fts_update` AFTER UPDATE OF `text` ON `memory_entries` BEGIN
  DELETE FROM memory_fts WHERE entry_id = old.id;
  INSERT INTO memory_fts (entry_id, text) VALUES (new.id, new.text);
END;
--> statement-breakpoint
CREATE TRIGGER `memory_fts_delete` AFTER DELETE ON `memory_entries` BEGIN
  DELETE FROM memory_fts WHERE entry_id = old.id;
END;
