-- app.wake_mailbox_sends (migration 0994) kept the EXECUTE that CREATE FUNCTION gives PUBLIC: every
-- function here is granted to the roles that call it and to no one else (SECURITY INVOKER, so RLS
-- held, but the backup role and any future role could run it). Validation check
-- functions-not-public keeps it so.
REVOKE ALL ON FUNCTION app.wake_mailbox_sends(uuid) FROM PUBLIC;
