-- Undo of 1001: mailboxes in error are not read again (0840's definition).
CREATE OR REPLACE FUNCTION app.mailboxes_to_poll()
  RETURNS TABLE (organisation_id uuid, id uuid, credentials_version integer)
  LANGUAGE sql STABLE SECURITY DEFINER
  SET search_path = pg_catalog
AS $$
  SELECT m.organisation_id, m.id, m.credentials_version FROM outreach.mailboxes m
  WHERE m.provider <> 'relay' AND m.verification_status = 'verified' AND m.status IN ('active', 'paused')
  ORDER BY m.organisation_id, m.id
$$;
