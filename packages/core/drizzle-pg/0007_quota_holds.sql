CREATE TABLE "quota_holds" (
	"account" text PRIMARY KEY NOT NULL,
	"runtime" text NOT NULL,
	"label" text NOT NULL,
	"status" text NOT NULL,
	"resets_at" bigint NOT NULL,
	"limit_name" text,
	"message" text,
	"reported_by" text,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL
);
