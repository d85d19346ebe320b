-- Mailboxes in error are read too: a reply that arrives while a mailbox cannot send still stops its sequence.
--
-- A mailbox goes to `error` when sending from it fails at the mailbox level (its SMTP login or
-- connection refused, its stored credentials unreadable): its sends wait, but its INBOX may be
-- fine. Left unread, a reply that arrived meanwhile was seen only after the mailbox recovered —
-- and its verification wakes the waiting sends at once, so a follow-up went out before the reply
-- that should have stopped it. Reading it now stops those sequences while the mailbox waits.
-- Connected mailboxes always have IMAP settings and a secret (mailboxes_connection_complete); one
-- whose IMAP login fails too is recorded as a failed poll, as for any other mailbox. Disabled
-- mailboxes are still not read; neither are mailboxes whose verification did not pass.
CREATE OR REPLACE FUNCTION app.mailboxes_to_poll()
  RETURNS TABLE (organisation_id uuid, id uuid, credentials_version integer)
  LANGUAGE sql STABLE SECURITY DEFINER
  SET search_path = pg_catalog
AS $$
  SELECT m.organisation_id, m.id, m.credentials_version FROM outreach.mailboxes m
  WHERE m.provider <> 'relay' AND m.verification_status = 'verified' AND m.status IN ('active', 'paused', 'error')
  ORDER BY m.organisation_id, m.id
$$;
