PRAGMA foreign_keys=OFF;--> statement-breakpoint
CREATE TABLE `__new_approvals` (
	`id` text PRIMARY KEY NOT NULL,
	`status` text NOT NULL,
	`agent_id` text NOT NULL,
	`run_id` text,
	`conversation_id` text,
	`session_key` text,
	`tool` text NOT NULL,
	`input` text NOT NULL,
	`summary` text NOT NULL,
	`requested_at` integer NOT NULL,
	`expires_at` integer,
	`decided_at` integer,
	`decided_by` text,
	`decision` text,
	`reason` text,
	`kind` text DEFAULT 'permission' NOT NULL,
	`answer` text,
	`task_id` text
);
--> statement-breakpoint
INSERT INTO `__new_approvals`("id", "status", "agent_id", "run_id", "conversation_id", "session_key", "tool", "input", "summary", "requested_at", "expires_at", "decided_at", "decided_by", "decision", "reason", "kind", "answer") SELECT "id", "status", "agent_id", "run_id", "conversation_id", "session_key", "tool", "input", "summary", "requested_at", "expires_at", "decided_at", "decided_by", "decision", "reason", "kind", "answer" FROM `approvals`;--> statement-breakpoint
DROP TABLE `approvals`;--> statement-breakpoint
ALTER TABLE `__new_approvals` RENAME TO `approvals`;--> statement-breakpoint
PRAGMA foreign_keys=ON;--> statement-breakpoint
CREATE INDEX `approvals_status_idx` ON `approvals` (`status`,`requested_at`);--> statement-breakpoint
CREATE INDEX `approvals_conversation_idx` ON `approvals` (`conversation_id`);--> statement-breakpoint
CREATE INDEX `approvals_task_idx` ON `approvals` (`task_id`);