-- Completions planned once per connection (docs/storage.md, "Completion and wake-ups"). The
-- completion statement was a prepared statement planned by PostgreSQL's rules: custom plans at
-- first, then a generic plan if it looked no dearer. One made while the table was small locked
-- the batch's rows by a sequential scan, and kept doing so as the backlog grew (B13, one worker
-- beside the producer: a quarter of graphile-worker's throughput); planned at every call instead,
-- its planning added about a quarter to the server's time per job with several workers. Unlike
-- the claim functions (0026), it is now a function with one generic plan whose shape holds at
-- any table size: the rows are
-- locked and updated through the primary key (sequential and bitmap scans off), the update by
-- the ids of the items that passed the check (their rows are locked above, so their owner cannot
-- have changed; the status is checked again against a constant the plan cannot see, so no partial
-- index matches: a plan joining the batch to the index of processing rows compared every pair).
CREATE OR REPLACE FUNCTION tinyagi_complete(p_ids text[], p_owners text[], p_items integer[], p_now bigint, p_complete integer[])
RETURNS TABLE(o_item integer, o_id text)
LANGUAGE plpgsql
SET search_path FROM CURRENT
SET plan_cache_mode = force_generic_plan
SET enable_seqscan = off
SET enable_bitmapscan = off
AS $$
DECLARE
  -- A value the plan does not see (as in 0026): no partial index over processing rows matches.
  processing constant text := 'processing';
BEGIN
  RETURN QUERY
    WITH w AS (SELECT * FROM unnest(p_ids, p_owners, p_items) AS w(id, owner, item)),
    l AS (SELECT m.id, m.status, m.lease_owner FROM messages m WHERE m.id = ANY(p_ids) FOR UPDATE),
    bad AS (
      SELECT DISTINCT ON (w.item) w.item, w.id FROM w LEFT JOIN l ON l.id = w.id
      WHERE l.id IS NULL OR l.status <> 'processing' OR l.lease_owner IS DISTINCT FROM w.owner ORDER BY w.item, w.id
    ),
    u AS (
      UPDATE messages m SET status = 'completed', lease_owner = NULL, lease_expires_at = NULL, finished_at = p_now, updated_at = p_now
      WHERE m.id = ANY(ARRAY(SELECT w.id FROM w WHERE w.item NOT IN (SELECT bad.item FROM bad) AND (p_complete IS NULL OR w.item = ANY(p_complete))))
        AND m.status = processing
      RETURNING 1
    )
    SELECT bad.item, bad.id FROM bad
    UNION ALL SELECT -1, NULL::text FROM (SELECT 1 FROM u LIMIT 1) x;
END
$$;
