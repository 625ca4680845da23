-- Fewer index entries per message (docs/storage.md, "Indexes"); no status update is HOT, so each of
-- a message's three versions enters every index whose predicate it meets.
-- - The next-wake index holds delayed rows only (available_at > created_at: a backoff, a release, a
--   time given at enqueue): a message available when written needs no wake-up, and the claims below
--   take it whatever the claimer's clock says (available_at <= greatest(now, created_at)), so a node
--   whose clock is behind the writer's neither waits for it nor needs a timer.
-- - One index over processing rows (agent, lease) serves the busy check, the lease recovery and the
--   wake time (processing rows are the batches in flight: few).
-- - A message's key is its id (every lookup of one message is by id); seq keeps the queue's order
--   through the partial indexes, and an index over every version of it is gone.
-- tinyagi_claim (0001) and tinyagi_claim_next (0022) are redefined for the availability rule, and
-- tinyagi_next_wake (0022) for the delayed rows; otherwise as before.
ALTER TABLE "messages" DROP CONSTRAINT "messages_pkey";--> statement-breakpoint
ALTER TABLE "messages" DROP CONSTRAINT "messages_id_unique";--> statement-breakpoint
ALTER TABLE "messages" ADD CONSTRAINT "messages_pkey" PRIMARY KEY ("id");--> statement-breakpoint
DROP INDEX "messages_pending_available";--> statement-breakpoint
DROP INDEX "messages_processing_agent";--> statement-breakpoint
DROP INDEX "messages_processing_lease";--> statement-breakpoint
CREATE INDEX "messages_pending_delayed" ON "messages" USING btree ("available_at") WHERE status = 'pending' AND available_at > created_at;--> statement-breakpoint
CREATE INDEX "messages_processing" ON "messages" USING btree ("agent_id","lease_expires_at") WHERE status = 'processing';--> statement-breakpoint
CREATE OR REPLACE FUNCTION tinyagi_next_wake(p_now bigint)
RETURNS bigint
LANGUAGE plpgsql
STABLE
SET search_path FROM CURRENT
SET plan_cache_mode = force_generic_plan
SET enable_seqscan = off
AS $$
BEGIN
  RETURN least(
    (SELECT min(x.available_at) FROM messages x WHERE x.status = 'pending' AND x.available_at > x.created_at AND x.available_at > p_now),
    (SELECT min(x.lease_expires_at) FROM messages x WHERE x.status = 'processing'));
END
$$;--> statement-breakpoint
CREATE OR REPLACE FUNCTION tinyagi_claim(p_agents text[], p_limits integer[], p_want integer, p_now bigint, p_owner text, p_lease_until bigint, p_ns text)
RETURNS SETOF messages
LANGUAGE plpgsql
SET search_path FROM CURRENT
-- Plans made while the table was small (a fresh schema, not analysed yet) would otherwise be
-- cached as generic plans with sequential scans and kept as the backlog grows.
SET plan_cache_mode = force_custom_plan
AS $$
DECLARE
  k integer;
  locked text[] := '{}';
  lims integer[] := '{}';
BEGIN
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
        WHERE m.seq = (SELECT min(x.seq) FROM messages x WHERE x.status = 'pending' AND x.agent_id = a.agent_id) AND m.status = 'pending'
        FOR UPDATE SKIP LOCKED
      ) h
      WHERE h.available_at <= greatest(p_now, h.created_at) AND NOT EXISTS (SELECT 1 FROM messages p WHERE p.status = 'processing' AND p.agent_id = a.agent_id)
      ORDER BY a.ord LIMIT p_want
    ),
    win AS (
      SELECT w.seq, h.seq AS head_seq,
        bool_and(w.available_at <= greatest(p_now, w.created_at) AND NOT w.solo AND NOT h.solo) OVER (PARTITION BY h.agent_id ORDER BY w.seq) AS ok
      FROM head h
      CROSS JOIN LATERAL (
        SELECT c.seq, c.available_at, c.created_at, c.solo FROM (
          SELECT x.seq, x.conversation_id, x.available_at, x.created_at, x.solo FROM messages x
          WHERE x.status = 'pending' AND x.agent_id = h.agent_id ORDER BY x.seq LIMIT CASE WHEN h.lim = 1 THEN 1 ELSE 512 END
        ) c WHERE c.conversation_id = h.conversation_id ORDER BY c.seq LIMIT h.lim
      ) w
    )
    UPDATE messages u SET status = 'processing', lease_owner = p_owner, lease_expires_at = p_lease_until, attempts = u.attempts + 1, updated_at = p_now
    FROM win WHERE u.seq = win.seq AND (win.seq = win.head_seq OR win.ok) AND u.status = 'pending'
    RETURNING u.*;
END
$$;
--> statement-breakpoint
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
    SELECT w.seq, w.agent_id, w.available_at <= greatest(p_now, w.created_at) AS ready FROM messages w
    WHERE w.status = 'pending' AND (p_only IS NULL OR w.agent_id = ANY(p_only)) ORDER BY w.seq LIMIT 256
  ), heads AS (
    SELECT DISTINCT ON (win.agent_id) win.agent_id, win.seq, win.ready FROM win ORDER BY win.agent_id, win.seq
  )
  SELECT (SELECT count(*) FROM win), ARRAY(
    SELECT h.agent_id FROM heads h
    WHERE h.ready AND NOT (h.agent_id = ANY(p_skip))
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
      CROSS JOIN LATERAL (SELECT x.seq, x.available_at, x.created_at FROM messages x WHERE x.status = 'pending' AND x.agent_id = a.id ORDER BY x.seq LIMIT 1) h
      WHERE a.id IS NOT NULL AND NOT (a.id = ANY(p_skip)) AND (p_only IS NULL OR a.id = ANY(p_only)) AND h.available_at <= greatest(p_now, h.created_at)
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

