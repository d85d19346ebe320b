-- Undo of 0999: the webhook finds the organisation by Message-IDs only again.
DROP FUNCTION app.organisation_for_mailbox_address(public.citext);
REVOKE SELECT (from_address) ON outreach.mailboxes FROM prospectflow_system;
DROP INDEX outreach.mailboxes_from_address_lookup_idx;
