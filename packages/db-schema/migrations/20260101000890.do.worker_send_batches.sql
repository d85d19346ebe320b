-- Fewer statements per send (issue 16): the send path's state reads and sent-recordings of
-- several organisations in one statement. Each call still runs exactly as before — the same
-- SECURITY INVOKER function, as the calling role, under RLS — with its own organisation set as the
-- transaction's app.organisation_id right before it (the value the tenant guard reads), and no
-- organisation at all once the batch is done. The organisation travels with each call; a call
-- carrying the wrong one finds no rows (RLS), it cannot reach another tenant's.
-- Reservations stay per organisation (the slot waits for them; one shared batch would queue every
-- slot behind the statement on the wire).

-- app.send_step_state for each call, unlocked (the fast path's read), rows tagged with the call's i.
CREATE FUNCTION app.send_step_states(p_calls jsonb)
  RETURNS TABLE (batch_index integer, id uuid, status text, position_id uuid, campaign_id uuid, campaign_status text,
                 mailbox_id uuid, tracking_enabled boolean, step jsonb, existing jsonb, replied boolean, mailbox jsonb,
                 target jsonb, suppression text, experiment jsonb, previous jsonb, next_step jsonb)
  LANGUAGE plpgsql VOLATILE SECURITY INVOKER
  SET search_path = pg_catalog, public
AS $$
#variable_conflict use_column
DECLARE
  c record;
BEGIN
  -- As the tenant-context settings statement: no session-level value survives, no user.
  PERFORM set_config('app.organisation_id', '', false), set_config('app.user_id', '', false),
          set_config('app.user_id', '', true);
  FOR c IN SELECT * FROM jsonb_to_recordset(p_calls) AS x(i integer, organisation uuid, enrollment uuid, step uuid) LOOP
    PERFORM set_config('app.organisation_id', c.organisation::text, true);
    RETURN QUERY SELECT c.i, s.* FROM app.send_step_state(c.enrollment, c.step, false) AS s;
  END LOOP;
  PERFORM set_config('app.organisation_id', '', true);
END;
$$;

-- app.record_sent for each call, in the lock order of the per-organisation batch (the daily stat
-- row of (campaign, variant), then the enrollment); returns each call's 1 (recorded) or 0 (lease lost).
CREATE FUNCTION app.record_sents(p_calls jsonb)
  RETURNS TABLE (batch_index integer, completed integer)
  LANGUAGE plpgsql VOLATILE SECURITY INVOKER
  SET search_path = pg_catalog, public
AS $$
#variable_conflict use_column
DECLARE
  c record;
BEGIN
  PERFORM set_config('app.organisation_id', '', false), set_config('app.user_id', '', false),
          set_config('app.user_id', '', true);
  FOR c IN
    SELECT * FROM jsonb_to_recordset(p_calls) AS x(i integer, organisation uuid, task uuid, worker text,
      now timestamptz, message uuid, response text, campaign uuid, variant uuid, enrollment uuid, step_order integer,
      next_step uuid, run_at timestamptz, priority smallint, dedupe_key text)
    ORDER BY x.campaign, x.variant NULLS FIRST, x.enrollment
  LOOP
    PERFORM set_config('app.organisation_id', c.organisation::text, true);
    batch_index := c.i;
    completed := app.record_sent(c.organisation, c.task, c.worker, c.now, c.message, c.response, c.campaign,
      c.variant, c.enrollment, c.step_order, c.next_step, c.run_at, c.priority, c.dedupe_key);
    RETURN NEXT;
  END LOOP;
  PERFORM set_config('app.organisation_id', '', true);
END;
$$;

REVOKE ALL ON FUNCTION app.send_step_states(jsonb), app.record_sents(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.send_step_states(jsonb), app.record_sents(jsonb) TO prospectflow_worker;
