ALTER TABLE "nodes" ADD COLUMN "heartbeat_ms" integer DEFAULT 5000 NOT NULL;--> statement-breakpoint
-- Every write of the shared settings (ours, or a hand edit in psql) is announced to the nodes:
-- they LISTEN on tinyagi_settings_<schema> (nodes/shared-settings.ts), the payload is the version.
CREATE OR REPLACE FUNCTION tinyagi_settings_notify() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  PERFORM pg_notify(left('tinyagi_settings_' || TG_TABLE_SCHEMA, 63), NEW.version::text);
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER shared_settings_notify AFTER INSERT OR UPDATE ON shared_settings FOR EACH ROW EXECUTE FUNCTION tinyagi_settings_notify();
