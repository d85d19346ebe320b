-- 0990 moved the sender rule into app.outbound_message_inserted and left the old trigger function
-- unused: drop it, so the catalogue states the rule once. The undo restores 0900's function.
DROP FUNCTION app.outbound_sender_proved();
