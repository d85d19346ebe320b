-- Cheaper task lifecycle (issue 16, "Done when": worker-throughput and worker-smtp benches).
--
-- 1. app.complete_tasks finds each finished task by its primary key. The 0720 body matched
--    `t.status = 'running'`, which lets the planner read the running tasks through
--    tasks_lease_expiry_idx and compare each with every key of the batch: with a local queue of
--    hundreds of claimed tasks and batches of 64, that nested loop cost more than all the rest of
--    a task's lifecycle (measured: 30 ms vs 2.5 ms for one batch of 64 among 500 running tasks,
--    docs/benchmarks.md). `locked_by = p_worker AND locked_until IS NOT NULL` selects exactly the
--    same rows (tasks_check: status = 'running' iff locked_by and locked_until are both set) and
--    matches no partial index, so the plan is one primary-key probe per completed task.
CREATE OR REPLACE FUNCTION app.complete_tasks(p_worker text, p_organisation_ids uuid[], p_ids uuid[], p_now timestamptz)
  RETURNS integer
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog
AS $$
DECLARE
  n integer;
BEGIN
  -- See 3. below: a completion lost in a crash is a task run again after its lease expires.
  PERFORM set_config('synchronous_commit', 'off', true);
  UPDATE outreach.tasks AS t
  SET status = 'succeeded', locked_by = NULL, locked_until = NULL, completed_at = coalesce(p_now, now())
  FROM unnest(p_organisation_ids, p_ids) AS k(organisation_id, id)
  WHERE t.organisation_id = k.organisation_id AND t.id = k.id
    AND t.locked_by = p_worker AND t.locked_until IS NOT NULL;
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END;
$$;

-- 2. app.assign_enrollment_mailbox (0900) ranks a campaign's candidate mailboxes by counting each
--    one's messages of the last 24 h and its enrollments in the campaign, under a per-campaign
--    advisory lock, on every enrollment's first send. A campaign with one candidate mailbox (the
--    common case: no campaign_mailboxes rows) has nothing to rank: the ranking would return that
--    mailbox whatever the counts (capacity only orders candidates), and there is nothing to spread
--    concurrent first sends over, so it is pinned directly. Several candidates: unchanged.
CREATE OR REPLACE FUNCTION app.assign_enrollment_mailbox(p_enrollment uuid)
  RETURNS uuid
  LANGUAGE plpgsql VOLATILE SECURITY INVOKER
  SET search_path = pg_catalog, public
AS $$
DECLARE
  v_campaign uuid;
  v_chosen uuid;
BEGIN
  SELECT e.campaign_id INTO v_campaign FROM outreach.campaign_enrollments e
  WHERE e.id = p_enrollment AND e.mailbox_id IS NULL;
  IF v_campaign IS NULL THEN
    RETURN NULL;
  END IF;
  IF NOT EXISTS (
    SELECT 1 FROM outreach.campaign_mailboxes cm JOIN outreach.campaigns c ON c.id = cm.campaign_id
    WHERE cm.campaign_id = v_campaign AND cm.mailbox_id IS DISTINCT FROM c.mailbox_id
  ) THEN
    SELECT mb.id INTO v_chosen FROM outreach.mailboxes mb
    WHERE mb.status = 'active' AND mb.verification_status = 'verified'
      AND mb.id = (SELECT c.mailbox_id FROM outreach.campaigns c WHERE c.id = v_campaign);
  ELSE
    -- One chooser per campaign at a time (until the caller's transaction ends): each sees the
    -- assignments committed or made before it, so concurrent first sends spread across mailboxes.
    PERFORM pg_advisory_xact_lock(hashtextextended('assign_enrollment_mailbox:' || v_campaign::text, 0));
    SELECT cand.id INTO v_chosen FROM (
      SELECT mb.id, mb.daily_limit,
        mb.daily_limit - (SELECT count(*) FROM outreach.messages m
           WHERE m.organisation_id = mb.organisation_id AND m.mailbox_id = mb.id AND m.direction = 'outbound'
             AND m.status IN ('queued', 'sent', 'bounced') AND m.created_at >= now() - interval '24 hours'
             AND (m.sent_at IS NULL OR m.sent_at >= now() - interval '2 days')) AS remaining,
        (SELECT count(*) FROM outreach.campaign_enrollments o
           WHERE o.organisation_id = mb.organisation_id AND o.mailbox_id = mb.id AND o.campaign_id = v_campaign
             AND o.status IN ('active', 'paused', 'replied')) AS assigned
      FROM outreach.mailboxes mb
      WHERE mb.status = 'active' AND mb.verification_status = 'verified'
        AND (mb.id = (SELECT c.mailbox_id FROM outreach.campaigns c WHERE c.id = v_campaign)
             OR mb.id IN (SELECT cm.mailbox_id FROM outreach.campaign_mailboxes cm WHERE cm.campaign_id = v_campaign))
    ) cand
    ORDER BY cand.remaining <= 0, cand.assigned::numeric / cand.daily_limit, cand.remaining DESC, cand.id
    LIMIT 1;
  END IF;
  IF v_chosen IS NULL THEN
    RETURN NULL;
  END IF;
  UPDATE outreach.campaign_enrollments SET mailbox_id = v_chosen WHERE id = p_enrollment AND mailbox_id IS NULL;
  -- Another transaction pinned it first: its choice stands.
  RETURN (SELECT e.mailbox_id FROM outreach.campaign_enrollments e WHERE e.id = p_enrollment);
END;
$$;

-- 3. The queue's own bookkeeping commits without waiting for the WAL flush (synchronous_commit off
--    for the transaction of app.claim_tasks and app.complete_tasks, which the worker runs as single
--    statements; set_config(..., true) lasts until that transaction ends). On a loaded disk the
--    flush was a large part of each claim's latency, and the claim is the critical path of a worker
--    with a local queue. What a crash of PostgreSQL can lose is the last few hundred milliseconds of
--    these commits, never their order, and each loss is one the queue already recovers from:
--    - a claim: its tasks are pending again. Any handler effect that reached the database was
--      committed after the claim with a synchronous commit, whose flush includes the claim's WAL,
--      so a lost claim had no recorded effects, and a handler without database effects runs again
--      (at least once, as after a SIGKILL);
--    - a completion (tasks whose handlers wrote nothing, the only ones complete_tasks handles): the
--      task is still running under the dead worker's lease and runs again after it expires.
--    Everything a handler writes (reservations, record_sent, its own tenant transactions) keeps
--    synchronous commits. Same contract as 0963 otherwise: keep both when redefining these.
CREATE OR REPLACE FUNCTION app.claim_tasks(p_worker text, p_limit integer, p_lease_seconds integer, p_now timestamptz)
  RETURNS TABLE (organisation_id uuid, id uuid, type text, attempts integer, max_attempts integer,
                 payload jsonb, enrollment_id uuid, step_id uuid, run_at timestamptz, trace_context jsonb)
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog
AS $$
BEGIN
  PERFORM set_config('synchronous_commit', 'off', true);
  RETURN QUERY
  WITH due AS (
    SELECT t.organisation_id, t.id
    FROM outreach.tasks AS t
    WHERE t.status = 'pending' AND t.run_at <= coalesce(p_now, now()) AND t.type <> 'run_import'
    ORDER BY t.priority, t.run_at, t.id
    LIMIT least(greatest(p_limit, 0), 1000)
    FOR UPDATE SKIP LOCKED
  )
  UPDATE outreach.tasks AS t
  SET status = 'running', locked_by = p_worker, heartbeat_at = now(), attempts = t.attempts + 1,
      locked_until = now() + make_interval(secs => greatest(p_lease_seconds, 1))
  FROM due
  WHERE t.organisation_id = due.organisation_id AND t.id = due.id
  RETURNING t.organisation_id, t.id, t.type, t.attempts, t.max_attempts, t.payload, t.enrollment_id, t.step_id,
            t.run_at, t.trace_context;
END;
$$;
