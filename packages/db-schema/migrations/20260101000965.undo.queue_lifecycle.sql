-- app.complete_tasks as migration 0720 defined it.
CREATE OR REPLACE FUNCTION app.complete_tasks(p_worker text, p_organisation_ids uuid[], p_ids uuid[], p_now timestamptz)
  RETURNS integer
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog
AS $$
DECLARE
  n integer;
BEGIN
  UPDATE outreach.tasks AS t
  SET status = 'succeeded', locked_by = NULL, locked_until = NULL, completed_at = coalesce(p_now, now())
  FROM unnest(p_organisation_ids, p_ids) AS k(organisation_id, id)
  WHERE t.organisation_id = k.organisation_id AND t.id = k.id AND t.status = 'running' AND t.locked_by = p_worker;
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END;
$$;

-- app.assign_enrollment_mailbox as migration 0900 defined it.
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
  IF v_chosen IS NULL THEN
    RETURN NULL;
  END IF;
  UPDATE outreach.campaign_enrollments SET mailbox_id = v_chosen WHERE id = p_enrollment AND mailbox_id IS NULL;
  -- Another transaction pinned it first: its choice stands.
  RETURN (SELECT e.mailbox_id FROM outreach.campaign_enrollments e WHERE e.id = p_enrollment);
END;
$$;

-- app.claim_tasks as migration 0963 defined it.
CREATE OR REPLACE FUNCTION app.claim_tasks(p_worker text, p_limit integer, p_lease_seconds integer, p_now timestamptz)
  RETURNS TABLE (organisation_id uuid, id uuid, type text, attempts integer, max_attempts integer,
                 payload jsonb, enrollment_id uuid, step_id uuid, run_at timestamptz, trace_context jsonb)
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog
AS $$
BEGIN
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
