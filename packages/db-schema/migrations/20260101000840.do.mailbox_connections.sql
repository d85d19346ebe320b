-- Connected mailboxes (issue 16): each mailbox sends and reads through its own account (SMTP +
-- IMAP with a password, or Google/Microsoft OAuth), or through the platform relay for a domain
-- the organisation proved in DNS. Secrets are stored sealed (envelope encryption, see
-- @prospectflow/secrets): ciphertext, wrapped data key and key id, never in clear.

-- Adding CHECKs and FKs validates existing rows: forced RLS would need a tenant for those reads.
ALTER TABLE outreach.mailboxes NO FORCE ROW LEVEL SECURITY;
ALTER TABLE outreach.tasks NO FORCE ROW LEVEL SECURITY;
ALTER TABLE outreach.campaign_enrollments NO FORCE ROW LEVEL SECURITY;

ALTER TABLE outreach.mailboxes
  ADD COLUMN provider text NOT NULL DEFAULT 'relay'
    CHECK (provider IN ('relay', 'smtp_imap', 'google', 'microsoft')),
  ADD COLUMN smtp_host text CHECK (smtp_host ~ '^[A-Za-z0-9.:_\[\]-]{1,253}$'),
  ADD COLUMN smtp_port integer CHECK (smtp_port BETWEEN 1 AND 65535),
  ADD COLUMN smtp_security text CHECK (smtp_security IN ('tls', 'starttls', 'none')),
  ADD COLUMN smtp_user text CHECK (length(smtp_user) BETWEEN 1 AND 320),
  ADD COLUMN imap_host text CHECK (imap_host ~ '^[A-Za-z0-9.:_\[\]-]{1,253}$'),
  ADD COLUMN imap_port integer CHECK (imap_port BETWEEN 1 AND 65535),
  ADD COLUMN imap_security text CHECK (imap_security IN ('tls', 'starttls', 'none')),
  ADD COLUMN imap_user text CHECK (length(imap_user) BETWEEN 1 AND 320),
  -- {smtpPassword, imapPassword} or {refreshToken}, sealed under a data key bound to (organisation, mailbox).
  ADD COLUMN secret_ciphertext bytea,
  ADD COLUMN secret_wrapped_key bytea,
  ADD COLUMN secret_key_id text,
  -- Bumped on every change of connection settings or secrets: pooled transports keyed by it are rebuilt.
  ADD COLUMN credentials_version integer NOT NULL DEFAULT 1 CHECK (credentials_version >= 1),
  ADD COLUMN verification_status text NOT NULL DEFAULT 'unverified'
    CHECK (verification_status IN ('unverified', 'verifying', 'verified', 'failed')),
  -- Per step (smtp, imap, roundtrip): {ok, at, kind, answer} — the server's answer, never a secret.
  ADD COLUMN verification jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(verification) = 'object'),
  ADD COLUMN verified_at timestamptz,
  ADD COLUMN last_error_code text,
  ADD CONSTRAINT mailboxes_secret_complete CHECK (num_nulls(secret_ciphertext, secret_wrapped_key, secret_key_id) IN (0, 3)),
  ADD CONSTRAINT mailboxes_connection_complete CHECK (
    provider = 'relay'
    OR (smtp_host IS NOT NULL AND smtp_port IS NOT NULL AND smtp_security IS NOT NULL AND smtp_user IS NOT NULL
        AND imap_host IS NOT NULL AND imap_port IS NOT NULL AND imap_security IS NOT NULL AND imap_user IS NOT NULL
        AND secret_ciphertext IS NOT NULL)),
  ADD CONSTRAINT mailboxes_verified_at CHECK ((verification_status = 'verified') = (verified_at IS NOT NULL));
-- 'error': the provider refused our credentials while sending (5xx at AUTH); its sends wait for a fix.
ALTER TABLE outreach.mailboxes DROP CONSTRAINT mailboxes_status_check;
ALTER TABLE outreach.mailboxes ADD CONSTRAINT mailboxes_status_check
  CHECK (status IN ('active', 'paused', 'disabled', 'error'));

-- Domains an organisation proved it controls (DNS TXT _prospectflow.<domain>), with the DKIM key
-- the platform relay signs with. Only such domains may send through the relay.
CREATE TABLE outreach.sending_domains (
  organisation_id   uuid NOT NULL DEFAULT app.current_organisation_id() REFERENCES iam.organisations (id) ON DELETE CASCADE,
  id                uuid NOT NULL DEFAULT gen_random_uuid(),
  domain            citext NOT NULL CHECK (domain ~ '^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$'),
  proof_token       text NOT NULL CHECK (proof_token ~ '^[0-9a-f]{32}$'),
  verified_at       timestamptz,
  last_checked_at   timestamptz,
  last_error        text,
  dkim_selector     text NOT NULL CHECK (dkim_selector ~ '^[a-z0-9-]{1,63}$'),
  dkim_public_key   text NOT NULL,
  dkim_ciphertext   bytea NOT NULL,
  dkim_wrapped_key  bytea NOT NULL,
  dkim_key_id       text NOT NULL,
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organisation_id, id),
  UNIQUE (organisation_id, domain)
);
SELECT app.register_tenant_table('outreach.sending_domains');

-- The IMAP poller's checkpoint per mailbox and folder: nothing read twice or missed across restarts.
CREATE TABLE outreach.mailbox_sync_states (
  organisation_id  uuid NOT NULL DEFAULT app.current_organisation_id() REFERENCES iam.organisations (id) ON DELETE CASCADE,
  id               uuid NOT NULL DEFAULT gen_random_uuid(),
  mailbox_id       uuid NOT NULL,
  folder           text NOT NULL CHECK (length(folder) BETWEEN 1 AND 200),
  uid_validity     bigint NOT NULL CHECK (uid_validity > 0),
  last_uid         bigint NOT NULL DEFAULT 0 CHECK (last_uid >= 0),
  last_polled_at   timestamptz,
  last_error       text,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organisation_id, id),
  UNIQUE (organisation_id, mailbox_id, folder),
  FOREIGN KEY (organisation_id, mailbox_id) REFERENCES outreach.mailboxes (organisation_id, id) ON DELETE CASCADE
);
SELECT app.register_tenant_table('outreach.mailbox_sync_states');

-- A campaign may send from several mailboxes (round-robin); an enrollment stays on the mailbox
-- that sent its first step so the thread stays intact.
CREATE TABLE outreach.campaign_mailboxes (
  organisation_id  uuid NOT NULL DEFAULT app.current_organisation_id() REFERENCES iam.organisations (id) ON DELETE CASCADE,
  id               uuid NOT NULL DEFAULT gen_random_uuid(),
  campaign_id      uuid NOT NULL,
  mailbox_id       uuid NOT NULL,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organisation_id, id),
  UNIQUE (organisation_id, campaign_id, mailbox_id),
  FOREIGN KEY (organisation_id, campaign_id) REFERENCES outreach.campaigns (organisation_id, id) ON DELETE CASCADE,
  FOREIGN KEY (organisation_id, mailbox_id) REFERENCES outreach.mailboxes (organisation_id, id) ON DELETE RESTRICT
);
CREATE INDEX campaign_mailboxes_org_mailbox_idx ON outreach.campaign_mailboxes (organisation_id, mailbox_id);
SELECT app.register_tenant_table('outreach.campaign_mailboxes');

ALTER TABLE outreach.campaign_enrollments ADD COLUMN mailbox_id uuid,
  ADD FOREIGN KEY (organisation_id, mailbox_id) REFERENCES outreach.mailboxes (organisation_id, id) ON DELETE RESTRICT;
CREATE INDEX enrollments_org_mailbox_idx ON outreach.campaign_enrollments (organisation_id, mailbox_id);

-- The IMAP poller's one narrow path across organisations: which mailboxes to read.
CREATE FUNCTION app.mailboxes_to_poll()
  RETURNS TABLE (organisation_id uuid, id uuid, credentials_version integer)
  LANGUAGE sql STABLE SECURITY DEFINER
  SET search_path = pg_catalog
AS $$
  SELECT m.organisation_id, m.id, m.credentials_version FROM outreach.mailboxes m
  WHERE m.provider <> 'relay' AND m.verification_status = 'verified' AND m.status IN ('active', 'paused')
  ORDER BY m.organisation_id, m.id
$$;

ALTER TABLE outreach.tasks DROP CONSTRAINT tasks_type_check;
ALTER TABLE outreach.tasks ADD CONSTRAINT tasks_type_check
  CHECK (type IN ('schedule_enrollment', 'send_step', 'noop', 'verify_mailbox'));

ALTER TABLE outreach.mailboxes FORCE ROW LEVEL SECURITY;
ALTER TABLE outreach.tasks FORCE ROW LEVEL SECURITY;
ALTER TABLE outreach.campaign_enrollments FORCE ROW LEVEL SECURITY;

GRANT SELECT, INSERT, UPDATE, DELETE ON outreach.sending_domains, outreach.mailbox_sync_states, outreach.campaign_mailboxes
  TO prospectflow_app, prospectflow_worker;
GRANT SELECT ON outreach.sending_domains, outreach.mailbox_sync_states, outreach.campaign_mailboxes TO prospectflow_backup;
GRANT SELECT (organisation_id, id, provider, verification_status, status, credentials_version) ON outreach.mailboxes TO prospectflow_system;
ALTER FUNCTION app.mailboxes_to_poll() OWNER TO prospectflow_system;
REVOKE ALL ON FUNCTION app.mailboxes_to_poll() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.mailboxes_to_poll() TO prospectflow_worker;
