DROP INDEX "messages_finished";--> statement-breakpoint
CREATE INDEX "messages_dead" ON "messages" USING btree ("seq") WHERE status = 'dead';--> statement-breakpoint
CREATE INDEX "messages_finished" ON "messages" USING btree ("finished_at") WHERE status IN ('completed', 'cancelled');--> statement-breakpoint
-- The claim in one round trip (docs/storage.md, "Measured"): the candidate read that the store
-- made before calling tinyagi_claim, folded into the function. Candidates: the agents whose head
-- (lowest pending seq) is available and who have nothing processing, oldest head first, at most
-- p_cand; the first read looks at the oldest 256 pending rows only (a prefix in seq order, so an
-- agent's lowest seq there is its head); when that window was full and gave too few agents (a
-- busy agent's backlog in front), a loose index scan lists every agent with pending work (one
-- seek per agent). The caller gives the busy-policy limit of the agents it knows (p_known,
-- p_limits: its policy is a function of the agent, evaluated by the caller): those candidates are
-- claimed at once by tinyagi_claim (its locks and checks, unchanged); each other candidate is
-- returned, not claimed, as a row with seq -1 and only agent_id set, for the caller to claim
-- with tinyagi_claim once it has their policy (the second round trip of the old path).
--
-- enable_bitmapscan off (for this function and tinyagi_claim as it calls it): the statistics of a
-- queue table are mostly stale (a table analysed while nearly empty, or never), and with a few
-- pending rows estimated the planner read the window through a bitmap scan of every pending row
-- and a top-N sort (3.3 ms with 10,000 pending, EXPLAIN ANALYZE) instead of walking
-- messages_pending_seq in order and stopping after 256 rows (0.9 ms).
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
END
$$;
