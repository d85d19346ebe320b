DROP FUNCTION IF EXISTS app.reserve_outbound_messages(jsonb);
