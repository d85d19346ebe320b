-- One AFTER INSERT trigger on outreach.messages instead of two (issue 16, worker-smtp).
--
-- Every reservation's INSERT fired two plpgsql row triggers: messages_outbound_sender_proved
-- (BEFORE, 0900: a queued outbound message must come from a verified mailbox of the organisation,
-- and a relay mailbox's domain must be proved) and mailbox_day_count_insert (AFTER, 0970: +1 on the
-- mailbox's day counts). Measured on worker-smtp 2000 16 2, PG 15.20, alternated three times in the
-- bench database: PostgreSQL's CPU per message 2.35 / 2.54, 2.10 / 2.85, 2.85 / 2.56 ms with the
-- two triggers; 1.93 / 1.80, 2.58 / 2.62, 1.98 / 2.00 ms with this one (with neither: 1.99 / 1.99,
-- 1.79 / 1.88, 2.21 / 2.17 ms, alternated with 2.72 / 2.42, 2.36 / 2.65, 2.27 / 2.25 — so nearly
-- all the triggers' cost was their being two, not their queries). app.outbound_message_inserted
-- does both, in the same order of facts:
--   * a queued outbound message from an unproved sender raises sender_not_proved (check_violation)
--     exactly as before, so the insert fails; the check now runs after the row is written (an AFTER
--     trigger's error aborts the statement all the same) and therefore only for rows actually
--     inserted: an INSERT … ON CONFLICT DO NOTHING that inserts nothing no longer checks its sender
--     (nothing is written, nothing can go out), and a row failing a foreign key reports that first;
--   * an outbound message inserted as queued/sent/bounced with a mailbox adds 1 to the mailbox's
--     day-count rows that cover its created_at, as mailbox_day_count_insert did (the reservation
--     holds the mailbox lock; other writers are rare, as in 0970).
-- app.mailbox_day_count keeps the UPDATE path (trigger mailbox_day_count_update); its INSERT branch
-- is no longer reached. app.outbound_sender_proved stays for the undo.

CREATE FUNCTION app.outbound_message_inserted() RETURNS trigger
  LANGUAGE plpgsql SECURITY INVOKER
  SET search_path = pg_catalog, public
AS $$
BEGIN
  IF NEW.status = 'queued' AND NOT EXISTS (
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
  IF NEW.mailbox_id IS NOT NULL THEN
    UPDATE outreach.mailbox_day_counts AS c
    SET reserved = c.reserved + 1, last_at = greatest(c.last_at, NEW.created_at)
    WHERE c.organisation_id = NEW.organisation_id AND c.mailbox_id = NEW.mailbox_id
      AND c.day_start <= NEW.created_at AND c.day_start > NEW.created_at - interval '2 days'
      AND c.day_end > NEW.created_at;
  END IF;
  RETURN NULL;
END;
$$;
DROP TRIGGER messages_outbound_sender_proved ON outreach.messages;
DROP TRIGGER mailbox_day_count_insert ON outreach.messages;
CREATE TRIGGER messages_outbound_inserted AFTER INSERT ON outreach.messages
  FOR EACH ROW WHEN (NEW.direction = 'outbound' AND (NEW.status = 'queued'
                     OR (NEW.mailbox_id IS NOT NULL AND NEW.status IN ('sent', 'bounced'))))
  EXECUTE FUNCTION app.outbound_message_inserted();
REVOKE ALL ON FUNCTION app.outbound_message_inserted() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.outbound_message_inserted() TO prospectflow_app, prospectflow_system, prospectflow_worker;
