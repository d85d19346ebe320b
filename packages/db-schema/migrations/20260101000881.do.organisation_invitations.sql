-- Membership by invitation (issue 14 item 2). Adding a member records a pending invitation for an
-- email and a role; it becomes a membership only for a signed-in user whose VERIFIED email is that
-- address (explicit accept, or automatically when the session is loaded). Nothing here says
-- whether the address has an account. Rows are never deleted by the API: revoking and accepting
-- are updates, so the audit trail (audit_invitation) keeps who invited, revoked and accepted.
CREATE TABLE iam.organisation_invitations (
  organisation_id uuid NOT NULL DEFAULT app.current_organisation_id() REFERENCES iam.organisations (id) ON DELETE CASCADE,
  id              uuid NOT NULL DEFAULT gen_random_uuid(),
  email           citext NOT NULL CHECK (length(email) <= 320 AND email ~ '^[^@\s]+@[^@\s]+\.[^@\s]+$'),
  role            text NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'viewer')),
  -- 'expired' is not stored: a pending invitation past expires_at is expired.
  status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'accepted', 'revoked')),
  expires_at      timestamptz NOT NULL,
  invited_by      uuid REFERENCES iam.users (id) ON DELETE SET NULL,
  accepted_by     uuid REFERENCES iam.users (id) ON DELETE SET NULL,
  accepted_at     timestamptz,
  revoked_by      uuid REFERENCES iam.users (id) ON DELETE SET NULL,
  revoked_at      timestamptz,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organisation_id, id),
  CHECK ((status = 'accepted') = (accepted_at IS NOT NULL)),
  CHECK ((status = 'revoked') = (revoked_at IS NOT NULL)),
  CHECK (expires_at > created_at)
);
-- One open invitation per address and organisation (inviting again replaces it).
CREATE UNIQUE INDEX organisation_invitations_one_pending_key
  ON iam.organisation_invitations (organisation_id, email) WHERE status = 'pending';
CREATE INDEX organisation_invitations_org_created_idx
  ON iam.organisation_invitations (organisation_id, created_at DESC, id);
-- Global look-up for app.user_invitations (the invitee has no organisation yet): documented
-- exception to org-first indexes (GLOBAL_LOOKUP_INDEXES).
CREATE INDEX organisation_invitations_email_lookup_idx ON iam.organisation_invitations (email);
SELECT app.register_tenant_table('iam.organisation_invitations');
CREATE TRIGGER audit_invitation AFTER INSERT OR UPDATE OR DELETE ON iam.organisation_invitations
  FOR EACH ROW EXECUTE FUNCTION app.audit_row_change();

GRANT SELECT, INSERT, UPDATE ON iam.organisation_invitations TO prospectflow_app;

-- The invitations addressed to one user's email, across organisations, with whether that email
-- is verified (the caller refuses unverified ones). Narrow: one user's address only, owned by the
-- NOLOGIN system role. citext equality is schema-qualified (search_path is pg_catalog only).
CREATE FUNCTION app.user_invitations(p_user_id uuid)
  RETURNS TABLE (organisation_id uuid, id uuid, role text, status text, expires_at timestamptz,
                 email_verified boolean)
  LANGUAGE sql STABLE SECURITY DEFINER
  SET search_path = pg_catalog
AS $$
  SELECT i.organisation_id, i.id, i.role, i.status, i.expires_at, u.email_verified
  FROM iam.users AS u
  JOIN iam.organisation_invitations AS i ON i.email OPERATOR(public.=) u.email
  WHERE u.id = p_user_id
$$;
GRANT SELECT (organisation_id, id, email, role, status, expires_at) ON iam.organisation_invitations
  TO prospectflow_system;
GRANT SELECT (id, email, email_verified) ON iam.users TO prospectflow_system;
ALTER FUNCTION app.user_invitations(uuid) OWNER TO prospectflow_system;
REVOKE ALL ON FUNCTION app.user_invitations(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.user_invitations(uuid) TO prospectflow_app;
