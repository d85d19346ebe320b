DROP FUNCTION IF EXISTS app.organisations_with_sealed_secrets(text);
REVOKE SELECT (organisation_id, dkim_key_id) ON outreach.sending_domains FROM prospectflow_system;
REVOKE SELECT (secret_key_id) ON outreach.mailboxes FROM prospectflow_system;
