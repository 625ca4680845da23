CREATE TABLE "memory_entries" (
	"id" text PRIMARY KEY NOT NULL,
	"scope_kind" text NOT NULL,
	"scope_id" text NOT NULL,
	"kind" text NOT NULL,
	"action" text DEFAULT 'remember' NOT NULL,
	"status" text NOT NULL,
	"text" text NOT NULL,
	"name" text,
	"reason" text,
	"target_id" text,
	"pinned" integer DEFAULT 0 NOT NULL,
	"conversation_id" text,
	"run_id" text,
	"message_id" text,
	"proposed_by" text NOT NULL,
	"decided_by" text,
	"decided_at" bigint,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL,
	"last_used_at" bigint,
	"expires_at" bigint
);
--> statement-breakpoint
CREATE TABLE "memory_injections" (
	"run_id" text PRIMARY KEY NOT NULL,
	"agent_id" text NOT NULL,
	"entry_ids" text NOT NULL,
	"tokens" integer NOT NULL,
	"budget" integer NOT NULL,
	"created_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE INDEX "memory_entries_scope_idx" ON "memory_entries" USING btree ("scope_kind","scope_id","status");--> statement-breakpoint
CREATE INDEX "memory_entries_status_idx" ON "memory_entries" USING btree ("status","created_at");--> statement-breakpoint
CREATE INDEX "memory_entries_fts_idx" ON "memory_entries" USING gin (to_tsvector('english', "text"));