-- Back to the pinned search_path without pg_temp (the shadowing hazard 1008 closed).
ALTER FUNCTION app.claim_import_tasks(text, integer, integer, integer, timestamptz) SET search_path = pg_catalog;
ALTER FUNCTION app.claim_tasks(text, integer, integer, timestamptz) SET search_path = pg_catalog;
ALTER FUNCTION app.complete_tasks(text, uuid[], uuid[], timestamptz) SET search_path = pg_catalog;
ALTER FUNCTION app.heartbeat_tasks(text, uuid[], integer) SET search_path = pg_catalog;
ALTER FUNCTION app.mailboxes_to_poll() SET search_path = pg_catalog;
ALTER FUNCTION app.organisation_for_mailbox_address(public.citext) SET search_path = pg_catalog;
ALTER FUNCTION app.organisation_for_message_ids(text[]) SET search_path = pg_catalog;
ALTER FUNCTION app.organisation_for_pixel_token(text) SET search_path = pg_catalog;
ALTER FUNCTION app.organisation_for_unsubscribe_token(text) SET search_path = pg_catalog;
ALTER FUNCTION app.organisations_with_sealed_secrets(text) SET search_path = pg_catalog;
ALTER FUNCTION app.outbound_message_ids_to(text[], uuid) SET search_path = pg_catalog;
ALTER FUNCTION app.position_id_for_email(public.citext) SET search_path = pg_catalog;
ALTER FUNCTION app.requeue_expired_tasks() SET search_path = pg_catalog;
ALTER FUNCTION app.suppression_reason(public.citext) SET search_path = pg_catalog;
ALTER FUNCTION app.task_queue_stats(timestamptz) SET search_path = pg_catalog;
ALTER FUNCTION app.user_invitations(uuid) SET search_path = pg_catalog;
ALTER FUNCTION app.user_memberships(uuid) SET search_path = pg_catalog;
