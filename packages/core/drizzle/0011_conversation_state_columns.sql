ALTER TABLE `conversations` ADD `finished` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `conversations` ADD `awaiting_decision` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `conversations` ADD `held` text DEFAULT '[]' NOT NULL;--> statement-breakpoint
ALTER TABLE `conversations` ADD `addressed` text DEFAULT 'agent' NOT NULL;--> statement-breakpoint
UPDATE `conversations` SET
  `finished` = CASE WHEN json_extract(`meta`, '$.finished') = 1 THEN 1 ELSE 0 END,
  `awaiting_decision` = CASE WHEN json_extract(`meta`, '$.awaitingDecision') = 1 THEN 1 ELSE 0 END,
  `held` = CASE WHEN json_type(`meta`, '$.held') = 'array' THEN json_extract(`meta`, '$.held') ELSE '[]' END,
  `addressed` = CASE WHEN json_extract(`meta`, '$.addressed') = 'team' THEN 'team' ELSE 'agent' END,
  `meta` = json_remove(`meta`, '$.finished', '$.awaitingDecision', '$.held', '$.addressed')
WHERE `meta` <> '{}';--> statement-breakpoint
UPDATE `messages` SET
  `run_id` = COALESCE(`run_id`, json_extract(`meta`, '$.runId')),
  `meta` = json_remove(`meta`, '$.runId')
WHERE json_type(`meta`, '$.runId') = 'text';
