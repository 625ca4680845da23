DROP INDEX "memory_entries_fts_idx";--> statement-breakpoint
ALTER TABLE "memory_entries" ADD COLUMN "summary" text;--> statement-breakpoint
ALTER TABLE "memory_entries" ADD COLUMN "search" "tsvector" GENERATED ALWAYS AS (to_tsvector('english', text)) STORED;--> statement-breakpoint
CREATE INDEX "memory_entries_search_idx" ON "memory_entries" USING gin ("search");--> statement-breakpoint
CREATE INDEX "memory_entries_pinned_idx" ON "memory_entries" USING btree ("scope_kind","scope_id") WHERE pinned = 1 AND status = 'accepted';