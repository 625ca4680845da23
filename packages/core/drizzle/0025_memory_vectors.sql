CREATE TABLE `memory_vectors` (
	`entry_id` text NOT NULL,
	`model` text NOT NULL,
	`dims` integer NOT NULL,
	`vector` blob NOT NULL,
	`entry_updated_at` integer NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`entry_id`, `model`)
);
