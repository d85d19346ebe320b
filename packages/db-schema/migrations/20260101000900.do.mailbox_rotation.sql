-- Sending through several mailboxes (issue 16, item 4).
--
-- 1. A campaign sends from its mailbox and those in outreach.campaign_mailboxes. Each enrollment is
--    pinned to one of them on its first send (campaign_enrollments.mailbox_id) and every later
--    step goes out from that one, so the thread stays in one mailbox. The choice: a mailbox that is
--    active, verified and has capacity left in the last 24 h, fewest enrollments of this campaign per
--    unit of daily cap first (weighted round-robin), then most capacity left.
-- 2. send_step_state reads the enrollment's mailbox (choosing it when there is none yet).
-- 3. A reservation (an outbound message inserted 'queued', the only way a send starts) needs a
--    verified mailbox whose address is the message's From, and for the platform relay a domain
--    the organisation proved in DNS: the database refuses it otherwise, whatever the caller checked.

CREATE FUNCTION app.assign_enrollment_mailbox(p_enrollment uuid)
  RETURNS uuid
  LANGUAGE plpgsql VOLATILE SECURITY INVOKER
  SET search_path = pg_catalog, public
AS $$
DECLARE
  v_campaign uuid;
  v_chosen uuid;
BEGIN
  SELECT e.campaign_id INTO v_campaign FROM outreach.campaign_enrollments e
  WHERE e.id = p_enrollment AND e.mailbox_id IS NULL;
  IF v_campaign IS NULL THEN
    RETURN NULL;
  END IF;
  -- One chooser per campaign at a time (until the caller's transaction ends): each sees the
  -- assignments committed or made before it, so concurrent first sends spread across mailboxes.
  PERFORM pg_advisory_xact_lock(hashtextextended('assign_enrollment_mailbox:' || v_campaign::text, 0));
  SELECT cand.id INTO v_chosen FROM (
    SELECT mb.id, mb.daily_limit,
      mb.daily_limit - (SELECT count(*) FROM outreach.messages m
         WHERE m.organisation_id = mb.organisation_id AND m.mailbox_id = mb.id AND m.direction = 'outbound'
           AND m.status IN ('queued', 'sent', 'bounced') AND m.created_at >= now() - interval '24 hours'
           AND (m.sent_at IS NULL OR m.sent_at >= now() - interval '2 days')) AS remaining,
      (SELECT count(*) FROM outreach.campaign_enrollments o
         WHERE o.organisation_id = mb.organisation_id AND o.mailbox_id = mb.id AND o.campaign_id = v_campaign
           AND o.status IN ('active', 'paused', 'replied')) AS assigned
    FROM outreach.mailboxes mb
    WHERE mb.status = 'active' AND mb.verification_status = 'verified'
      AND (mb.id = (SELECT c.mailbox_id FROM outreach.campaigns c WHERE c.id = v_campaign)
           OR mb.id IN (SELECT cm.mailbox_id FROM outreach.campaign_mailboxes cm WHERE cm.campaign_id = v_campaign))
  ) cand
  ORDER BY cand.remaining <= 0, cand.assigned::numeric / cand.daily_limit, cand.remaining DESC, cand.id
  LIMIT 1;
  IF v_chosen IS NULL THEN
    RETURN NULL;
  END IF;
  UPDATE outreach.campaign_enrollments SET mailbox_id = v_chosen WHERE id = p_enrollment AND mailbox_id IS NULL;
  -- Another transaction pinned it first: its choice stands.
  RETURN (SELECT e.mailbox_id FROM outreach.campaign_enrollments e WHERE e.id = p_enrollment);
END;
$$;

CREATE OR REPLACE FUNCTION app.send_step_state(p_enrollment uuid, p_step uuid, p_lock boolean)
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
  SELECT e.id, e.status, e.position_id, e.campaign_id, c.status, pick.mailbox_id, c.tracking_enabled,
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
  -- The enrollment's own mailbox (sticky: threads stay intact), else one chosen now, else the
  -- campaign's (whose status then explains why nothing can be sent).
  CROSS JOIN LATERAL (SELECT coalesce(e.mailbox_id, app.assign_enrollment_mailbox(e.id), c.mailbox_id) AS mailbox_id) pick
  LEFT JOIN outreach.workflow_steps s ON s.organisation_id = e.organisation_id AND s.id = p_step
  LEFT JOIN outreach.mailboxes mb ON mb.organisation_id = e.organisation_id AND mb.id = pick.mailbox_id
  WHERE e.id = p_enrollment;
END;
$$;

CREATE FUNCTION app.outbound_sender_proved()
  RETURNS trigger
  LANGUAGE plpgsql SECURITY INVOKER
  SET search_path = pg_catalog, public
AS $$
BEGIN
  IF NOT EXISTS (
    SELECT 1 FROM outreach.mailboxes mb
    WHERE mb.organisation_id = NEW.organisation_id AND mb.id = NEW.mailbox_id
      AND mb.verification_status = 'verified' AND mb.from_address = NEW.from_address
      AND (mb.provider <> 'relay' OR EXISTS (
        SELECT 1 FROM outreach.sending_domains d
        WHERE d.organisation_id = mb.organisation_id AND d.verified_at IS NOT NULL
          AND d.domain = split_part(mb.from_address::text, '@', 2)::citext))
  ) THEN
    RAISE EXCEPTION 'sender_not_proved: % is not a verified mailbox of this organisation', NEW.from_address
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END;
$$;

CREATE TRIGGER messages_outbound_sender_proved
  BEFORE INSERT ON outreach.messages
  FOR EACH ROW WHEN (NEW.direction = 'outbound' AND NEW.status = 'queued')
  EXECUTE FUNCTION app.outbound_sender_proved();

REVOKE ALL ON FUNCTION app.assign_enrollment_mailbox(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.assign_enrollment_mailbox(uuid) TO prospectflow_worker;
