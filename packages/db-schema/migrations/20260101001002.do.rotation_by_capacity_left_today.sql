-- Rotation by the capacity each mailbox has left today (issue 16: "round-robin by remaining capacity").
--
-- app.assign_enrollment_mailbox (0900, 0965, 0993) ranked a campaign's candidate mailboxes by this
-- campaign's enrollments per unit of daily cap, with the capacity left (a rolling 24 h count) only
-- breaking ties: a mailbox with 1 send left today, because another campaign used the rest, took
-- half of the new enrollments, which then waited a day for it. Now the candidates are ranked by
-- the share of today's cap already taken — the mailbox's reservations of its own local day
-- (outreach.mailbox_day_counts, or a count since local midnight before the day's first
-- reservation) plus enrollments of this campaign pinned to it that have not sent yet — so new
-- enrollments go where capacity is left, in proportion to the caps. Full mailboxes come last;
-- among them (all wait for tomorrow) the campaign's long-run share by cap decides, as before.
-- Pinned enrollments never move (threads stay on their mailbox).
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
      -- Today's share of the cap already taken: the mailbox's reservations of its local day (the
      -- day counter the reservation keeps, else a count since local midnight), plus enrollments
      -- pinned to it here that have not sent yet (they take their place when they do).
      (coalesce(
         (SELECT d.reserved FROM outreach.mailbox_day_counts d
          WHERE d.organisation_id = mb.organisation_id AND d.mailbox_id = mb.id
            AND d.day_start <= now() AND d.day_end > now()
          ORDER BY d.day_start DESC LIMIT 1),
         (SELECT count(*) FROM outreach.messages m
          WHERE m.organisation_id = mb.organisation_id AND m.mailbox_id = mb.id AND m.direction = 'outbound'
            AND m.status IN ('queued', 'sent', 'bounced') AND m.created_at >= day.start
            AND (m.sent_at IS NULL OR m.sent_at >= day.start - interval '1 day')))
       + (SELECT count(*) FROM outreach.campaign_enrollments w
          WHERE w.organisation_id = mb.organisation_id AND w.mailbox_id = mb.id AND w.campaign_id = v_campaign
            AND w.status = 'active'
            AND NOT EXISTS (SELECT 1 FROM outreach.messages s
                            WHERE s.organisation_id = w.organisation_id AND s.enrollment_id = w.id
                              AND s.direction = 'outbound'))
      )::numeric / mb.daily_limit AS taken,
      (SELECT count(*) FROM outreach.campaign_enrollments o
         WHERE o.organisation_id = mb.organisation_id AND o.mailbox_id = mb.id AND o.campaign_id = v_campaign
           AND o.status IN ('active', 'paused', 'replied')) AS assigned
    FROM outreach.mailboxes mb
    CROSS JOIN LATERAL (
      SELECT date_trunc('day', now() AT TIME ZONE mb.time_zone) AT TIME ZONE mb.time_zone AS start
    ) day
    WHERE mb.status = 'active' AND mb.verification_status = 'verified'
      AND (mb.id = (SELECT c.mailbox_id FROM outreach.campaigns c WHERE c.id = v_campaign)
           OR mb.id IN (SELECT cm.mailbox_id FROM outreach.campaign_mailboxes cm WHERE cm.campaign_id = v_campaign))
  ) cand
  -- The least taken share of today's cap first (weighted round-robin by capacity left today); full
  -- mailboxes last, then the campaign's long-run share by cap (they all wait for tomorrow).
  ORDER BY cand.taken >= 1, cand.taken, cand.assigned::numeric / cand.daily_limit, cand.id
  LIMIT 1;
  IF v_chosen IS NULL THEN
    RETURN NULL;
  END IF;
  UPDATE outreach.campaign_enrollments SET mailbox_id = v_chosen WHERE id = p_enrollment AND mailbox_id IS NULL;
  -- Another transaction pinned it first: its choice stands.
  RETURN (SELECT e.mailbox_id FROM outreach.campaign_enrollments e WHERE e.id = p_enrollment);
END;
$function$;
