DROP FUNCTION IF EXISTS app.record_sents(jsonb);
DROP FUNCTION IF EXISTS app.send_step_states(jsonb);
