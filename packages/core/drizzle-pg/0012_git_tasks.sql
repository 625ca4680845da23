ALTER TABLE "projects" ADD COLUMN "repo" text;--> statement-breakpoint
ALTER TABLE "tasks" ADD COLUMN "git" text;