DROP FUNCTION IF EXISTS app.record_sent(uuid, uuid, text, timestamptz, uuid, text, uuid, uuid, uuid, integer, uuid, timestamptz, smallint, text);
DROP FUNCTION IF EXISTS app.reserve_outbound_message(uuid, uuid, uuid, uuid, text, text, text[], citext, citext, text, text, text, text,
  timestamptz, text, timestamptz, timestamptz, boolean, boolean);
DROP FUNCTION IF EXISTS app.send_step_state(uuid, uuid, boolean);
