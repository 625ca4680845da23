ALTER TABLE "runs" ADD COLUMN "model" text DEFAULT '' NOT NULL;--> statement-breakpoint
CREATE INDEX "runs_provider_model" ON "runs" USING btree ("provider","model","created_at");