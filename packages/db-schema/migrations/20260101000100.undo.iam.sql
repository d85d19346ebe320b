DROP FUNCTION IF EXISTS app.user_memberships(uuid);
DROP TABLE IF EXISTS iam.audit_log CASCADE;
DROP TABLE IF EXISTS iam.organisation_users CASCADE;
DROP FUNCTION IF EXISTS app.audit_row_change();
DROP TABLE IF EXISTS iam.users CASCADE;
DROP TABLE IF EXISTS iam.organisations CASCADE;
