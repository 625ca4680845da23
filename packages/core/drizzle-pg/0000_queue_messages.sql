CREATE TABLE "messages" (
	"seq" bigserial PRIMARY KEY NOT NULL,
	"id" text NOT NULL,
	"kind" text NOT NULL,
	"agent_id" text NOT NULL,
	"team_id" text,
	"conversation_id" text NOT NULL,
	"parent_message_id" text,
	"parent_run_id" text,
	"run_id" text,
	"depth" integer DEFAULT 0 NOT NULL,
	"channel" text NOT NULL,
	"sender" text DEFAULT '' NOT NULL,
	"sender_id" text DEFAULT '' NOT NULL,
	"thread_key" text,
	"content" text NOT NULL,
	"attachments" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"meta" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"max_attempts" integer DEFAULT 5 NOT NULL,
	"rate_limit_waits" integer DEFAULT 0 NOT NULL,
	"available_at" bigint NOT NULL,
	"lease_owner" text,
	"lease_expires_at" bigint,
	"cancel_requested" boolean DEFAULT false NOT NULL,
	"solo" boolean DEFAULT false NOT NULL,
	"last_error" text,
	"last_failure" text,
	"idempotency_key" text,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL,
	"finished_at" bigint,
	CONSTRAINT "messages_id_unique" UNIQUE("id"),
	CONSTRAINT "messages_idempotency_key_unique" UNIQUE("idempotency_key")
);
--> statement-breakpoint
CREATE INDEX "messages_pending_seq" ON "messages" USING btree ("seq") WHERE status = 'pending';--> statement-breakpoint
CREATE INDEX "messages_pending_agent" ON "messages" USING btree ("agent_id","seq") WHERE status = 'pending';--> statement-breakpoint
CREATE INDEX "messages_pending_available" ON "messages" USING btree ("available_at") WHERE status = 'pending';--> statement-breakpoint
CREATE INDEX "messages_processing_agent" ON "messages" USING btree ("agent_id") WHERE status = 'processing';--> statement-breakpoint
CREATE INDEX "messages_processing_lease" ON "messages" USING btree ("lease_expires_at") WHERE status = 'processing';--> statement-breakpoint
CREATE INDEX "messages_conversation" ON "messages" USING btree ("conversation_id");--> statement-breakpoint
CREATE INDEX "messages_finished" ON "messages" USING btree ("status","finished_at");