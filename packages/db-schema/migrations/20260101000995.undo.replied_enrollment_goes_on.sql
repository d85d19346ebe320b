-- Undo of 0995: app.record_sent enqueues the next step only for an active enrollment (as in 0993).
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
