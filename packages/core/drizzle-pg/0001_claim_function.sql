-- The claim in one round trip (docs/storage.md): for each candidate agent, in order, take the
-- agent's advisory transaction lock (skip the agent if another claimer holds it), then, in
-- statements that each see every claim committed before the lock (READ COMMITTED takes a new
-- snapshot per statement of a volatile function), check that the agent has no processing
-- message, lock its head with FOR UPDATE SKIP LOCKED (a locked head skips the agent: nothing
-- overtakes it) and claim the head with the available pending messages of its conversation
-- (up to p_limits[i]; 1 = sequential), stopping at the first message not yet available or
-- marked solo. The claim commits without waiting for the WAL flush (synchronous_commit off for
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
  n integer := 0;
  agent text;
  head record;
  claimed bigint;
BEGIN
  PERFORM set_config('synchronous_commit', 'off', true);
  FOR k IN 1 .. coalesce(array_length(p_agents, 1), 0) LOOP
    EXIT WHEN n >= p_want;
    agent := p_agents[k];
    CONTINUE WHEN NOT pg_try_advisory_xact_lock(hashtext(p_ns), hashtext(agent));
    CONTINUE WHEN EXISTS (SELECT 1 FROM messages WHERE status = 'processing' AND agent_id = agent);
    SELECT seq, conversation_id, solo, available_at INTO head FROM messages
      WHERE seq = (SELECT min(seq) FROM messages WHERE status = 'pending' AND agent_id = agent) AND status = 'pending'
      FOR UPDATE SKIP LOCKED;
    CONTINUE WHEN NOT FOUND OR head.available_at > p_now;
    RETURN QUERY
      WITH win AS (
        SELECT w.seq, bool_and(w.available_at <= p_now AND NOT w.solo AND NOT head.solo) OVER (ORDER BY w.seq) AS ok
        FROM (
          SELECT m.seq, m.available_at, m.solo FROM (
            SELECT seq, conversation_id, available_at, solo FROM messages
            WHERE status = 'pending' AND agent_id = agent ORDER BY seq LIMIT CASE WHEN p_limits[k] = 1 THEN 1 ELSE 512 END
          ) m WHERE m.conversation_id = head.conversation_id ORDER BY m.seq LIMIT p_limits[k]
        ) w
      )
      UPDATE messages u SET status = 'processing', lease_owner = p_owner, lease_expires_at = p_lease_until, attempts = u.attempts + 1, updated_at = p_now
      FROM win WHERE u.seq = win.seq AND (win.seq = head.seq OR win.ok) AND u.status = 'pending'
      RETURNING u.*;
    n := n + 1;
  END LOOP;
END
$$;
