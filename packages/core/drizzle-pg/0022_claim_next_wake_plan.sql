-- The claim's next wake time (drizzle-pg/0010) from a function of its own whose plans are made
-- once per connection (docs/storage.md, "Claim"): under tinyagi_claim_next's force_custom_plan its
-- two min() statements were planned at every claim, ~0.6 ms each time (the planner weighs every
-- partial index of messages), a fifth of the claim's planning. Each statement has one index that
-- gives its order (messages_pending_available, messages_processing_lease), so a plan made while
-- the table is empty is that index too. Otherwise as in 0010.
CREATE OR REPLACE FUNCTION tinyagi_next_wake(p_now bigint)
RETURNS bigint
LANGUAGE plpgsql
STABLE
SET search_path FROM CURRENT
SET plan_cache_mode = force_generic_plan
AS $$
BEGIN
  RETURN least(
    (SELECT min(x.available_at) FROM messages x WHERE x.status = 'pending' AND x.available_at > p_now),
    (SELECT min(x.lease_expires_at) FROM messages x WHERE x.status = 'processing'));
END
$$;--> statement-breakpoint
CREATE OR REPLACE FUNCTION tinyagi_claim_next(p_skip text[], p_only text[], p_known text[], p_limits integer[], p_want integer, p_cand integer, p_now bigint, p_owner text, p_lease_until bigint, p_ns text)
RETURNS SETOF messages
LANGUAGE plpgsql
SET search_path FROM CURRENT
SET plan_cache_mode = force_custom_plan
SET enable_bitmapscan = off
AS $$
DECLARE
  seen bigint;
  cands text[];
  known text[] := '{}';
  lims integer[] := '{}';
  k integer;
  pos integer;
  r messages;
BEGIN
  WITH win AS MATERIALIZED (
    SELECT w.seq, w.agent_id, w.available_at FROM messages w
    WHERE w.status = 'pending' AND (p_only IS NULL OR w.agent_id = ANY(p_only)) ORDER BY w.seq LIMIT 256
  ), heads AS (
    SELECT DISTINCT ON (win.agent_id) win.agent_id, win.seq, win.available_at FROM win ORDER BY win.agent_id, win.seq
  )
  SELECT (SELECT count(*) FROM win), ARRAY(
    SELECT h.agent_id FROM heads h
    WHERE h.available_at <= p_now AND NOT (h.agent_id = ANY(p_skip))
      AND NOT EXISTS (SELECT 1 FROM messages p WHERE p.status = 'processing' AND p.agent_id = h.agent_id)
    ORDER BY h.seq LIMIT p_cand
  ) INTO seen, cands;
  IF coalesce(array_length(cands, 1), 0) < p_cand AND seen >= 256 THEN
    cands := ARRAY(
      WITH RECURSIVE agents(id) AS (
        SELECT (SELECT min(x.agent_id) FROM messages x WHERE x.status = 'pending')
        UNION ALL
        SELECT (SELECT min(x.agent_id) FROM messages x WHERE x.status = 'pending' AND x.agent_id > agents.id) FROM agents WHERE agents.id IS NOT NULL
      )
      SELECT a.id FROM agents a
      CROSS JOIN LATERAL (SELECT x.seq, x.available_at FROM messages x WHERE x.status = 'pending' AND x.agent_id = a.id ORDER BY x.seq LIMIT 1) h
      WHERE a.id IS NOT NULL AND NOT (a.id = ANY(p_skip)) AND (p_only IS NULL OR a.id = ANY(p_only)) AND h.available_at <= p_now
        AND NOT EXISTS (SELECT 1 FROM messages p WHERE p.status = 'processing' AND p.agent_id = a.id)
      ORDER BY h.seq LIMIT p_cand
    );
  END IF;
  FOR k IN 1 .. coalesce(array_length(cands, 1), 0) LOOP
    pos := array_position(p_known, cands[k]);
    IF pos IS NULL THEN
      r := NULL;
      r.seq := -1;
      r.agent_id := cands[k];
      RETURN NEXT r;
    ELSE
      known := known || cands[k];
      lims := lims || p_limits[pos];
    END IF;
  END LOOP;
  IF coalesce(array_length(known, 1), 0) > 0 THEN
    RETURN QUERY SELECT * FROM tinyagi_claim(known, lims, p_want, p_now, p_owner, p_lease_until, p_ns);
  END IF;
  r := NULL;
  r.seq := -2;
  r.available_at := tinyagi_next_wake(p_now);
  RETURN NEXT r;
END
$$;
