ALTER TABLE "task_comments" ADD COLUMN "anchor_path" text;--> statement-breakpoint
ALTER TABLE "task_comments" ADD COLUMN "anchor_line" integer;--> statement-breakpoint
ALTER TABLE "task_comments" ADD COLUMN "anchor_side" text;--> statement-breakpoint
ALTER TABLE "task_comments" ADD COLUMN "anchor_commit_sha" text;--> statement-breakpoint
ALTER TABLE "task_comments" ADD COLUMN "sent_round" integer;