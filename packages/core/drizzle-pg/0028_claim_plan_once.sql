-- Claim functions with one generic plan per connection (docs/storage.md, "Claims"). Planned at
-- every call (0026), a claim paid its planning each time: about a millisecond, and more with long
-- lists of skipped or allowed agents, whose every element a custom plan makes a constant (8 ms
-- for 10,000). A generic plan is made once, maybe while the table is small, so each shape must
-- be right at any size:
-- - lists are hashed once per claim (x IN (SELECT unnest(list)), a hashed subplan): against a
--   parameter, x = ANY(list) compares each candidate with every element;
-- - an agent's busy check is a lookup of its agent ((SELECT 1 ... LIMIT 1) IS NULL): as
--   NOT EXISTS it became an anti-join that read every batch in flight for each candidate;
-- - a head is found by id, and rows found by key are checked against a 'pending' the plan cannot
--   see, so the primary key serves them (a partial index over pending rows was walked instead).
-- A claim reads the next wake time only when its worker will use it (not when it got every batch
-- it wanted, or returns agents the store did not know: the store claims those next).
-- Otherwise the functions are 0023's, 0024's and 0026's.
CREATE OR REPLACE FUNCTION tinyagi_claim(p_agents text[], p_limits integer[], p_want integer, p_now bigint, p_owner text, p_lease_until bigint, p_ns text)
RETURNS SETOF messages
LANGUAGE plpgsql
SET search_path FROM CURRENT
-- One generic plan per connection; index lookups at any table size (0026 and the head of this file).
SET plan_cache_mode = force_generic_plan
SET enable_seqscan = off
SET enable_bitmapscan = off
SET enable_hashjoin = off
SET enable_mergejoin = off
SET lock_timeout = '1s'
AS $$
DECLARE
  k integer;
  locked text[] := '{}';
  lims integer[] := '{}';
  -- A value the plan does not see: rows found by key are checked against it, so no partial index
  -- over pending rows matches (a plan made on a small table walked one to find a few keys).
  pending constant text := 'pending';
BEGIN
  -- Beside other claims of its kind, never during a claim that took its turn (0024).
  PERFORM pg_advisory_xact_lock_shared(hashtext('tinyagi.claim'), hashtext(p_ns));
  PERFORM set_config('synchronous_commit', 'off', true);
  -- Lock (try, never wait) a few more agents than wanted: some may turn out busy below.
  FOR k IN 1 .. coalesce(array_length(p_agents, 1), 0) LOOP
    EXIT WHEN coalesce(array_length(locked, 1), 0) >= p_want + 4;
    IF pg_try_advisory_xact_lock(hashtext(p_ns), hashtext(p_agents[k])) THEN
      locked := locked || p_agents[k];
      lims := lims || p_limits[k];
    END IF;
  END LOOP;
  IF coalesce(array_length(locked, 1), 0) = 0 THEN
    RETURN;
  END IF;
  -- One statement for every locked agent, with a snapshot taken after the locks.
  RETURN QUERY
    WITH a AS (SELECT * FROM unnest(locked, lims) WITH ORDINALITY AS a(agent_id, lim, ord)),
    head AS MATERIALIZED (
      SELECT a.agent_id, a.lim, a.ord, h.seq, h.conversation_id, h.solo FROM a
      CROSS JOIN LATERAL (
        SELECT m.seq, m.conversation_id, m.solo, m.available_at, m.created_at FROM messages m
        WHERE m.id = (SELECT x.id FROM messages x WHERE x.status = 'pending' AND x.agent_id = a.agent_id ORDER BY x.seq LIMIT 1) AND m.status = pending
        FOR UPDATE SKIP LOCKED
      ) h
      WHERE h.available_at <= greatest(p_now, h.created_at) AND (SELECT 1 FROM messages p WHERE p.status = 'processing' AND p.agent_id = a.agent_id LIMIT 1) IS NULL
      ORDER BY a.ord LIMIT p_want
    ),
    win AS (
      SELECT w.id, w.seq, h.seq AS head_seq,
        bool_and(w.available_at <= greatest(p_now, w.created_at) AND NOT w.solo AND NOT h.solo) OVER (PARTITION BY h.agent_id ORDER BY w.seq) AS ok
      FROM head h
      CROSS JOIN LATERAL (
        SELECT c.id, c.seq, c.available_at, c.created_at, c.solo FROM (
          SELECT x.id, x.seq, x.conversation_id, x.available_at, x.created_at, x.solo FROM messages x
          WHERE x.status = 'pending' AND x.agent_id = h.agent_id ORDER BY x.seq LIMIT CASE WHEN h.lim = 1 THEN 1 ELSE 512 END
        ) c WHERE c.conversation_id = h.conversation_id ORDER BY c.seq LIMIT h.lim
      ) w
    )
    UPDATE messages u SET status = 'processing', lease_owner = p_owner, lease_expires_at = p_lease_until, attempts = u.attempts + 1, updated_at = p_now
    WHERE u.id = ANY(ARRAY(SELECT win.id FROM win WHERE win.seq = win.head_seq OR win.ok)) AND u.status = pending
    RETURNING u.*;
END
$$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION tinyagi_claim_next(p_skip text[], p_only text[], p_known text[], p_limits integer[], p_want integer, p_cand integer, p_now bigint, p_owner text, p_lease_until bigint, p_ns text)
RETURNS SETOF messages
LANGUAGE plpgsql
SET search_path FROM CURRENT
-- One generic plan per connection; index lookups at any table size (0026); the lists hashed.
SET plan_cache_mode = force_generic_plan
SET enable_seqscan = off
SET enable_bitmapscan = off
SET enable_hashjoin = off
SET enable_mergejoin = off
SET lock_timeout = '1s'
AS $$
DECLARE
  seen bigint;
  cands text[];
  known text[] := '{}';
  lims integer[] := '{}';
  k integer;
  pos integer;
  r messages;
  unknown boolean := false;
BEGIN
  WITH win AS MATERIALIZED (
    SELECT w.seq, w.agent_id, w.available_at <= greatest(p_now, w.created_at) AS ready FROM messages w
    WHERE w.status = 'pending' AND (p_only IS NULL OR w.agent_id IN (SELECT unnest(p_only))) ORDER BY w.seq LIMIT 256
  ), heads AS (
    SELECT DISTINCT ON (win.agent_id) win.agent_id, win.seq, win.ready FROM win ORDER BY win.agent_id, win.seq
  )
  SELECT (SELECT count(*) FROM win), ARRAY(
    SELECT h.agent_id FROM heads h
    WHERE h.ready AND h.agent_id NOT IN (SELECT unnest(p_skip))
      AND (SELECT 1 FROM messages p WHERE p.status = 'processing' AND p.agent_id = h.agent_id LIMIT 1) IS NULL
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
      CROSS JOIN LATERAL (SELECT x.seq, x.available_at, x.created_at FROM messages x WHERE x.status = 'pending' AND x.agent_id = a.id ORDER BY x.seq LIMIT 1) h
      WHERE a.id IS NOT NULL AND a.id NOT IN (SELECT unnest(p_skip)) AND (p_only IS NULL OR a.id IN (SELECT unnest(p_only))) AND h.available_at <= greatest(p_now, h.created_at)
        AND (SELECT 1 FROM messages p WHERE p.status = 'processing' AND p.agent_id = a.id LIMIT 1) IS NULL
      ORDER BY h.seq LIMIT p_cand
    );
  END IF;
  FOR k IN 1 .. coalesce(array_length(cands, 1), 0) LOOP
    pos := array_position(p_known, cands[k]);
    IF pos IS NULL THEN
      unknown := true;
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
  -- The store claims the agents it did not know next, and then asks for the wake time itself.
  IF unknown THEN
    RETURN;
  END IF;
  r := NULL;
  r.seq := -2;
  r.available_at := tinyagi_next_wake(p_now);
  RETURN NEXT r;
END
$$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION tinyagi_claim_next(p_skip text[], p_only text[], p_known text[], p_limits integer[], p_want integer, p_cand integer, p_now bigint, p_owner text, p_lease_until bigint, p_ns text, p_wait boolean)
RETURNS SETOF messages
LANGUAGE plpgsql
SET search_path FROM CURRENT
-- One generic plan per connection; index lookups at any table size (0026); the lists hashed.
SET plan_cache_mode = force_generic_plan
SET enable_seqscan = off
SET enable_bitmapscan = off
SET enable_hashjoin = off
SET enable_mergejoin = off
SET lock_timeout = '1s'
AS $$
DECLARE
  r messages;
  seen integer;
  found_cands integer;
  took integer;
  -- As in tinyagi_claim above: no partial index over pending rows matches the update.
  pending constant text := 'pending';
BEGIN
  IF NOT p_wait THEN
    -- Beside other claims (0023's function: a try-lock per agent, its head locked again).
    RETURN QUERY SELECT * FROM tinyagi_claim_next(p_skip, p_only, p_known, p_limits, p_want, p_cand, p_now, p_owner, p_lease_until, p_ns);
    RETURN;
  END IF;
  -- Its turn: alone among claims, and the statement below sees every batch claimed before.
  PERFORM pg_advisory_xact_lock(hashtext('tinyagi.claim'), hashtext(p_ns));
  PERFORM set_config('synchronous_commit', 'off', true);
  -- The candidates: agents whose head (oldest pending message) is among the 256 oldest pending
  -- messages, available, not skipped, with no batch in flight; oldest head first. Those whose
  -- limit was sent along are claimed (up to p_want), the others come back as seq -1 rows; a
  -- row with seq -3 (the store passes it over) keeps how many messages were seen, candidates
  -- found and agents claimed, for the fallback below.
  RETURN QUERY
    WITH win AS MATERIALIZED (
      SELECT w.seq, w.agent_id, w.conversation_id, w.solo, w.available_at <= greatest(p_now, w.created_at) AS ready FROM messages w
      WHERE w.status = 'pending' AND (p_only IS NULL OR w.agent_id IN (SELECT unnest(p_only))) ORDER BY w.seq LIMIT 256
    ), cand AS MATERIALIZED (
      SELECT h.agent_id, h.seq, h.conversation_id, h.solo, array_position(p_known, h.agent_id) AS pos FROM (
        SELECT DISTINCT ON (win.agent_id) win.* FROM win ORDER BY win.agent_id, win.seq
      ) h
      WHERE h.ready AND h.agent_id NOT IN (SELECT unnest(p_skip))
        AND (SELECT 1 FROM messages p WHERE p.status = 'processing' AND p.agent_id = h.agent_id LIMIT 1) IS NULL
      ORDER BY h.seq LIMIT p_cand
    ), head AS MATERIALIZED (
      SELECT c.agent_id, c.seq, c.conversation_id, c.solo, p_limits[c.pos] AS lim FROM cand c WHERE c.pos IS NOT NULL ORDER BY c.seq LIMIT p_want
    ), batch AS (
      SELECT w.id, w.seq = h.seq OR bool_and(w.available_at <= greatest(p_now, w.created_at) AND NOT w.solo AND NOT h.solo) OVER (PARTITION BY h.agent_id ORDER BY w.seq) AS take
      FROM head h
      CROSS JOIN LATERAL (
        SELECT c.id, c.seq, c.available_at, c.created_at, c.solo FROM (
          SELECT x.id, x.seq, x.conversation_id, x.available_at, x.created_at, x.solo FROM messages x
          WHERE x.status = 'pending' AND x.agent_id = h.agent_id ORDER BY x.seq LIMIT CASE WHEN h.lim = 1 THEN 1 ELSE 512 END
        ) c WHERE c.conversation_id = h.conversation_id ORDER BY c.seq LIMIT h.lim
      ) w
    ), claimed AS (
      UPDATE messages u SET status = 'processing', lease_owner = p_owner, lease_expires_at = p_lease_until, attempts = u.attempts + 1, updated_at = p_now
      WHERE u.id = ANY(ARRAY(SELECT b.id FROM batch b WHERE b.take)) AND u.status = pending
      RETURNING u.*
    )
    SELECT * FROM claimed
    UNION ALL
    SELECT u.* FROM cand c CROSS JOIN LATERAL jsonb_populate_record(NULL::messages, jsonb_build_object('seq', -1, 'agent_id', c.agent_id)) u WHERE c.pos IS NULL
    UNION ALL
    SELECT u.* FROM jsonb_populate_record(NULL::messages, jsonb_build_object('seq', -3,
      'attempts', set_config('tinyagi.claim_seen', (SELECT count(*) FROM win)::text, true),
      'depth', set_config('tinyagi.claim_candidates', (SELECT count(*) FROM cand)::text, true),
      'rate_limit_waits', set_config('tinyagi.claim_agents', (SELECT count(DISTINCT c.agent_id) FROM claimed c)::text, true))) u;
  seen := current_setting('tinyagi.claim_seen')::integer;
  found_cands := current_setting('tinyagi.claim_candidates')::integer;
  took := current_setting('tinyagi.claim_agents')::integer;
  -- More agents may have pending messages beyond the 256 oldest (a long backlog of a few): 0023's
  -- function lists them one index descent each and claims them (the lock is held already); it
  -- ends with the next wake time.
  IF found_cands < p_cand AND seen >= 256 AND took < p_want THEN
    RETURN QUERY SELECT * FROM tinyagi_claim_next(p_skip, p_only, p_known, p_limits, p_want - took, p_cand, p_now, p_owner, p_lease_until, p_ns);
    RETURN;
  END IF;
  -- No wake time (its earliest lease walks every batch in flight: 8 ms a claim at 10,000 in
  -- flight) when it would not be used: every batch wanted is claimed (the worker claims again at
  -- once, or, its slots full, asks), or a candidate was not (an agent the store did not know: it
  -- claims those next and then asks).
  IF took >= p_want OR found_cands > took THEN
    RETURN;
  END IF;
  r := NULL;
  r.seq := -2;
  r.available_at := tinyagi_next_wake(p_now);
  RETURN NEXT r;
END
$$;
