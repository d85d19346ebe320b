ALTER TABLE outreach.mailboxes NO FORCE ROW LEVEL SECURITY;
ALTER TABLE outreach.tasks NO FORCE ROW LEVEL SECURITY;
REVOKE EXECUTE ON FUNCTION app.mailboxes_to_poll() FROM prospectflow_worker;
DROP FUNCTION IF EXISTS app.mailboxes_to_poll();
REVOKE SELECT (organisation_id, id, provider, verification_status, status, credentials_version) ON outreach.mailboxes FROM prospectflow_system;
DELETE FROM outreach.tasks WHERE type = 'verify_mailbox';
ALTER TABLE outreach.tasks DROP CONSTRAINT tasks_type_check;
ALTER TABLE outreach.tasks ADD CONSTRAINT tasks_type_check CHECK (type IN ('schedule_enrollment', 'send_step', 'noop'));
DROP INDEX IF EXISTS outreach.enrollments_org_mailbox_idx;
ALTER TABLE outreach.campaign_enrollments DROP COLUMN IF EXISTS mailbox_id;
DROP TABLE IF EXISTS outreach.campaign_mailboxes;
DROP TABLE IF EXISTS outreach.mailbox_sync_states;
DROP TABLE IF EXISTS outreach.sending_domains;
UPDATE outreach.mailboxes SET status = 'paused' WHERE status = 'error';
ALTER TABLE outreach.mailboxes DROP CONSTRAINT mailboxes_status_check;
ALTER TABLE outreach.mailboxes ADD CONSTRAINT mailboxes_status_check CHECK (status IN ('active', 'paused', 'disabled'));
ALTER TABLE outreach.mailboxes
  DROP CONSTRAINT mailboxes_verified_at,
  DROP CONSTRAINT mailboxes_connection_complete,
  DROP CONSTRAINT mailboxes_secret_complete,
  DROP COLUMN last_error_code,
  DROP COLUMN verified_at,
  DROP COLUMN verification,
  DROP COLUMN verification_status,
  DROP COLUMN credentials_version,
  DROP COLUMN secret_key_id,
  DROP COLUMN secret_wrapped_key,
  DROP COLUMN secret_ciphertext,
  DROP COLUMN imap_user,
  DROP COLUMN imap_security,
  DROP COLUMN imap_port,
  DROP COLUMN imap_host,
  DROP COLUMN smtp_user,
  DROP COLUMN smtp_security,
  DROP COLUMN smtp_port,
  DROP COLUMN smtp_host,
  DROP COLUMN provider;
ALTER TABLE outreach.mailboxes FORCE ROW LEVEL SECURITY;
ALTER TABLE outreach.tasks FORCE ROW LEVEL SECURITY;
