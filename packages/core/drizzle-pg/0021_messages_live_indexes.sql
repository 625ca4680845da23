-- Fewer index entries per message (docs/storage.md, "Indexes"). A message is written three times
-- (enqueued, claimed, completed) and no update of its status is HOT, so every index got an entry
-- for each version. The idempotency key's uniqueness now covers the rows that have a key (the
-- unique constraint indexed every NULL; the enqueue's ON CONFLICT names the predicate), and the
-- conversation index holds live rows only (its queries count and list a conversation's pending
-- and processing messages).
ALTER TABLE "messages" DROP CONSTRAINT "messages_idempotency_key_unique";--> statement-breakpoint
DROP INDEX "messages_conversation";--> statement-breakpoint
CREATE UNIQUE INDEX "messages_idempotency_key" ON "messages" USING btree ("idempotency_key") WHERE idempotency_key IS NOT NULL;--> statement-breakpoint
CREATE INDEX "messages_conversation" ON "messages" USING btree ("conversation_id") WHERE status IN ('pending', 'processing');