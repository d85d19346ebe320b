-- Reservations of several organisations in one statement (issue 16, worker-smtp): as
-- app.send_step_states and app.record_sents (0890) do for the state reads and the sent-recordings.
-- Each call runs app.reserve_outbound_message exactly as before — SECURITY INVOKER, as the calling
-- role, under RLS — with its own organisation set as the transaction's app.organisation_id right
-- before it, and no organisation at all once the batch is done; a call carrying the wrong
-- organisation reserves nothing (RLS hides the enrollment and the mailbox). Calls run in mailbox,
-- then enrollment order, the lock order of the per-organisation batches, so concurrent batches
-- take the mailbox and enrollment locks in one order. The worker retries the calls of a failed
-- batch one by one (KeyedBatcher), so one organisation's failing reservation fails no other's.
-- Measured on worker-smtp 2000 16 3 (docs/benchmarks.md): one statement and one commit for the
-- reservations of all slots that wait at the same time, instead of one per organisation.
CREATE FUNCTION app.reserve_outbound_messages(p_calls jsonb)
  RETURNS TABLE (batch_index integer, enrollment_status text, campaign_status text, mailbox_status text, daily_limit integer,
                 n integer, last timestamptz, replied boolean, suppression text, message_row_id uuid)
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
  FOR c IN
    SELECT * FROM jsonb_to_recordset(p_calls) AS x(i integer, organisation uuid, enrollment uuid, step uuid, variant uuid,
      mailbox uuid, message_id_header text, in_reply_to text, "references" text[], "from" citext, "to" citext, subject text,
      body_text text, body_html text, unsubscribe_token text, now timestamptz, pixel_token text, day_start timestamptz,
      day_end timestamptz, exit_on_reply boolean, store_assignment boolean)
    ORDER BY x.mailbox, x.enrollment
  LOOP
    PERFORM set_config('app.organisation_id', c.organisation::text, true);
    RETURN QUERY SELECT c.i, r.* FROM app.reserve_outbound_message(c.enrollment, c.step, c.variant, c.mailbox,
      c.message_id_header, c.in_reply_to, c."references", c."from", c."to", c.subject, c.body_text, c.body_html,
      c.unsubscribe_token, c.now, c.pixel_token, c.day_start, c.day_end, c.exit_on_reply, c.store_assignment) AS r;
  END LOOP;
  PERFORM set_config('app.organisation_id', '', true);
END;
$$;
REVOKE ALL ON FUNCTION app.reserve_outbound_messages(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.reserve_outbound_messages(jsonb) TO prospectflow_worker;
