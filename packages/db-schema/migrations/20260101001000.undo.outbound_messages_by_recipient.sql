-- Undo of 1000: inbound mail naming none of our ids is matched by reading the messages again.
DROP FUNCTION app.outbound_message_ids_to(text[], uuid);
REVOKE SELECT (id, mailbox_id, to_address) ON outreach.messages FROM prospectflow_system;
DROP INDEX outreach.messages_org_outbound_recipient_idx;
