DROP INDEX `messages_status_agent_seq`;--> statement-breakpoint
DROP INDEX `messages_status_seq`;--> statement-breakpoint
DROP INDEX `messages_status_available`;--> statement-breakpoint
DROP INDEX `messages_lease`;--> statement-breakpoint
CREATE INDEX `messages_pending_seq` ON `messages` (`seq`) WHERE status = 'pending';--> statement-breakpoint
CREATE INDEX `messages_pending_agent` ON `messages` (`agent_id`,`seq`) WHERE status = 'pending';--> statement-breakpoint
CREATE INDEX `messages_pending_available` ON `messages` (`available_at`) WHERE status = 'pending';--> statement-breakpoint
CREATE INDEX `messages_processing_agent` ON `messages` (`agent_id`) WHERE status = 'processing';--> statement-breakpoint
CREATE INDEX `messages_processing_lease` ON `messages` (`lease_expires_at`) WHERE status = 'processing';