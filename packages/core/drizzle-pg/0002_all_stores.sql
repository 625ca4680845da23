CREATE TABLE "agent_messages" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"agent_id" text NOT NULL,
	"role" text NOT NULL,
	"channel" text NOT NULL,
	"sender" text DEFAULT '' NOT NULL,
	"message_id" text,
	"run_id" text,
	"conversation_id" text,
	"content" text NOT NULL,
	"created_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "agent_sessions" (
	"agent_id" text NOT NULL,
	"session_key" text NOT NULL,
	"provider" text NOT NULL,
	"session_id" text NOT NULL,
	"transcript" text DEFAULT '[]' NOT NULL,
	"turns" integer DEFAULT 0 NOT NULL,
	"instructions_hash" text DEFAULT '' NOT NULL,
	"updated_at" bigint NOT NULL,
	CONSTRAINT "agent_sessions_agent_id_session_key_pk" PRIMARY KEY("agent_id","session_key")
);
--> statement-breakpoint
CREATE TABLE "chatroom_messages" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"team_id" text NOT NULL,
	"from_agent" text NOT NULL,
	"conversation_id" text,
	"content" text NOT NULL,
	"created_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "conversations" (
	"id" text PRIMARY KEY NOT NULL,
	"team_id" text,
	"root_agent_id" text NOT NULL,
	"channel" text NOT NULL,
	"sender" text DEFAULT '' NOT NULL,
	"sender_id" text DEFAULT '' NOT NULL,
	"thread_key" text,
	"title" text DEFAULT '' NOT NULL,
	"status" text DEFAULT 'active' NOT NULL,
	"reply_mode" text DEFAULT 'each' NOT NULL,
	"hops" integer DEFAULT 0 NOT NULL,
	"message_count" integer DEFAULT 0 NOT NULL,
	"spawn_count" integer DEFAULT 0 NOT NULL,
	"input_tokens" bigint DEFAULT 0 NOT NULL,
	"output_tokens" bigint DEFAULT 0 NOT NULL,
	"cost_usd" double precision DEFAULT 0 NOT NULL,
	"limit_scale" double precision DEFAULT 1 NOT NULL,
	"soft_warned" integer DEFAULT 0 NOT NULL,
	"stop_reason" text,
	"finished" integer DEFAULT 0 NOT NULL,
	"awaiting_decision" integer DEFAULT 0 NOT NULL,
	"held" text DEFAULT '[]' NOT NULL,
	"addressed" text DEFAULT 'agent' NOT NULL,
	"meta" text DEFAULT '{}' NOT NULL,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL,
	"completed_at" bigint
);
--> statement-breakpoint
CREATE TABLE "events" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"ts" bigint NOT NULL,
	"type" text NOT NULL,
	"conversation_id" text,
	"run_id" text,
	"parent_run_id" text,
	"depth" integer,
	"agent_id" text,
	"data" text DEFAULT '{}' NOT NULL
);
--> statement-breakpoint
CREATE TABLE "nodes" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"role" text NOT NULL,
	"hostname" text DEFAULT '' NOT NULL,
	"pid" integer DEFAULT 0 NOT NULL,
	"version" text DEFAULT '' NOT NULL,
	"started_at" bigint NOT NULL,
	"heartbeat_at" bigint NOT NULL,
	"stopped_at" bigint,
	"meta" text DEFAULT '{}' NOT NULL
);
--> statement-breakpoint
CREATE TABLE "outbox" (
	"seq" bigserial PRIMARY KEY NOT NULL,
	"id" text NOT NULL,
	"message_id" text,
	"run_id" text,
	"conversation_id" text,
	"agent_id" text,
	"channel" text NOT NULL,
	"recipient" text DEFAULT '{}' NOT NULL,
	"text" text NOT NULL,
	"files" text DEFAULT '[]' NOT NULL,
	"meta" text DEFAULT '{}' NOT NULL,
	"idempotency_key" text NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"lease_owner" text,
	"lease_expires_at" bigint,
	"available_at" bigint NOT NULL,
	"expires_at" bigint NOT NULL,
	"last_error" text,
	"created_at" bigint NOT NULL,
	"delivered_at" bigint,
	CONSTRAINT "outbox_id_unique" UNIQUE("id"),
	CONSTRAINT "outbox_idempotency_key_unique" UNIQUE("idempotency_key")
);
--> statement-breakpoint
CREATE TABLE "pairings" (
	"channel" text NOT NULL,
	"sender_id" text NOT NULL,
	"sender" text DEFAULT '' NOT NULL,
	"code" text NOT NULL,
	"status" text NOT NULL,
	"created_at" bigint NOT NULL,
	"approved_at" bigint,
	"last_seen_at" bigint,
	CONSTRAINT "pairings_channel_sender_id_pk" PRIMARY KEY("channel","sender_id")
);
--> statement-breakpoint
CREATE TABLE "projects" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"prefix" text NOT NULL,
	"description" text DEFAULT '' NOT NULL,
	"next_number" integer DEFAULT 1 NOT NULL,
	"archived_at" bigint,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL,
	CONSTRAINT "projects_prefix_unique" UNIQUE("prefix")
);
--> statement-breakpoint
CREATE TABLE "run_steering" (
	"run_id" text PRIMARY KEY NOT NULL,
	"paused" integer DEFAULT 0 NOT NULL,
	"injected" text DEFAULT '[]' NOT NULL,
	"redirect" text,
	"applied" text DEFAULT '[]' NOT NULL,
	"applied_redirect" text,
	"updated_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "runs" (
	"id" text PRIMARY KEY NOT NULL,
	"conversation_id" text NOT NULL,
	"parent_run_id" text,
	"depth" integer DEFAULT 0 NOT NULL,
	"max_depth" integer DEFAULT 5 NOT NULL,
	"agent_id" text NOT NULL,
	"team_id" text,
	"channel" text DEFAULT '' NOT NULL,
	"provider" text DEFAULT '' NOT NULL,
	"cause" text NOT NULL,
	"status" text NOT NULL,
	"message_ids" text DEFAULT '[]' NOT NULL,
	"input" text,
	"output" text,
	"input_tokens" bigint DEFAULT 0 NOT NULL,
	"output_tokens" bigint DEFAULT 0 NOT NULL,
	"cost_usd" double precision DEFAULT 0 NOT NULL,
	"error" text,
	"created_at" bigint NOT NULL,
	"started_at" bigint,
	"ended_at" bigint
);
--> statement-breakpoint
CREATE TABLE "schedules" (
	"id" text PRIMARY KEY NOT NULL,
	"label" text NOT NULL,
	"agent_id" text,
	"team_id" text,
	"message" text NOT NULL,
	"cron" text,
	"timezone" text DEFAULT 'UTC' NOT NULL,
	"run_at" bigint,
	"enabled" integer DEFAULT 1 NOT NULL,
	"missed_policy" text DEFAULT 'run-once' NOT NULL,
	"channel" text DEFAULT 'schedule' NOT NULL,
	"sender_id" text DEFAULT '' NOT NULL,
	"last_fired_at" bigint,
	"next_run_at" bigint,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "sender_defaults" (
	"channel" text NOT NULL,
	"sender_id" text NOT NULL,
	"target" text NOT NULL,
	"updated_at" bigint NOT NULL,
	CONSTRAINT "sender_defaults_channel_sender_id_pk" PRIMARY KEY("channel","sender_id")
);
--> statement-breakpoint
CREATE TABLE "shared_settings" (
	"key" text PRIMARY KEY NOT NULL,
	"value" text NOT NULL,
	"version" bigint NOT NULL,
	"updated_at" bigint NOT NULL,
	"updated_by" text DEFAULT '' NOT NULL
);
--> statement-breakpoint
CREATE TABLE "task_comments" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"task_id" text NOT NULL,
	"author" text NOT NULL,
	"content" text NOT NULL,
	"created_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "tasks" (
	"id" text PRIMARY KEY NOT NULL,
	"project_id" text,
	"identifier" text,
	"title" text NOT NULL,
	"description" text DEFAULT '' NOT NULL,
	"status" text DEFAULT 'backlog' NOT NULL,
	"position" double precision DEFAULT 0 NOT NULL,
	"assignee_agent" text,
	"assignee_team" text,
	"conversation_id" text,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE INDEX "agent_messages_agent" ON "agent_messages" USING btree ("agent_id","id");--> statement-breakpoint
CREATE INDEX "chatroom_team" ON "chatroom_messages" USING btree ("team_id","id");--> statement-breakpoint
CREATE INDEX "conversations_status" ON "conversations" USING btree ("status","created_at");--> statement-breakpoint
CREATE INDEX "events_conversation" ON "events" USING btree ("conversation_id","id");--> statement-breakpoint
CREATE INDEX "events_ts" ON "events" USING btree ("ts");--> statement-breakpoint
CREATE INDEX "outbox_channel_status" ON "outbox" USING btree ("channel","status","seq");--> statement-breakpoint
CREATE INDEX "outbox_conversation" ON "outbox" USING btree ("conversation_id");--> statement-breakpoint
CREATE INDEX "outbox_status_expires" ON "outbox" USING btree ("status","expires_at");--> statement-breakpoint
CREATE UNIQUE INDEX "pairings_code" ON "pairings" USING btree ("code");--> statement-breakpoint
CREATE INDEX "runs_conversation" ON "runs" USING btree ("conversation_id");--> statement-breakpoint
CREATE INDEX "runs_parent" ON "runs" USING btree ("parent_run_id");--> statement-breakpoint
CREATE INDEX "runs_status" ON "runs" USING btree ("status");--> statement-breakpoint
CREATE INDEX "runs_agent_created" ON "runs" USING btree ("agent_id","created_at");--> statement-breakpoint
CREATE INDEX "runs_ended" ON "runs" USING btree ("ended_at");--> statement-breakpoint
CREATE INDEX "runs_usage_cover" ON "runs" USING btree ("created_at","agent_id","team_id","provider","channel","conversation_id","input_tokens","output_tokens","cost_usd");--> statement-breakpoint
CREATE INDEX "task_comments_task" ON "task_comments" USING btree ("task_id","id");--> statement-breakpoint
CREATE INDEX "tasks_status_position" ON "tasks" USING btree ("status","position");