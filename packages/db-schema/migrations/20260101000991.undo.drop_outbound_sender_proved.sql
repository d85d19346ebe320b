-- Undo of 0991: 0900's trigger function again (0990's undo attaches it to its trigger).
CREATE FUNCTION app.outbound_sender_proved()
  RETURNS trigger
  LANGUAGE plpgsql SECURITY INVOKER
  SET search_path = pg_catalog, public
AS $$
BEGIN
  IF NOT EXISTS (
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
  RETURN NEW;
END;
$$;
