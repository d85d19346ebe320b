-- The organisation of an inbound mail is the one of the message it answers, not of the newest one
-- it names.
--
-- app.organisation_for_message_ids (0300) picked, among the outbound messages a mail names, the one
-- created last. A reply whose In-Reply-To is organisation A's message and whose References also
-- name a newer message of organisation B (a thread that crossed tenants, a forward, a quoted
-- chain) was filed in B: B's enrollment stopped as replied, A's kept sending, and the reply's
-- sender, subject and text were stored in B's data. Callers now pass the ids in the order the mail
-- answers them (In-Reply-To, then References last first: outreach-core's answeredMessageIds, the
-- order applyInbound matches in), and the first of them that is ours decides.
CREATE OR REPLACE FUNCTION app.organisation_for_message_ids(p_message_ids text[])
 RETURNS uuid
 LANGUAGE sql
 STABLE SECURITY DEFINER
 SET search_path TO 'pg_catalog'
AS $function$
  SELECT organisation_id FROM outreach.messages
  WHERE message_id_header = ANY (p_message_ids) AND direction = 'outbound'
  ORDER BY array_position(p_message_ids, message_id_header), created_at DESC LIMIT 1
$function$;
