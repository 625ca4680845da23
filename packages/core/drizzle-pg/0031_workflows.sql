CREATE TABLE "workflow_runs" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"file" text NOT NULL,
	"registered" text,
	"started_by" text DEFAULT 'person' NOT NULL,
	"chain" text,
	"input" text NOT NULL,
	"status" text NOT NULL,
	"result" text,
	"reason" text,
	"budget_usd" double precision,
	"budget_tokens" bigint,
	"owner" text,
	"lease_until" bigint,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL,
	"ended_at" bigint
);
--> statement-breakpoint
CREATE TABLE "workflow_steps" (
	"run_id" text NOT NULL,
	"step_id" text NOT NULL,
	"seq" integer NOT NULL,
	"kind" text NOT NULL,
	"agent_id" text,
	"label" text NOT NULL,
	"fingerprint" text NOT NULL,
	"attempt" integer DEFAULT 1 NOT NULL,
	"status" text NOT NULL,
	"conversation_id" text,
	"task_id" text,
	"output" text,
	"error" text,
	"cost_usd" double precision DEFAULT 0 NOT NULL,
	"tokens" bigint DEFAULT 0 NOT NULL,
	"started_at" bigint NOT NULL,
	"ended_at" bigint,
	CONSTRAINT "workflow_steps_run_id_step_id_pk" PRIMARY KEY("run_id","step_id")
);
--> statement-breakpoint
CREATE INDEX "workflow_runs_status" ON "workflow_runs" USING btree ("status","created_at");--> statement-breakpoint
CREATE INDEX "workflow_steps_seq" ON "workflow_steps" USING btree ("run_id","seq");