-- Undo of 1002: app.assign_enrollment_mailbox ranks as migration 0993 defined it.
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
