CREATE TABLE `run_steering` (
	`run_id` text PRIMARY KEY NOT NULL,
	`paused` integer DEFAULT 0 NOT NULL,
	`injected` text DEFAULT '[]' NOT NULL,
	`redirect` text,
	`applied` text DEFAULT '[]' NOT NULL,
	`applied_redirect` text,
	`updated_at` integer NOT NULL
);
