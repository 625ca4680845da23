ALTER TABLE `runs` ADD `model` text DEFAULT '' NOT NULL;--> statement-breakpoint
CREATE INDEX `runs_provider_model` ON `runs` (`provider`,`model`,`created_at`);