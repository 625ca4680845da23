-- Claims never wait long for a lock (docs/storage.md, "Claims"). A claim that took its turn
-- (0024) updates its batches in one statement without locking each head first: a message that
-- another transaction holds locked and keeps open (a cancel inside a long transaction) made
-- it wait for that transaction while holding the schema's claim lock, and every claim of the
-- schema waited behind it. Each claim function now gives up a lock wait after a second
-- (lock_not_available); the store then claims again without taking its turn, with a lock per
-- agent and per head that passes a locked agent over (0023's path).
ALTER FUNCTION tinyagi_claim_next(text[], text[], text[], integer[], integer, integer, bigint, text, bigint, text, boolean) SET lock_timeout = '1s';
--> statement-breakpoint
ALTER FUNCTION tinyagi_claim_next(text[], text[], text[], integer[], integer, integer, bigint, text, bigint, text) SET lock_timeout = '1s';
--> statement-breakpoint
ALTER FUNCTION tinyagi_claim(text[], integer[], integer, bigint, text, bigint, text) SET lock_timeout = '1s';
