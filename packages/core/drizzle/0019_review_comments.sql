ALTER TABLE `task_comments` ADD `anchor_path` text;--> statement-breakpoint
ALTER TABLE `task_comments` ADD `anchor_line` integer;--> statement-breakpoint
ALTER TABLE `task_comments` ADD `anchor_side` text;--> statement-breakpoint
ALTER TABLE `task_comments` ADD `anchor_commit_sha` text;--> statement-breakpoint
ALTER TABLE `task_comments` ADD `sent_round` integer;