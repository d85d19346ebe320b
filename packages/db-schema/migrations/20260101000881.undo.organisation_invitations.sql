DROP FUNCTION app.user_invitations(uuid);
REVOKE SELECT (id, email, email_verified) ON iam.users FROM prospectflow_system;
DROP TABLE iam.organisation_invitations;
