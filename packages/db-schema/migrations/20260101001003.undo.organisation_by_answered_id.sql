-- Undo of 1003: the newest named message decides (0300's definition).
CREATE OR REPLACE FUNCTION app.organisation_for_message_ids(p_message_ids text[])
 RETURNS uuid
 LANGUAGE sql
 STABLE SECURITY DEFINER
 SET search_path TO 'pg_catalog'
AS $function$
  SELECT organisation_id FROM outreach.messages
  WHERE message_id_header = ANY (p_message_ids) AND direction = 'outbound'
  ORDER BY created_at DESC LIMIT 1
$function$;
