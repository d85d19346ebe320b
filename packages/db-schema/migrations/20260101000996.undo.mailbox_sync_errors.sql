-- Undo of 0996: rows holding only an error (no checkpoint) cannot satisfy NOT NULL: removed,
-- organisation by organisation under RLS.
DO $$
DECLARE
  org uuid;
BEGIN
  FOR org IN SELECT id FROM iam.organisations LOOP
    PERFORM set_config('app.organisation_id', org::text, true);
    DELETE FROM outreach.mailbox_sync_states WHERE uid_validity IS NULL;
  END LOOP;
  PERFORM set_config('app.organisation_id', '', true);
END;
$$;
ALTER TABLE outreach.mailbox_sync_states
  ALTER COLUMN uid_validity SET NOT NULL,
  DROP COLUMN last_error_at,
  DROP COLUMN skipped_messages,
  DROP COLUMN last_skip;
