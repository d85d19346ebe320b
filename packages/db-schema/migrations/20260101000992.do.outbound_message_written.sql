-- One trigger function for the outbound rules of outreach.messages (issue 15's "one definition per
-- rule"; duplicates listed the day count's "+1" twice since 0990).
--
-- 0990 gave inserts their own function, app.outbound_message_inserted (sender proved, then +1 on
-- the mailbox's day counts), and left updates to app.mailbox_day_count (0970: −1 for the row as it
-- was, +1 for the row as it is). The "+1" statement stood in both. app.outbound_message_written
-- serves both triggers: on INSERT it checks the sender, then both operations go through the same
-- was/counted bookkeeping (an insert was never counted). Still one trigger call per insert, as in
-- 0990; same facts, same errors, same locks:
--   * a queued outbound message from an unproved sender raises sender_not_proved (check_violation);
--   * an update takes the mailbox row lock before touching the day counts (the reservation, which
--     inserts, holds it already);
--   * the triggers' WHEN clauses are unchanged, so the function runs for the same rows.
CREATE FUNCTION app.outbound_message_written() RETURNS trigger
  LANGUAGE plpgsql SECURITY INVOKER
  SET search_path = pg_catalog, public
AS $$
DECLARE
  was boolean := TG_OP = 'UPDATE' AND OLD.direction = 'outbound' AND OLD.mailbox_id IS NOT NULL
                 AND OLD.status IN ('queued', 'sent', 'bounced');
  counted boolean := NEW.direction = 'outbound' AND NEW.mailbox_id IS NOT NULL AND NEW.status IN ('queued', 'sent', 'bounced');
BEGIN
  IF TG_OP = 'INSERT' AND NEW.status = 'queued' AND NOT EXISTS (
    SELECT 1 FROM outreach.mailboxes mb
    WHERE mb.organisation_id = NEW.organisation_id AND mb.id = NEW.mailbox_id
      AND mb.verification_status = 'verified' AND mb.from_address = NEW.from_address
      AND (mb.provider <> 'relay' OR EXISTS (
        SELECT 1 FROM outreach.sending_domains d
        WHERE d.organisation_id = mb.organisation_id AND d.verified_at IS NOT NULL
          AND d.domain = split_part(mb.from_address::text, '@', 2)::citext))
  ) THEN
    RAISE EXCEPTION 'sender_not_proved: % is not a verified mailbox of this organisation', NEW.from_address
      USING ERRCODE = 'check_violation';
  END IF;
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
REVOKE ALL ON FUNCTION app.outbound_message_written() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.outbound_message_written() TO prospectflow_app, prospectflow_system, prospectflow_worker;

-- CREATE OR REPLACE TRIGGER keeps each trigger's name, events and WHEN clause; only the function changes.
CREATE OR REPLACE TRIGGER messages_outbound_inserted AFTER INSERT ON outreach.messages
  FOR EACH ROW WHEN (NEW.direction = 'outbound' AND (NEW.status = 'queued'
                     OR (NEW.mailbox_id IS NOT NULL AND NEW.status IN ('sent', 'bounced'))))
  EXECUTE FUNCTION app.outbound_message_written();
CREATE OR REPLACE TRIGGER mailbox_day_count_update
  AFTER UPDATE OF status, mailbox_id, created_at, direction ON outreach.messages
  FOR EACH ROW WHEN (
    (OLD.direction = 'outbound' AND OLD.mailbox_id IS NOT NULL AND OLD.status IN ('queued', 'sent', 'bounced'))
      IS DISTINCT FROM
    (NEW.direction = 'outbound' AND NEW.mailbox_id IS NOT NULL AND NEW.status IN ('queued', 'sent', 'bounced'))
    OR (NEW.direction = 'outbound' AND NEW.mailbox_id IS NOT NULL AND NEW.status IN ('queued', 'sent', 'bounced')
        AND (OLD.mailbox_id IS DISTINCT FROM NEW.mailbox_id OR OLD.created_at IS DISTINCT FROM NEW.created_at)))
  EXECUTE FUNCTION app.outbound_message_written();
DROP FUNCTION app.outbound_message_inserted();
DROP FUNCTION app.mailbox_day_count();
