CREATE TABLE `agent_messages` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`agent_id` text NOT NULL,
	`role` text NOT NULL,
	`channel` text NOT NULL,
	`sender` text DEFAULT '' NOT NULL,
	`message_id` text,
	`run_id` text,
	`conversation_id` text,
	`content` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `agent_messages_agent` ON `agent_messages` (`agent_id`,`id`);--> statement-breakpoint
CREATE TABLE `agent_sessions` (
	`agent_id` text NOT NULL,
	`session_key` text NOT NULL,
	`provider` text NOT NULL,
	`session_id` text NOT NULL,
	`transcript` text DEFAULT '[]' NOT NULL,
	`turns` integer DEFAULT 0 NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`agent_id`, `session_key`)
);
--> statement-breakpoint
CREATE TABLE `chatroom_messages` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`team_id` text NOT NULL,
	`from_agent` text NOT NULL,
	`conversation_id` text,
	`content` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `chatroom_team` ON `chatroom_messages` (`team_id`,`id`);--> statement-breakpoint
CREATE TABLE `conversations` (
	`id` text PRIMARY KEY NOT NULL,
	`team_id` text,
	`root_agent_id` text NOT NULL,
	`channel` text NOT NULL,
	`sender` text DEFAULT '' NOT NULL,
	`sender_id` text DEFAULT '' NOT NULL,
	`thread_key` text,
	`title` text DEFAULT '' NOT NULL,
	`status` text DEFAULT 'active' NOT NULL,
	`reply_mode` text DEFAULT 'each' NOT NULL,
	`hops` integer DEFAULT 0 NOT NULL,
	`message_count` integer DEFAULT 0 NOT NULL,
	`spawn_count` integer DEFAULT 0 NOT NULL,
	`input_tokens` integer DEFAULT 0 NOT NULL,
	`output_tokens` integer DEFAULT 0 NOT NULL,
	`cost_usd` real DEFAULT 0 NOT NULL,
	`limit_scale` real DEFAULT 1 NOT NULL,
	`soft_warned` integer DEFAULT 0 NOT NULL,
	`stop_reason` text,
	`meta` text DEFAULT '{}' NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`completed_at` integer
);
--> statement-breakpoint
CREATE INDEX `conversations_status` ON `conversations` (`status`,`created_at`);--> statement-breakpoint
CREATE TABLE `events` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`ts` integer NOT NULL,
	`type` text NOT NULL,
	`conversation_id` text,
	`run_id` text,
	`parent_run_id` text,
	`depth` integer,
	`agent_id` text,
	`data` text DEFAULT '{}' NOT NULL
);
--> statement-breakpoint
CREATE INDEX `events_conversation` ON `events` (`conversation_id`,`id`);--> statement-breakpoint
CREATE INDEX `events_ts` ON `events` (`ts`);--> statement-breakpoint
CREATE TABLE `messages` (
	`seq` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`id` text NOT NULL,
	`kind` text NOT NULL,
	`agent_id` text NOT NULL,
	`team_id` text,
	`conversation_id` text NOT NULL,
	`parent_message_id` text,
	`parent_run_id` text,
	`run_id` text,
	`depth` integer DEFAULT 0 NOT NULL,
	`channel` text NOT NULL,
	`sender` text DEFAULT '' NOT NULL,
	`sender_id` text DEFAULT '' NOT NULL,
	`thread_key` text,
	`content` text NOT NULL,
	`attachments` text DEFAULT '[]' NOT NULL,
	`meta` text DEFAULT '{}' NOT NULL,
	`status` text DEFAULT 'pending' NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`max_attempts` integer DEFAULT 5 NOT NULL,
	`rate_limit_waits` integer DEFAULT 0 NOT NULL,
	`available_at` integer NOT NULL,
	`lease_owner` text,
	`lease_expires_at` integer,
	`cancel_requested` integer DEFAULT 0 NOT NULL,
	`last_error` text,
	`idempotency_key` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`finished_at` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `messages_id_unique` ON `messages` (`id`);--> statement-breakpoint
CREATE UNIQUE INDEX `messages_idempotency_key_unique` ON `messages` (`idempotency_key`);--> statement-breakpoint
CREATE INDEX `messages_status_agent_seq` ON `messages` (`status`,`agent_id`,`seq`);--> statement-breakpoint
CREATE INDEX `messages_status_seq` ON `messages` (`status`,`seq`);--> statement-breakpoint
CREATE INDEX `messages_lease` ON `messages` (`status`,`lease_expires_at`);--> statement-breakpoint
CREATE INDEX `messages_conversation` ON `messages` (`conversation_id`);--> statement-breakpoint
CREATE INDEX `messages_finished` ON `messages` (`status`,`finished_at`);--> statement-breakpoint
CREATE TABLE `outbox` (
	`seq` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`id` text NOT NULL,
	`message_id` text,
	`run_id` text,
	`conversation_id` text,
	`agent_id` text,
	`channel` text NOT NULL,
	`recipient` text DEFAULT '{}' NOT NULL,
	`text` text NOT NULL,
	`files` text DEFAULT '[]' NOT NULL,
	`meta` text DEFAULT '{}' NOT NULL,
	`idempotency_key` text NOT NULL,
	`status` text DEFAULT 'pending' NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`lease_owner` text,
	`lease_expires_at` integer,
	`available_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`last_error` text,
	`created_at` integer NOT NULL,
	`delivered_at` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `outbox_id_unique` ON `outbox` (`id`);--> statement-breakpoint
CREATE UNIQUE INDEX `outbox_idempotency_key_unique` ON `outbox` (`idempotency_key`);--> statement-breakpoint
CREATE INDEX `outbox_channel_status` ON `outbox` (`channel`,`status`,`seq`);--> statement-breakpoint
CREATE INDEX `outbox_conversation` ON `outbox` (`conversation_id`);--> statement-breakpoint
CREATE INDEX `outbox_status_expires` ON `outbox` (`status`,`expires_at`);--> statement-breakpoint
CREATE TABLE `pairings` (
	`channel` text NOT NULL,
	`sender_id` text NOT NULL,
	`sender` text DEFAULT '' NOT NULL,
	`code` text NOT NULL,
	`status` text NOT NULL,
	`created_at` integer NOT NULL,
	`approved_at` integer,
	`last_seen_at` integer,
	PRIMARY KEY(`channel`, `sender_id`)
);
--> statement-breakpoint
CREATE UNIQUE INDEX `pairings_code` ON `pairings` (`code`);--> statement-breakpoint
CREATE TABLE `projects` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`prefix` text NOT NULL,
	`description` text DEFAULT '' NOT NULL,
	`next_number` integer DEFAULT 1 NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `projects_prefix_unique` ON `projects` (`prefix`);--> statement-breakpoint
CREATE TABLE `runs` (
	`id` text PRIMARY KEY NOT NULL,
	`conversation_id` text NOT NULL,
	`parent_run_id` text,
	`depth` integer DEFAULT 0 NOT NULL,
	`max_depth` integer DEFAULT 5 NOT NULL,
	`agent_id` text NOT NULL,
	`team_id` text,
	`channel` text DEFAULT '' NOT NULL,
	`cause` text NOT NULL,
	`status` text NOT NULL,
	`message_ids` text DEFAULT '[]' NOT NULL,
	`input` text,
	`output` text,
	`input_tokens` integer DEFAULT 0 NOT NULL,
	`output_tokens` integer DEFAULT 0 NOT NULL,
	`cost_usd` real DEFAULT 0 NOT NULL,
	`error` text,
	`created_at` integer NOT NULL,
	`started_at` integer,
	`ended_at` integer
);
--> statement-breakpoint
CREATE INDEX `runs_conversation` ON `runs` (`conversation_id`);--> statement-breakpoint
CREATE INDEX `runs_parent` ON `runs` (`parent_run_id`);--> statement-breakpoint
CREATE INDEX `runs_status` ON `runs` (`status`);--> statement-breakpoint
CREATE INDEX `runs_agent_created` ON `runs` (`agent_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `runs_ended` ON `runs` (`ended_at`);--> statement-breakpoint
CREATE TABLE `schedules` (
	`id` text PRIMARY KEY NOT NULL,
	`label` text NOT NULL,
	`agent_id` text,
	`team_id` text,
	`message` text NOT NULL,
	`cron` text,
	`timezone` text DEFAULT 'UTC' NOT NULL,
	`run_at` integer,
	`enabled` integer DEFAULT 1 NOT NULL,
	`missed_policy` text DEFAULT 'run-once' NOT NULL,
	`channel` text DEFAULT 'schedule' NOT NULL,
	`sender_id` text DEFAULT '' NOT NULL,
	`last_fired_at` integer,
	`next_run_at` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `sender_defaults` (
	`channel` text NOT NULL,
	`sender_id` text NOT NULL,
	`target` text NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`channel`, `sender_id`)
);
--> statement-breakpoint
CREATE TABLE `task_comments` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`task_id` text NOT NULL,
	`author` text NOT NULL,
	`content` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `task_comments_task` ON `task_comments` (`task_id`,`id`);--> statement-breakpoint
CREATE TABLE `tasks` (
	`id` text PRIMARY KEY NOT NULL,
	`project_id` text,
	`identifier` text,
	`title` text NOT NULL,
	`description` text DEFAULT '' NOT NULL,
	`status` text DEFAULT 'backlog' NOT NULL,
	`position` real DEFAULT 0 NOT NULL,
	`assignee_agent` text,
	`assignee_team` text,
	`conversation_id` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `tasks_status_position` ON `tasks` (`status`,`position`);