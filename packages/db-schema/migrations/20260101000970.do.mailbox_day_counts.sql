-- The daily cap without counting the day's messages on every reservation (issue 16, worker-smtp).
--
-- app.reserve_outbound_message (0730) counted the mailbox's outbound messages of the day under the
-- mailbox row lock on every reservation: a scan of up to daily_limit rows (each through RLS) per
-- send, the largest cost of a send in PostgreSQL (docs/benchmarks.md, worker-smtp). Now:
--
-- outreach.mailbox_day_counts: one row per mailbox and local day [day_start, day_end) as the
-- reservation computes it (the mailbox's time zone): `reserved` = its outbound messages created in
-- that interval with status queued, sent or bounced — exactly what the count counted — and
-- `last_at` = the latest created_at of such a message (for the minimum gap; it may be from the day
-- before). The first reservation of a mailbox's day (or the first after its time zone changed)
-- counts as before and stores the row; every later one reads it. Triggers on outreach.messages
-- keep every row whose interval covers a message's created_at right:
--   * an outbound message inserted as queued/sent/bounced: +1 (the reservation's own INSERT, but
--     also any other writer);
--   * a status, mailbox, created_at or direction change in or out of the counted set: -1 / +1
--     (a reservation given up as failed frees its place in the day, as it did with the count).
--     This path locks the mailbox row first (FOR NO KEY UPDATE, as the reservation does), so it
--     serialises with a reservation that is creating the day's row: that one either counts after
--     this commit or has committed its row before this update reads it — no change is lost.
-- Deleted messages are not subtracted: a message deleted later (erasure) was sent that day, and the
-- provider counted it. (Deletes also cascade from organisations without a tenant context, where a
-- trigger could not update a tenant table.)
-- Every reservation of a mailbox still takes the mailbox row lock first, and only reservations
-- insert outbound messages, so the count read under that lock is exact with several workers.

CREATE TABLE outreach.mailbox_day_counts (
  organisation_id uuid NOT NULL DEFAULT app.current_organisation_id() REFERENCES iam.organisations (id) ON DELETE CASCADE,
  id              uuid NOT NULL DEFAULT gen_random_uuid(),
  mailbox_id      uuid NOT NULL,
  day_start       timestamptz NOT NULL,
  day_end         timestamptz NOT NULL CHECK (day_end > day_start),
  reserved        integer NOT NULL CHECK (reserved >= 0),
  last_at         timestamptz,
  PRIMARY KEY (organisation_id, id),
  CONSTRAINT mailbox_day_counts_key UNIQUE (organisation_id, mailbox_id, day_start, day_end),
  FOREIGN KEY (organisation_id, mailbox_id) REFERENCES outreach.mailboxes (organisation_id, id) ON DELETE CASCADE
);
ALTER TABLE outreach.mailbox_day_counts ENABLE ROW LEVEL SECURITY;
ALTER TABLE outreach.mailbox_day_counts FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON outreach.mailbox_day_counts FOR ALL
  USING (organisation_id = app.current_organisation_id())
  WITH CHECK (organisation_id = app.current_organisation_id());
GRANT SELECT, INSERT, UPDATE, DELETE ON outreach.mailbox_day_counts TO prospectflow_app, prospectflow_worker;
GRANT SELECT ON outreach.mailbox_day_counts TO prospectflow_backup;

-- A message counted (inserted, or moved into the counted set, mailbox or day) adds 1 to every row
-- of its mailbox whose day holds it; one leaving it (or moved away) takes 1 off its former rows.
CREATE FUNCTION app.mailbox_day_count() RETURNS trigger
  LANGUAGE plpgsql SECURITY INVOKER
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  was boolean := TG_OP = 'UPDATE' AND OLD.direction = 'outbound' AND OLD.mailbox_id IS NOT NULL
                 AND OLD.status IN ('queued', 'sent', 'bounced');
  counted boolean := NEW.direction = 'outbound' AND NEW.mailbox_id IS NOT NULL AND NEW.status IN ('queued', 'sent', 'bounced');
BEGIN
  IF TG_OP = 'UPDATE' THEN
    -- The reservation's lock (inserts come from the reservation, which holds it already): a day's
    -- row being created right now is either committed before the updates below read it, or
    -- created after this change commits (and counts it).
    PERFORM 1 FROM outreach.mailboxes AS mb
    WHERE mb.organisation_id = NEW.organisation_id AND mb.id IN (OLD.mailbox_id, NEW.mailbox_id)
    ORDER BY mb.id FOR NO KEY UPDATE;
  END IF;
  IF was THEN
    UPDATE outreach.mailbox_day_counts AS c
    SET reserved = c.reserved - 1,
        last_at = CASE WHEN c.last_at > OLD.created_at THEN c.last_at ELSE (
          SELECT max(m.created_at) FROM outreach.messages AS m
          WHERE m.organisation_id = c.organisation_id AND m.mailbox_id = c.mailbox_id AND m.direction = 'outbound'
            AND m.status IN ('queued', 'sent', 'bounced') AND m.created_at < c.day_end
            AND (m.sent_at IS NULL OR m.sent_at >= c.day_start - interval '1 day')) END
    WHERE c.organisation_id = OLD.organisation_id AND c.mailbox_id = OLD.mailbox_id
      AND c.day_start <= OLD.created_at AND c.day_start > OLD.created_at - interval '2 days'
      AND c.day_end > OLD.created_at;
  END IF;
  IF counted THEN
    UPDATE outreach.mailbox_day_counts AS c
    SET reserved = c.reserved + 1, last_at = greatest(c.last_at, NEW.created_at)
    WHERE c.organisation_id = NEW.organisation_id AND c.mailbox_id = NEW.mailbox_id
      AND c.day_start <= NEW.created_at AND c.day_start > NEW.created_at - interval '2 days'
      AND c.day_end > NEW.created_at;
  END IF;
  RETURN NULL;
END;
$$;
CREATE TRIGGER mailbox_day_count_insert AFTER INSERT ON outreach.messages
  FOR EACH ROW WHEN (NEW.direction = 'outbound' AND NEW.mailbox_id IS NOT NULL
                     AND NEW.status IN ('queued', 'sent', 'bounced'))
  EXECUTE FUNCTION app.mailbox_day_count();
CREATE TRIGGER mailbox_day_count_update AFTER UPDATE OF status, mailbox_id, created_at, direction ON outreach.messages
  FOR EACH ROW WHEN (
    (OLD.direction = 'outbound' AND OLD.mailbox_id IS NOT NULL AND OLD.status IN ('queued', 'sent', 'bounced'))
      IS DISTINCT FROM (NEW.direction = 'outbound' AND NEW.mailbox_id IS NOT NULL AND NEW.status IN ('queued', 'sent', 'bounced'))
    OR ((NEW.direction = 'outbound' AND NEW.mailbox_id IS NOT NULL AND NEW.status IN ('queued', 'sent', 'bounced'))
        AND (OLD.mailbox_id IS DISTINCT FROM NEW.mailbox_id OR OLD.created_at IS DISTINCT FROM NEW.created_at)))
  EXECUTE FUNCTION app.mailbox_day_count();

REVOKE ALL ON FUNCTION app.mailbox_day_count() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.mailbox_day_count() TO prospectflow_app, prospectflow_system, prospectflow_worker;

-- Exit on reply: app.send_step_state and the reservation both ask whether the enrollment has an
-- inbound reply. No index led with (organisation_id, enrollment_id) for inbound rows (the one per
-- step is partial on outbound), so each ask read the organisation's messages through an org-wide
-- index: measured 0.17–0.19 ms for an organisation with 200 messages, and growing with every
-- message it sends. Inbound messages are few; this index holds only them.
CREATE INDEX messages_org_enrollment_inbound_idx ON outreach.messages (organisation_id, enrollment_id)
  WHERE direction = 'inbound';

-- The reservation: as 0730, with the day's count and the latest message read from the mailbox's
-- day row (created, by counting, on the day's first reservation).
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
  v_org uuid;
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
  SELECT mb.organisation_id, mb.status, mb.daily_limit, mb.min_gap_seconds INTO v_org, v_status, v_limit, v_gap
  FROM outreach.mailboxes mb WHERE mb.id = p_mailbox FOR NO KEY UPDATE;
  -- Under the mailbox lock, after every reservation of this mailbox committed before it.
  SELECT d.reserved, d.last_at INTO v_n, v_last
  FROM outreach.mailbox_day_counts d
  WHERE d.organisation_id = v_org AND d.mailbox_id = p_mailbox AND d.day_start = p_day_start AND d.day_end = p_day_end;
  IF NOT FOUND AND v_org IS NOT NULL THEN
    -- The day's first reservation: count as 0730 did. The sent_at condition only bounds the scan to
    -- the mailbox's recent messages (index on organisation_id, mailbox_id, sent_at): a queued
    -- message has no sent_at, and a sent or bounced one was sent after it was created, so every
    -- message created since the start of the day or within the minimum gap passes it (a day of
    -- margin for clock differences between workers).
    SELECT count(*) FILTER (WHERE m.created_at >= p_day_start AND m.created_at < p_day_end)::int, max(m.created_at)
      INTO v_n, v_last
    FROM outreach.messages m
    WHERE m.mailbox_id = p_mailbox AND m.direction = 'outbound' AND m.status IN ('queued', 'sent', 'bounced')
      AND (m.sent_at IS NULL
           OR m.sent_at >= least(p_day_start, p_now - make_interval(secs => v_gap)) - interval '1 day');
    INSERT INTO outreach.mailbox_day_counts (organisation_id, mailbox_id, day_start, day_end, reserved, last_at)
    VALUES (v_org, p_mailbox, p_day_start, p_day_end, v_n, v_last);
    DELETE FROM outreach.mailbox_day_counts d
    WHERE d.organisation_id = v_org AND d.mailbox_id = p_mailbox AND d.day_end < p_day_start - interval '2 days';
  ELSIF v_gap > 0 THEN
    -- The latest message may be from the day before (minimum gap across midnight).
    SELECT greatest(v_last, max(d.last_at)) INTO v_last
    FROM outreach.mailbox_day_counts d
    WHERE d.organisation_id = v_org AND d.mailbox_id = p_mailbox AND d.day_start < p_day_start
      AND d.day_start >= p_day_start - interval '2 days';
  END IF;
  v_n := coalesce(v_n, 0);
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
