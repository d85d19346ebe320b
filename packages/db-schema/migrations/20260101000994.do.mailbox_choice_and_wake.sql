-- Sending identities, two corrections (issue 16).
--
-- 1. A retried first send stays on the mailbox it was reserved on. Since 0993 a one-mailbox
--    campaign pins the enrollment only when the message is recorded as sent. A send that reserved
--    its message on mailbox A and died before the record (the resend window) then read the
--    campaign's mailbox again; if the campaign had moved to B meanwhile, the retry composed the
--    message from B, looked for it in B's Sent folder, and sent it a second time (same Message-ID,
--    another sender, while the row still named A). app.send_step_state now takes, for an enrollment
--    not pinned yet, the mailbox of this step's existing reservation before any other choice.
--
--    The read also returns only the mailbox columns sending uses: to_jsonb of the whole row shipped
--    its sealed credentials (bytea as hex) and its verification log to the worker on every send.
--
-- 2. app.wake_mailbox_sends(mailbox): sends put off because their mailbox could not send (snoozed
--    "mailbox …" or "sender not proved …") run again now. One definition for every place a mailbox
--    becomes usable again: the API when a user sets it active, the worker when a verification
--    succeeds (a mailbox in error returns to active). It wakes the tasks of enrollments pinned to
--    the mailbox and of enrollments not pinned yet in campaigns that send from it (main or
--    additional): a task woken for nothing snoozes again, a task not woken waited up to 10 min.
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

CREATE FUNCTION app.wake_mailbox_sends(p_mailbox uuid)
 RETURNS integer
 LANGUAGE sql
 SET search_path TO 'pg_catalog'
AS $function$
  WITH woken AS (
    UPDATE outreach.tasks AS t SET run_at = now()
    FROM outreach.campaign_enrollments AS e
    JOIN outreach.campaigns AS ca ON ca.organisation_id = e.organisation_id AND ca.id = e.campaign_id
    WHERE t.status = 'pending' AND t.type = 'send_step' AND t.run_at > now()
      AND (t.last_error LIKE 'snoozed: mailbox%' OR t.last_error LIKE 'snoozed: sender not proved%')
      AND e.organisation_id = t.organisation_id AND e.id = t.enrollment_id
      AND (e.mailbox_id = p_mailbox
           OR (e.mailbox_id IS NULL AND (ca.mailbox_id = p_mailbox OR EXISTS (
                 SELECT 1 FROM outreach.campaign_mailboxes AS cm
                 WHERE cm.organisation_id = ca.organisation_id AND cm.campaign_id = ca.id AND cm.mailbox_id = p_mailbox))))
    RETURNING 1
  )
  SELECT count(*)::integer FROM woken
$function$;
GRANT EXECUTE ON FUNCTION app.wake_mailbox_sends(uuid) TO prospectflow_app, prospectflow_worker;
