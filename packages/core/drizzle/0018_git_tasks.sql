ALTER TABLE `projects` ADD `repo` text;--> statement-breakpoint
ALTER TABLE `tasks` ADD `git` text;