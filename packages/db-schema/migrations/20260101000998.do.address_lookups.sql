-- Lookups by address that use their index (issue 16: the send path, enrollment, inbound mail).
--
-- Under row-level security a comparison the planner cannot prove leakproof is never evaluated
-- before the policy, so it is never an index condition. citext's = (citext_eq) is not leakproof,
-- so every "by address" question read all of the organisation's rows through the organisation
-- prefix of the index and compared each:
-- - "is this address suppressed?": 20 ms for 52,000 suppressions, in every state read and every
--   reservation of a send, and once per candidate of an enrollment request;
-- - "which position has this address?": every position of the organisation, for each reply or
--   bounce that stops a sequence by address, each legacy-import row, the API's email filters and
--   each privacy request.
-- Marking citext_eq leakproof needs a superuser (not available on a managed database) and is lost
-- on restore, since extension members are not dumped.
--
-- Each question gets one function: SECURITY DEFINER, owned by prospectflow_system (BYPASSRLS,
-- SELECT on the columns it reads), scoped to app.current_organisation_id() by its own condition,
-- which fails closed (PF001) without an organisation as the policy does. Without the policy in the
-- way the address is an index condition: one probe of the unique key (two for a suppression: the
-- address and its domain) whatever the size of the table. Operators are named with their schema:
-- with search_path = pg_catalog an unqualified = between two citext values would resolve to
-- text's case-sensitive one. PL/pgSQL, so each connection plans the lookup once.
CREATE FUNCTION app.suppression_reason(p_address public.citext)
  RETURNS text
  LANGUAGE plpgsql STABLE SECURITY DEFINER
  SET search_path = pg_catalog
AS $$
BEGIN
  -- An address suppressed itself wins over its domain's entry (either stops the send).
  RETURN (
    SELECT su.reason FROM outreach.suppressions su
    WHERE su.organisation_id = app.current_organisation_id()
      AND (su.email OPERATOR(public.=) p_address
           OR su.domain OPERATOR(public.=) split_part(p_address::text, '@', 2)::public.citext)
    ORDER BY su.email IS NULL
    LIMIT 1);
END;
$$;
GRANT SELECT (organisation_id, email, domain, reason) ON outreach.suppressions TO prospectflow_system;
ALTER FUNCTION app.suppression_reason(public.citext) OWNER TO prospectflow_system;
REVOKE ALL ON FUNCTION app.suppression_reason(public.citext) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.suppression_reason(public.citext) TO prospectflow_app, prospectflow_worker;

-- The position with this address (positions are unique per organisation and address).
CREATE FUNCTION app.position_id_for_email(p_email public.citext)
  RETURNS uuid
  LANGUAGE plpgsql STABLE SECURITY DEFINER
  SET search_path = pg_catalog
AS $$
BEGIN
  RETURN (
    SELECT p.id FROM crm.positions p
    WHERE p.organisation_id = app.current_organisation_id() AND p.email OPERATOR(public.=) p_email);
END;
$$;
GRANT SELECT (organisation_id, id, email) ON crm.positions TO prospectflow_system;
ALTER FUNCTION app.position_id_for_email(public.citext) OWNER TO prospectflow_system;
REVOKE ALL ON FUNCTION app.position_id_for_email(public.citext) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.position_id_for_email(public.citext) TO prospectflow_app, prospectflow_worker;

-- The send path's two checks (bodies of 0970 and 0994, the suppression lookup replaced).
CREATE OR REPLACE FUNCTION app.reserve_outbound_message(
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
  v_org uuid;
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
  SELECT mb.organisation_id, mb.status, mb.daily_limit, mb.min_gap_seconds INTO v_org, v_status, v_limit, v_gap
  FROM outreach.mailboxes mb WHERE mb.id = p_mailbox FOR NO KEY UPDATE;
  -- Under the mailbox lock, after every reservation of this mailbox committed before it.
  SELECT d.reserved, d.last_at INTO v_n, v_last
  FROM outreach.mailbox_day_counts d
  WHERE d.organisation_id = v_org AND d.mailbox_id = p_mailbox AND d.day_start = p_day_start AND d.day_end = p_day_end;
  IF NOT FOUND AND v_org IS NOT NULL THEN
    -- The day's first reservation: count as 0730 did. The sent_at condition only bounds the scan to
    -- the mailbox's recent messages (index on organisation_id, mailbox_id, sent_at): a queued
    -- message has no sent_at, and a sent or bounced one was sent after it was created, so every
    -- message created since the start of the day or within the minimum gap passes it (a day of
    -- margin for clock differences between workers).
    SELECT count(*) FILTER (WHERE m.created_at >= p_day_start AND m.created_at < p_day_end)::int, max(m.created_at)
      INTO v_n, v_last
    FROM outreach.messages m
    WHERE m.mailbox_id = p_mailbox AND m.direction = 'outbound' AND m.status IN ('queued', 'sent', 'bounced')
      AND (m.sent_at IS NULL
           OR m.sent_at >= least(p_day_start, p_now - make_interval(secs => v_gap)) - interval '1 day');
    INSERT INTO outreach.mailbox_day_counts (organisation_id, mailbox_id, day_start, day_end, reserved, last_at)
    VALUES (v_org, p_mailbox, p_day_start, p_day_end, v_n, v_last);
    DELETE FROM outreach.mailbox_day_counts d
    WHERE d.organisation_id = v_org AND d.mailbox_id = p_mailbox AND d.day_end < p_day_start - interval '2 days';
  ELSIF v_gap > 0 THEN
    -- The latest message may be from the day before (minimum gap across midnight).
    SELECT greatest(v_last, max(d.last_at)) INTO v_last
    FROM outreach.mailbox_day_counts d
    WHERE d.organisation_id = v_org AND d.mailbox_id = p_mailbox AND d.day_start < p_day_start
      AND d.day_start >= p_day_start - interval '2 days';
  END IF;
  v_n := coalesce(v_n, 0);
  v_replied := p_exit_on_reply AND EXISTS (
    SELECT 1 FROM outreach.messages r WHERE r.enrollment_id = p_enrollment AND r.direction = 'inbound' AND r.inbound_kind = 'reply');
  v_suppression := app.suppression_reason(p_to);
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


CREATE OR REPLACE FUNCTION app.send_step_state(p_enrollment uuid, p_step uuid, p_lock boolean)
 RETURNS TABLE(id uuid, status text, position_id uuid, campaign_id uuid, campaign_status text, mailbox_id uuid, tracking_enabled boolean, step jsonb, existing jsonb, replied boolean, mailbox jsonb, target jsonb, suppression text, experiment jsonb, previous jsonb, next_step jsonb)
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'public'
AS $function$
#variable_conflict use_column
BEGIN
  IF p_lock THEN
    PERFORM 1 FROM outreach.campaign_enrollments AS le WHERE le.id = p_enrollment FOR UPDATE;
  END IF;
  RETURN QUERY
  SELECT e.id, e.status, e.position_id, e.campaign_id, c.status, pick.mailbox_id, c.tracking_enabled,
    (SELECT to_jsonb(x) FROM (SELECT s.id, s.step_order, s.exit_on_reply, s.subject_template, s.body_template) x WHERE s.id IS NOT NULL),
    (SELECT to_jsonb(m) FROM outreach.messages m WHERE m.enrollment_id = e.id AND m.step_id = p_step AND m.direction = 'outbound'),
    EXISTS (SELECT 1 FROM outreach.messages r WHERE r.enrollment_id = e.id AND r.direction = 'inbound' AND r.inbound_kind = 'reply'),
    -- What sending needs of the mailbox (window.ts MailboxRow), not its sealed secrets or check log.
    (SELECT to_jsonb(x) FROM (
       SELECT mb.id, mb.organisation_id, mb.from_name, mb.from_address, mb.daily_limit, mb.window_start,
         mb.window_end, mb.window_days, mb.time_zone, mb.min_gap_seconds, mb.status, mb.provider,
         mb.verification_status, mb.credentials_version) x WHERE mb.id IS NOT NULL),
    (SELECT to_jsonb(x) FROM (
       SELECT p.email, p.title, pe.first_name, pe.last_name, co.name AS company_name, co.domain, co.city, co.industry, co.website_url
       FROM crm.positions p
       JOIN crm.people pe ON pe.organisation_id = p.organisation_id AND pe.id = p.person_id
       JOIN crm.companies co ON co.organisation_id = p.organisation_id AND co.id = p.company_id
       WHERE p.id = e.position_id) x),
    (SELECT app.suppression_reason(p2.email) FROM crm.positions p2 WHERE p2.id = e.position_id),
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
  -- The enrollment's own mailbox (sticky: threads stay intact), else the one this step's earlier
  -- reservation was made on (its Message-ID may already have left from there: a resend must use
  -- the same mailbox and look in its Sent folder), else one chosen now, else the campaign's (whose
  -- status then explains why nothing can be sent). coalesce stops at the first: the lookups run
  -- only for an enrollment not pinned yet.
  CROSS JOIN LATERAL (SELECT coalesce(e.mailbox_id,
      (SELECT r.mailbox_id FROM outreach.messages r
       WHERE r.enrollment_id = e.id AND r.step_id = p_step AND r.direction = 'outbound'),
      app.assign_enrollment_mailbox(e.id), c.mailbox_id) AS mailbox_id) pick
  LEFT JOIN outreach.workflow_steps s ON s.organisation_id = e.organisation_id AND s.id = p_step
  LEFT JOIN outreach.mailboxes mb ON mb.organisation_id = e.organisation_id AND mb.id = pick.mailbox_id
  WHERE e.id = p_enrollment;
END;
$function$;

