DROP FUNCTION IF EXISTS app.purge_closed_invitations(timestamptz, integer);
REVOKE SELECT (accepted_at, revoked_at), DELETE ON iam.organisation_invitations FROM prospectflow_system;
REVOKE INSERT ON iam.audit_log FROM prospectflow_system;
DROP INDEX IF EXISTS iam.organisation_invitations_org_closed_idx;
