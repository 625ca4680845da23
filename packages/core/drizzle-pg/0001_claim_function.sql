-- The claim in one round trip (docs/storage.md): take the advisory transaction lock of the
-- candidate agents, in order (skip an agent whose lock another claimer holds; stop at
-- p_want + 4), then in one statement, whose snapshot (READ COMMITTED takes a new one per
-- statement of a volatile function) sees every claim committed before the locks: for each
-- locked agent without a processing message, lock its head with FOR UPDATE SKIP LOCKED (a
-- locked head skips the agent: nothing overtakes it) and claim the head with the available
-- pending messages of its conversation (up to p_limits[i]; 1 = sequential), stopping at the
-- first message not yet available or marked solo; at most p_want agents. The claim commits without waiting for the WAL flush (synchronous_commit off for
-- this transaction only): a claim lost to a server crash leaves its messages pending.
-- plan_cache_mode: see below.
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
        SELECT m.seq, m.conversation_id, m.solo, m.available_at FROM messages m
        WHERE m.seq = (SELECT min(x.seq) FROM messages x WHERE x.status = 'pending' AND x.agent_id = a.agent_id) AND m.status = 'pending'
        FOR UPDATE SKIP LOCKED
      ) h
      WHERE h.available_at <= p_now AND NOT EXISTS (SELECT 1 FROM messages p WHERE p.status = 'processing' AND p.agent_id = a.agent_id)
      ORDER BY a.ord LIMIT p_want
    ),
    win AS (
      SELECT w.seq, h.seq AS head_seq,
        bool_and(w.available_at <= p_now AND NOT w.solo AND NOT h.solo) OVER (PARTITION BY h.agent_id ORDER BY w.seq) AS ok
      FROM head h
      CROSS JOIN LATERAL (
        SELECT c.seq, c.available_at, c.solo FROM (
          SELECT x.seq, x.conversation_id, x.available_at, x.solo FROM messages x
          WHERE x.status = 'pending' AND x.agent_id = h.agent_id ORDER BY x.seq LIMIT CASE WHEN h.lim = 1 THEN 1 ELSE 512 END
        ) c WHERE c.conversation_id = h.conversation_id ORDER BY c.seq LIMIT h.lim
      ) w
    )
    UPDATE messages u SET status = 'processing', lease_owner = p_owner, lease_expires_at = p_lease_until, attempts = u.attempts + 1, updated_at = p_now
    FROM win WHERE u.seq = win.seq AND (win.seq = win.head_seq OR win.ok) AND u.status = 'pending'
    RETURNING u.*;
END
$$;
