CREATE TABLE "memory_lexemes" (
	"lexeme" text PRIMARY KEY NOT NULL,
	"entries" integer NOT NULL
);
--> statement-breakpoint
-- How many entries (of any status) hold each lexeme of their `search` vector, as SQLite's FTS5
-- counts a word's rows: a turn's recall searches only its rarest words (memory/pg-store.ts).
-- Exact, by the triggers below, in the writer's transaction. A writer first takes the schema's
-- tinyagi.memory_lexemes lock (held to its commit): two transactions that each write entries in
-- several statements would otherwise lock shared lexemes in opposite orders and deadlock. Entries
-- are written rarely (proposals, decisions, edits, imports), so their writers queue on it. Every
-- lexeme of a statement changes in one upsert (in lexeme order); one no entry holds is deleted.
CREATE FUNCTION memory_lexemes_apply(p_lexemes text[], p_deltas integer[]) RETURNS void
LANGUAGE sql
SET search_path FROM CURRENT
AS $$
  INSERT INTO memory_lexemes AS m (lexeme, entries)
  SELECT l, sum(d) FROM unnest(p_lexemes, p_deltas) AS x(l, d) GROUP BY l HAVING sum(d) <> 0 ORDER BY l
  ON CONFLICT (lexeme) DO UPDATE SET entries = m.entries + excluded.entries;
  DELETE FROM memory_lexemes WHERE lexeme = ANY(p_lexemes) AND entries = 0;
$$;
--> statement-breakpoint
-- Inserts and deletes count per statement (transition table `changed`); an update counts per row,
-- and only when its text changed (memory_lexemes_text), so marking entries used costs nothing.
CREATE FUNCTION memory_lexemes_count() RETURNS trigger
LANGUAGE plpgsql
SET search_path FROM CURRENT
AS $$
DECLARE
  ls text[];
  ds integer[];
BEGIN
  IF TG_LEVEL = 'ROW' THEN
    SELECT array_agg(l), array_agg(d) INTO ls, ds FROM (
      SELECT unnest(tsvector_to_array(NEW.search)) AS l, 1 AS d
      UNION ALL SELECT unnest(tsvector_to_array(OLD.search)), -1
    ) x;
  ELSIF TG_OP = 'INSERT' THEN
    SELECT array_agg(l), array_agg(1) INTO ls, ds FROM changed, unnest(tsvector_to_array(changed.search)) AS l;
  ELSE
    SELECT array_agg(l), array_agg(-1) INTO ls, ds FROM changed, unnest(tsvector_to_array(changed.search)) AS l;
  END IF;
  IF ls IS NOT NULL THEN
    PERFORM pg_advisory_xact_lock(hashtext('tinyagi.memory_lexemes'), hashtext(current_schema()));
    PERFORM memory_lexemes_apply(ls, ds);
  END IF;
  RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER memory_lexemes_insert AFTER INSERT ON memory_entries REFERENCING NEW TABLE AS changed
FOR EACH STATEMENT EXECUTE FUNCTION memory_lexemes_count();
--> statement-breakpoint
CREATE TRIGGER memory_lexemes_delete AFTER DELETE ON memory_entries REFERENCING OLD TABLE AS changed
FOR EACH STATEMENT EXECUTE FUNCTION memory_lexemes_count();
--> statement-breakpoint
CREATE TRIGGER memory_lexemes_text AFTER UPDATE OF text ON memory_entries
FOR EACH ROW WHEN (OLD.search IS DISTINCT FROM NEW.search) EXECUTE FUNCTION memory_lexemes_count();
--> statement-breakpoint
CREATE FUNCTION memory_lexemes_truncate() RETURNS trigger
LANGUAGE plpgsql
SET search_path FROM CURRENT
AS $$
BEGIN
  TRUNCATE memory_lexemes;
  RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER memory_lexemes_truncate AFTER TRUNCATE ON memory_entries
FOR EACH STATEMENT EXECUTE FUNCTION memory_lexemes_truncate();
--> statement-breakpoint
-- Without the pending list, a search reads the index alone, and the planner's estimate of a GIN
-- scan does not grow with the writes since the last vacuum (with it, recall fell back to a
-- sequential scan of every entry until autovacuum ran): entries are written rarely, read each turn.
ALTER INDEX memory_entries_search_idx SET (fastupdate = off);
--> statement-breakpoint
SELECT gin_clean_pending_list('memory_entries_search_idx');
--> statement-breakpoint
-- Room on each page for a row's next version, so marking entries used (every turn) is a HOT
-- update that writes no index, the search index included.
ALTER TABLE memory_entries SET (fillfactor = 80);
--> statement-breakpoint
-- The entries already written (after the triggers: CREATE TRIGGER holds off writers until commit).
INSERT INTO memory_lexemes (lexeme, entries)
SELECT l, count(*) FROM memory_entries, unnest(tsvector_to_array(search)) AS l GROUP BY l;
--> statement-breakpoint
-- Whether the scopes hold an entry recall can find: recall's gate (memory/pg-store.ts). A probe
-- of memory_entries_scope_idx per scope, planned for its own values (a function of its own plan
-- mode): under a prepared recall's generic plan, a scope whose name is common in the statistics
-- made the planner scan the table for a first row, and read it all for a scope holding nothing.
CREATE FUNCTION memory_scopes_hold(p_kinds text[], p_ids text[]) RETURNS boolean
LANGUAGE plpgsql STABLE
SET search_path FROM CURRENT
SET plan_cache_mode = force_custom_plan
AS $$
BEGIN
  FOR i IN 1 .. coalesce(array_length(p_kinds, 1), 0) LOOP
    PERFORM 1 FROM memory_entries WHERE scope_kind = p_kinds[i] AND scope_id = p_ids[i] AND status = 'accepted' AND action = 'remember' LIMIT 1;
    IF FOUND THEN RETURN true; END IF;
  END LOOP;
  RETURN false;
END;
$$;
