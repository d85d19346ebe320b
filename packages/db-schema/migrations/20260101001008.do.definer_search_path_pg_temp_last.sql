-- SECURITY DEFINER functions pinned `search_path = pg_catalog` without naming pg_temp. PostgreSQL
-- then searches pg_temp FIRST for relations and types, so a runtime role (which may create temp
-- objects: imports stage in temp tables) could shadow a type the function resolves at run time:
-- `CREATE DOMAIN pg_temp.uuid AS pg_catalog.uuid CHECK (pg_temp.f(VALUE))` made
-- app.organisation_for_mailbox_address run prospectflow_app's own function f as
-- prospectflow_system (BYPASSRLS), with no organisation in context. Naming pg_temp last, as the
-- PostgreSQL manual prescribes for SECURITY DEFINER, closes it; the validation check
-- 'security-definer-search-path' keeps every future one that way.
ALTER FUNCTION app.claim_import_tasks(text, integer, integer, integer, timestamptz) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION app.claim_tasks(text, integer, integer, timestamptz) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION app.complete_tasks(text, uuid[], uuid[], timestamptz) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION app.heartbeat_tasks(text, uuid[], integer) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION app.mailboxes_to_poll() SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION app.organisation_for_mailbox_address(public.citext) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION app.organisation_for_message_ids(text[]) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION app.organisation_for_pixel_token(text) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION app.organisation_for_unsubscribe_token(text) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION app.organisations_with_sealed_secrets(text) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION app.outbound_message_ids_to(text[], uuid) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION app.position_id_for_email(public.citext) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION app.requeue_expired_tasks() SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION app.suppression_reason(public.citext) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION app.task_queue_stats(timestamptz) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION app.user_invitations(uuid) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION app.user_memberships(uuid) SET search_path = pg_catalog, pg_temp;
