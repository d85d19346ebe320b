-- An enrollment's first send writes the enrollment once, not twice (issue 16, worker-smtp).
--
-- Until now the state read pinned the enrollment's mailbox (app.assign_enrollment_mailbox, called by
-- app.send_step_state on an enrollment with none) and app.record_sent then updated the same row
-- again. With one candidate mailbox (no campaign_mailboxes beyond the campaign's own, the common
-- case) there is nothing to choose: the read already falls back to the campaign's mailbox when the
-- function returns NULL, so the pin bought nothing but an UPDATE of the enrollment (non-HOT:
-- mailbox_id is indexed) and its foreign-key check on every first send: 0.16 ms of the ≈ 1.5 ms
-- of database time per message in worker-smtp (pg_stat_user_functions, 2 × 2,000 sends, PG 15.20).
--
-- Now:
--   * with one candidate, app.assign_enrollment_mailbox returns NULL and writes nothing;
--   * app.record_sent pins the enrollment to the mailbox its message went from, in the update it
--     makes anyway, when the enrollment has none yet. "The same recipient always continues on the
--     same mailbox" holds from the first send that left, as before (the thread starts there);
--     until then the enrollment follows the campaign's mailbox, as the read already did;
--   * several candidates (rotation): unchanged, the choice is pinned at the read under the
--     campaign's advisory lock, so concurrent first sends still spread across the mailboxes.
CREATE OR REPLACE FUNCTION app.assign_enrollment_mailbox(p_enrollment uuid)
 RETURNS uuid
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'public'
AS $function$
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
    -- One candidate, nothing to choose: the caller uses the campaign's mailbox, and the first
    -- recorded send pins it (app.record_sent), one write of the enrollment instead of two.
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
$function$;

CREATE OR REPLACE FUNCTION app.record_sent(p_organisation uuid, p_task uuid, p_worker text, p_now timestamp with time zone, p_message uuid, p_response text, p_campaign uuid, p_variant uuid, p_enrollment uuid, p_step_order integer, p_next_step uuid, p_run_at timestamp with time zone, p_priority smallint, p_dedupe_key text)
 RETURNS integer
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'public'
AS $function$
DECLARE
  v_status text;
  v_mailbox uuid;
BEGIN
  UPDATE outreach.tasks AS t SET status = 'succeeded', locked_by = NULL, locked_until = NULL, completed_at = p_now
  WHERE t.organisation_id = p_organisation AND t.id = p_task AND t.status = 'running' AND t.locked_by = p_worker;
  IF NOT FOUND THEN
    RETURN 0;
  END IF;
  UPDATE outreach.messages AS m SET status = 'sent', sent_at = p_now, smtp_response = p_response WHERE m.id = p_message
  RETURNING m.mailbox_id INTO v_mailbox;
  INSERT INTO tracking.campaign_daily_stats AS d (campaign_id, day, variant_id, sent)
  VALUES (p_campaign, (p_now AT TIME ZONE 'UTC')::date, p_variant, 1)
  ON CONFLICT ON CONSTRAINT campaign_daily_stats_key DO UPDATE SET sent = d.sent + 1;
  UPDATE outreach.campaign_enrollments AS e
  SET current_step_order = greatest(e.current_step_order, p_step_order), last_sent_at = p_now,
      -- The enrollment's first send pins the mailbox it went from (threads stay on it).
      mailbox_id = coalesce(e.mailbox_id, v_mailbox),
      status = CASE WHEN e.status = 'active' AND p_next_step IS NULL THEN 'completed' ELSE e.status END,
      completed_at = CASE WHEN e.status = 'active' AND p_next_step IS NULL THEN p_now ELSE e.completed_at END,
      next_run_at = CASE WHEN e.status = 'active' THEN p_run_at ELSE e.next_run_at END
  WHERE e.id = p_enrollment
  RETURNING e.status INTO v_status;
  IF v_status = 'active' AND p_next_step IS NOT NULL THEN
    INSERT INTO outreach.tasks (type, run_at, enrollment_id, step_id, priority, dedupe_key)
    VALUES ('send_step', p_run_at, p_enrollment, p_next_step, p_priority, p_dedupe_key)
    ON CONFLICT (organisation_id, dedupe_key) WHERE dedupe_key IS NOT NULL AND status IN ('pending', 'running') DO NOTHING;
  END IF;
  RETURN 1;
END;
$function$;
