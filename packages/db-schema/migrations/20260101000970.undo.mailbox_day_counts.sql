-- Back to 0730's reservation, which counts the day's messages itself.
DROP TRIGGER IF EXISTS mailbox_day_count_update ON outreach.messages;
DROP TRIGGER IF EXISTS mailbox_day_count_insert ON outreach.messages;
DROP FUNCTION IF EXISTS app.mailbox_day_count();
DROP TABLE IF EXISTS outreach.mailbox_day_counts;
DROP INDEX IF EXISTS outreach.messages_org_enrollment_inbound_idx;
CREATE OR REPLACE FUNCTION app.reserve_outbound_message(
    p_enrollment uuid, p_step uuid, p_variant uuid, p_mailbox uuid, p_message_id_header text, p_in_reply_to text,
    p_references text[], p_from citext, p_to citext, p_subject text, p_body_text text, p_body_html text,
    p_unsubscribe_token text, p_now timestamptz, p_pixel_token text, p_day_start timestamptz, p_day_end timestamptz,
    p_exit_on_reply boolean, p_store_assignment boolean)
  RETURNS TABLE (enrollment_status text, campaign_status text, mailbox_status text, daily_limit integer, n integer,
                 last timestamptz, replied boolean, suppression text, message_row_id uuid)
  LANGUAGE plpgsql VOLATILE SECURITY INVOKER
  SET search_path = pg_catalog, public
AS $$
DECLARE
  v_enrollment_status text;
  v_campaign_status text;
  v_status text;
  v_limit integer;
  v_gap integer;
  v_n integer;
  v_last timestamptz;
  v_replied boolean;
  v_suppression text;
  v_id uuid;
BEGIN
  SELECT e.status, c.status INTO v_enrollment_status, v_campaign_status
  FROM outreach.campaign_enrollments e
  JOIN outreach.campaigns c ON c.organisation_id = e.organisation_id AND c.id = e.campaign_id
  WHERE e.id = p_enrollment
  FOR UPDATE OF e;
  SELECT mb.status, mb.daily_limit, mb.min_gap_seconds INTO v_status, v_limit, v_gap
  FROM outreach.mailboxes mb WHERE mb.id = p_mailbox FOR NO KEY UPDATE;
  -- The sent_at condition only bounds the scan to the mailbox's recent messages (index on
  -- organisation_id, mailbox_id, sent_at) instead of its whole history: a queued message has no
  -- sent_at, and a sent or bounced one was sent after it was created, so every message created
  -- since the start of the day or within the minimum gap passes it (a day of margin for clock
  -- differences between workers).
  SELECT count(*) FILTER (WHERE m.created_at >= p_day_start AND m.created_at < p_day_end)::int, max(m.created_at)
    INTO v_n, v_last
  FROM outreach.messages m
  WHERE m.mailbox_id = p_mailbox AND m.direction = 'outbound' AND m.status IN ('queued', 'sent', 'bounced')
    AND (m.sent_at IS NULL
         OR m.sent_at >= least(p_day_start, p_now - make_interval(secs => v_gap)) - interval '1 day');
  v_replied := p_exit_on_reply AND EXISTS (
    SELECT 1 FROM outreach.messages r WHERE r.enrollment_id = p_enrollment AND r.direction = 'inbound' AND r.inbound_kind = 'reply');
  SELECT su.reason INTO v_suppression FROM outreach.suppressions su
  WHERE su.email = p_to OR su.domain = split_part(p_to::text, '@', 2)::citext LIMIT 1;
  IF (v_enrollment_status = 'active' OR (v_enrollment_status = 'replied' AND NOT p_exit_on_reply))
     AND v_campaign_status = 'active' AND v_status = 'active' AND NOT v_replied AND v_suppression IS NULL AND v_n < v_limit
     AND (v_gap = 0 OR v_last IS NULL OR v_last + make_interval(secs => v_gap) <= p_now) THEN
    INSERT INTO outreach.messages (enrollment_id, step_id, variant_id, mailbox_id, direction, status, message_id_header,
      in_reply_to, references_headers, from_address, to_address, subject, body_text, body_html, unsubscribe_token, created_at)
    VALUES (p_enrollment, p_step, p_variant, p_mailbox, 'outbound', 'queued', p_message_id_header, p_in_reply_to,
      p_references, p_from, p_to, p_subject, p_body_text, p_body_html, p_unsubscribe_token, p_now)
    ON CONFLICT DO NOTHING
    RETURNING outreach.messages.id INTO v_id;
    IF v_id IS NOT NULL AND p_pixel_token IS NOT NULL THEN
      INSERT INTO tracking.pixels (message_id, token) VALUES (v_id, p_pixel_token);
    END IF;
    IF v_id IS NOT NULL AND p_store_assignment THEN
      INSERT INTO outreach.enrollment_step_variant_assignments (enrollment_id, step_id, variant_id)
      VALUES (p_enrollment, p_step, p_variant)
      ON CONFLICT (organisation_id, enrollment_id, step_id) DO NOTHING;
    END IF;
  END IF;
  RETURN QUERY SELECT v_enrollment_status, v_campaign_status, v_status, v_limit, v_n, v_last, v_replied, v_suppression, v_id;
END;
$$;
