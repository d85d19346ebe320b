-- The worker's send path as three PL/pgSQL functions (plans cached per connection, where the same
-- statements sent from the worker are planned again on every call: planning was ~70% of the read's
-- cost). SECURITY INVOKER: they run as the calling role inside its tenant transaction, so RLS
-- applies to every statement exactly as before. public is on the search path for citext's operators.

-- Everything a send_step task reads, in one call: enrollment, campaign, step, existing outbound
-- message for the step, reply seen, mailbox, recipient, suppression, experiment with stored
-- assignment and variants, previous sent message (threading) and the next step. p_lock: take the
-- enrollment row lock first (serialises the caller's transaction with inbound replies and
-- unsubscribes of the same enrollment); the read after it then sees what they committed.
CREATE FUNCTION app.send_step_state(p_enrollment uuid, p_step uuid, p_lock boolean)
  RETURNS TABLE (id uuid, status text, position_id uuid, campaign_id uuid, campaign_status text, mailbox_id uuid,
                 tracking_enabled boolean, step jsonb, existing jsonb, replied boolean, mailbox jsonb, target jsonb,
                 suppression text, experiment jsonb, previous jsonb, next_step jsonb)
  LANGUAGE plpgsql VOLATILE SECURITY INVOKER
  SET search_path = pg_catalog, public
AS $$
#variable_conflict use_column
BEGIN
  IF p_lock THEN
    PERFORM 1 FROM outreach.campaign_enrollments AS le WHERE le.id = p_enrollment FOR UPDATE;
  END IF;
  RETURN QUERY
  SELECT e.id, e.status, e.position_id, e.campaign_id, c.status, c.mailbox_id, c.tracking_enabled,
    (SELECT to_jsonb(x) FROM (SELECT s.id, s.step_order, s.exit_on_reply, s.subject_template, s.body_template) x WHERE s.id IS NOT NULL),
    (SELECT to_jsonb(m) FROM outreach.messages m WHERE m.enrollment_id = e.id AND m.step_id = p_step AND m.direction = 'outbound'),
    EXISTS (SELECT 1 FROM outreach.messages r WHERE r.enrollment_id = e.id AND r.direction = 'inbound' AND r.inbound_kind = 'reply'),
    to_jsonb(mb),
    (SELECT to_jsonb(x) FROM (
       SELECT p.email, p.title, pe.first_name, pe.last_name, co.name AS company_name, co.domain, co.city, co.industry, co.website_url
       FROM crm.positions p
       JOIN crm.people pe ON pe.organisation_id = p.organisation_id AND pe.id = p.person_id
       JOIN crm.companies co ON co.organisation_id = p.organisation_id AND co.id = p.company_id
       WHERE p.id = e.position_id) x),
    (SELECT su.reason FROM crm.positions p2 JOIN outreach.suppressions su
       ON su.organisation_id = p2.organisation_id AND (su.email = p2.email OR su.domain = split_part(p2.email::text, '@', 2)::citext)
     WHERE p2.id = e.position_id LIMIT 1),
    (SELECT to_jsonb(x) FROM (
       SELECT ex.id, ex.status, ex.winner_variant_id,
         (SELECT to_jsonb(v) FROM outreach.enrollment_step_variant_assignments a
            JOIN outreach.step_experiment_variants v ON v.organisation_id = a.organisation_id AND v.id = a.variant_id
          WHERE a.enrollment_id = e.id AND a.step_id = p_step) AS assigned,
         (SELECT coalesce(jsonb_agg(to_jsonb(v)), '[]'::jsonb) FROM outreach.step_experiment_variants v WHERE v.experiment_id = ex.id) AS variants
       FROM outreach.step_experiments ex WHERE ex.step_id = p_step) x),
    (SELECT to_jsonb(x) FROM (
       SELECT m.subject, m.message_id_header, m.references_headers FROM outreach.messages m
       JOIN outreach.workflow_steps ps ON ps.organisation_id = m.organisation_id AND ps.id = m.step_id
       WHERE m.enrollment_id = e.id AND m.direction = 'outbound' AND m.status = 'sent' AND ps.step_order < s.step_order
       ORDER BY ps.step_order DESC LIMIT 1) x),
    (SELECT to_jsonb(x) FROM (
       SELECT ns.id, ns.step_order, ns.delay_days FROM outreach.workflow_steps ns
       WHERE ns.campaign_id = e.campaign_id AND ns.step_order > s.step_order ORDER BY ns.step_order LIMIT 1) x)
  FROM outreach.campaign_enrollments e
  JOIN outreach.campaigns c ON c.organisation_id = e.organisation_id AND c.id = e.campaign_id
  LEFT JOIN outreach.workflow_steps s ON s.organisation_id = e.organisation_id AND s.id = p_step
  LEFT JOIN outreach.mailboxes mb ON mb.organisation_id = c.organisation_id AND mb.id = c.mailbox_id
  WHERE e.id = p_enrollment;
END;
$$;

-- The reservation, under the enrollment row lock (FOR UPDATE: serialises it with inbound replies,
-- unsubscribes and status changes of the enrollment) and the mailbox row lock (FOR NO KEY UPDATE:
-- serialises daily-cap checkers of one mailbox without blocking FK checks of messages →
-- mailboxes). Every statement after the locks reads a fresh snapshot, so the cap count sees every
-- reservation committed before it, and every stop condition is read again: enrollment and campaign
-- status, mailbox status, exit on reply, suppression. It is one statement, so it may run as its own
-- implicit transaction. The message row (unique per enrollment and step: ON CONFLICT DO NOTHING
-- reserves nothing), its pixel and the variant assignment are written only when everything passes.
-- message_row_id NULL: nothing reserved (the returned values say why).
CREATE FUNCTION app.reserve_outbound_message(
    p_enrollment uuid, p_step uuid, p_variant uuid, p_mailbox uuid, p_message_id_header text, p_in_reply_to text,
    p_references text[], p_from citext, p_to citext, p_subject text, p_body_text text, p_body_html text,
    p_unsubscribe_token text, p_now timestamptz, p_pixel_token text, p_day_start timestamptz, p_day_end timestamptz,
    p_exit_on_reply boolean, p_store_assignment boolean)
  RETURNS TABLE (enrollment_status text, campaign_status text, mailbox_status text, daily_limit integer, n integer,
                 last timestamptz, replied boolean, suppression text, message_row_id uuid)
  LANGUAGE plpgsql VOLATILE SECURITY INVOKER
  SET search_path = pg_catalog, public
AS $$
DECLARE
  v_enrollment_status text;
  v_campaign_status text;
  v_status text;
  v_limit integer;
  v_gap integer;
  v_n integer;
  v_last timestamptz;
  v_replied boolean;
  v_suppression text;
  v_id uuid;
BEGIN
  SELECT e.status, c.status INTO v_enrollment_status, v_campaign_status
  FROM outreach.campaign_enrollments e
  JOIN outreach.campaigns c ON c.organisation_id = e.organisation_id AND c.id = e.campaign_id
  WHERE e.id = p_enrollment
  FOR UPDATE OF e;
  SELECT mb.status, mb.daily_limit, mb.min_gap_seconds INTO v_status, v_limit, v_gap
  FROM outreach.mailboxes mb WHERE mb.id = p_mailbox FOR NO KEY UPDATE;
  -- The sent_at condition only bounds the scan to the mailbox's recent messages (index on
  -- organisation_id, mailbox_id, sent_at) instead of its whole history: a queued message has no
  -- sent_at, and a sent or bounced one was sent after it was created, so every message created
  -- since the start of the day or within the minimum gap passes it (a day of margin for clock
  -- differences between workers).
  SELECT count(*) FILTER (WHERE m.created_at >= p_day_start AND m.created_at < p_day_end)::int, max(m.created_at)
    INTO v_n, v_last
  FROM outreach.messages m
  WHERE m.mailbox_id = p_mailbox AND m.direction = 'outbound' AND m.status IN ('queued', 'sent', 'bounced')
    AND (m.sent_at IS NULL
         OR m.sent_at >= least(p_day_start, p_now - make_interval(secs => v_gap)) - interval '1 day');
  v_replied := p_exit_on_reply AND EXISTS (
    SELECT 1 FROM outreach.messages r WHERE r.enrollment_id = p_enrollment AND r.direction = 'inbound' AND r.inbound_kind = 'reply');
  SELECT su.reason INTO v_suppression FROM outreach.suppressions su
  WHERE su.email = p_to OR su.domain = split_part(p_to::text, '@', 2)::citext LIMIT 1;
  IF (v_enrollment_status = 'active' OR (v_enrollment_status = 'replied' AND NOT p_exit_on_reply))
     AND v_campaign_status = 'active' AND v_status = 'active' AND NOT v_replied AND v_suppression IS NULL AND v_n < v_limit
     AND (v_gap = 0 OR v_last IS NULL OR v_last + make_interval(secs => v_gap) <= p_now) THEN
    INSERT INTO outreach.messages (enrollment_id, step_id, variant_id, mailbox_id, direction, status, message_id_header,
      in_reply_to, references_headers, from_address, to_address, subject, body_text, body_html, unsubscribe_token, created_at)
    VALUES (p_enrollment, p_step, p_variant, p_mailbox, 'outbound', 'queued', p_message_id_header, p_in_reply_to,
      p_references, p_from, p_to, p_subject, p_body_text, p_body_html, p_unsubscribe_token, p_now)
    ON CONFLICT DO NOTHING
    RETURNING outreach.messages.id INTO v_id;
    IF v_id IS NOT NULL AND p_pixel_token IS NOT NULL THEN
      INSERT INTO tracking.pixels (message_id, token) VALUES (v_id, p_pixel_token);
    END IF;
    IF v_id IS NOT NULL AND p_store_assignment THEN
      INSERT INTO outreach.enrollment_step_variant_assignments (enrollment_id, step_id, variant_id)
      VALUES (p_enrollment, p_step, p_variant)
      ON CONFLICT (organisation_id, enrollment_id, step_id) DO NOTHING;
    END IF;
  END IF;
  RETURN QUERY SELECT v_enrollment_status, v_campaign_status, v_status, v_limit, v_n, v_last, v_replied, v_suppression, v_id;
END;
$$;

-- After SMTP accepted a message: the task completes (only while p_worker still holds its lease:
-- 0 returned otherwise and the caller rolls back), the message is marked sent, the daily stat
-- bumped, the enrollment advanced, and — unless a reply or unsubscribe stopped it while SMTP was
-- busy (the UPDATE reads the latest row version) — the next step enqueued (debounced by its
-- dedupe key) at p_run_at, or the enrollment completed when there is no next step.
CREATE FUNCTION app.record_sent(
    p_organisation uuid, p_task uuid, p_worker text, p_now timestamptz, p_message uuid, p_response text,
    p_campaign uuid, p_variant uuid, p_enrollment uuid, p_step_order integer, p_next_step uuid,
    p_run_at timestamptz, p_priority smallint, p_dedupe_key text)
  RETURNS integer
  LANGUAGE plpgsql VOLATILE SECURITY INVOKER
  SET search_path = pg_catalog, public
AS $$
DECLARE
  v_status text;
BEGIN
  UPDATE outreach.tasks AS t SET status = 'succeeded', locked_by = NULL, locked_until = NULL, completed_at = p_now
  WHERE t.organisation_id = p_organisation AND t.id = p_task AND t.status = 'running' AND t.locked_by = p_worker;
  IF NOT FOUND THEN
    RETURN 0;
  END IF;
  UPDATE outreach.messages AS m SET status = 'sent', sent_at = p_now, smtp_response = p_response WHERE m.id = p_message;
  INSERT INTO tracking.campaign_daily_stats AS d (campaign_id, day, variant_id, sent)
  VALUES (p_campaign, (p_now AT TIME ZONE 'UTC')::date, p_variant, 1)
  ON CONFLICT ON CONSTRAINT campaign_daily_stats_key DO UPDATE SET sent = d.sent + 1;
  UPDATE outreach.campaign_enrollments AS e
  SET current_step_order = greatest(e.current_step_order, p_step_order), last_sent_at = p_now,
      status = CASE WHEN e.status = 'active' AND p_next_step IS NULL THEN 'completed' ELSE e.status END,
      completed_at = CASE WHEN e.status = 'active' AND p_next_step IS NULL THEN p_now ELSE e.completed_at END,
      next_run_at = CASE WHEN e.status = 'active' THEN p_run_at ELSE e.next_run_at END
  WHERE e.id = p_enrollment
  RETURNING e.status INTO v_status;
  IF v_status = 'active' AND p_next_step IS NOT NULL THEN
    INSERT INTO outreach.tasks (type, run_at, enrollment_id, step_id, priority, dedupe_key)
    VALUES ('send_step', p_run_at, p_enrollment, p_next_step, p_priority, p_dedupe_key)
    ON CONFLICT (organisation_id, dedupe_key) WHERE dedupe_key IS NOT NULL AND status IN ('pending', 'running') DO NOTHING;
  END IF;
  RETURN 1;
END;
$$;

REVOKE ALL ON FUNCTION app.send_step_state(uuid, uuid, boolean),
  app.reserve_outbound_message(uuid, uuid, uuid, uuid, text, text, text[], citext, citext, text, text, text, text,
    timestamptz, text, timestamptz, timestamptz, boolean, boolean),
  app.record_sent(uuid, uuid, text, timestamptz, uuid, text, uuid, uuid, uuid, integer, uuid, timestamptz, smallint, text)
  FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.send_step_state(uuid, uuid, boolean),
  app.reserve_outbound_message(uuid, uuid, uuid, uuid, text, text, text[], citext, citext, text, text, text, text,
    timestamptz, text, timestamptz, timestamptz, boolean, boolean),
  app.record_sent(uuid, uuid, text, timestamptz, uuid, text, uuid, uuid, uuid, integer, uuid, timestamptz, smallint, text)
  TO prospectflow_worker;
