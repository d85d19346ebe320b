-- Undo of 0990: the two insert triggers of 0900 and 0970 again.
DROP TRIGGER IF EXISTS messages_outbound_inserted ON outreach.messages;
DROP FUNCTION IF EXISTS app.outbound_message_inserted();
CREATE TRIGGER messages_outbound_sender_proved
  BEFORE INSERT ON outreach.messages
  FOR EACH ROW WHEN (NEW.direction = 'outbound' AND NEW.status = 'queued')
  EXECUTE FUNCTION app.outbound_sender_proved();
CREATE TRIGGER mailbox_day_count_insert AFTER INSERT ON outreach.messages
  FOR EACH ROW WHEN (NEW.direction = 'outbound' AND NEW.mailbox_id IS NOT NULL
                     AND NEW.status IN ('queued', 'sent', 'bounced'))
  EXECUTE FUNCTION app.mailbox_day_count();
