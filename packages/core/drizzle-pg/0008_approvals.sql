CREATE TABLE "approvals" (
	"id" text PRIMARY KEY NOT NULL,
	"status" text NOT NULL,
	"agent_id" text NOT NULL,
	"run_id" text NOT NULL,
	"conversation_id" text NOT NULL,
	"session_key" text NOT NULL,
	"tool" text NOT NULL,
	"input" text NOT NULL,
	"summary" text NOT NULL,
	"requested_at" bigint NOT NULL,
	"expires_at" bigint NOT NULL,
	"decided_at" bigint,
	"decided_by" text,
	"decision" text,
	"reason" text,
	"kind" text DEFAULT 'permission' NOT NULL,
	"answer" text
);
--> statement-breakpoint
CREATE INDEX "approvals_status_idx" ON "approvals" USING btree ("status","requested_at");--> statement-breakpoint
CREATE INDEX "approvals_conversation_idx" ON "approvals" USING btree ("conversation_id");