CREATE TABLE `workflow_runs` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`file` text NOT NULL,
	`registered` text,
	`started_by` text DEFAULT 'person' NOT NULL,
	`chain` text,
	`input` text NOT NULL,
	`status` text NOT NULL,
	`result` text,
	`reason` text,
	`budget_usd` real,
	`budget_tokens` integer,
	`owner` text,
	`lease_until` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`ended_at` integer
);
--> statement-breakpoint
CREATE INDEX `workflow_runs_status` ON `workflow_runs` (`status`,`created_at`);--> statement-breakpoint
CREATE TABLE `workflow_steps` (
	`run_id` text NOT NULL,
	`step_id` text NOT NULL,
	`seq` integer NOT NULL,
	`kind` text NOT NULL,
	`agent_id` text,
	`label` text NOT NULL,
	`fingerprint` text NOT NULL,
	`attempt` integer DEFAULT 1 NOT NULL,
	`status` text NOT NULL,
	`conversation_id` text,
	`task_id` text,
	`output` text,
	`error` text,
	`cost_usd` real DEFAULT 0 NOT NULL,
	`tokens` integer DEFAULT 0 NOT NULL,
	`started_at` integer NOT NULL,
	`ended_at` integer,
	PRIMARY KEY(`run_id`, `step_id`)
);
--> statement-breakpoint
CREATE INDEX `workflow_steps_seq` ON `workflow_steps` (`run_id`,`seq`);