-- Periodic re-check of proved sending domains (issue 16.3): a proof checked once could be removed
-- from DNS the next day while the relay kept sending as the domain. The worker's schedule calls
-- app.enqueue_domain_checks; each organisation's check_sending_domains task looks up every proved
-- domain again and records the result as POST /v1/sending-domains/{id}/verify does
-- (@prospectflow/outreach-core recordDomainCheck), withdrawing the relay mailboxes of a domain
-- whose proof is gone.
ALTER TABLE outreach.tasks
  DROP CONSTRAINT tasks_type_check,
  ADD CONSTRAINT tasks_type_check CHECK (type IN ('schedule_enrollment', 'send_step', 'noop', 'verify_mailbox',
    'apply_retention', 'run_import', 'check_sending_domains'));

-- One check_sending_domains task (TASKS.checkSendingDomains: priority 200, dedupe key
-- 'domain-checks', 3 attempts) for every active organisation with a proved domain last checked
-- before p_checked_before. Its dedupe key makes extra calls no-ops, so every worker may run the
-- schedule.
CREATE FUNCTION app.enqueue_domain_checks(p_run_at timestamptz, p_checked_before timestamptz)
  RETURNS integer
  LANGUAGE sql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $$
  WITH added AS (
    INSERT INTO outreach.tasks (organisation_id, type, priority, run_at, dedupe_key, max_attempts)
    SELECT o.id, 'check_sending_domains', 200, coalesce(p_run_at, now()), 'domain-checks', 3
    FROM iam.organisations AS o
    WHERE o.status = 'active' AND EXISTS (
      SELECT 1 FROM outreach.sending_domains AS d
      WHERE d.organisation_id = o.id AND d.verified_at IS NOT NULL
        AND coalesce(d.last_checked_at, d.verified_at) < p_checked_before)
    ON CONFLICT (organisation_id, dedupe_key) WHERE dedupe_key IS NOT NULL AND status IN ('pending', 'running')
    DO NOTHING
    RETURNING 1
  )
  SELECT count(*)::integer FROM added
$$;
-- Owned by the least-privileged system role (BYPASSRLS), with only the columns it reads.
GRANT SELECT (verified_at, last_checked_at) ON outreach.sending_domains TO prospectflow_system;
ALTER FUNCTION app.enqueue_domain_checks(timestamptz, timestamptz) OWNER TO prospectflow_system;
REVOKE ALL ON FUNCTION app.enqueue_domain_checks(timestamptz, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.enqueue_domain_checks(timestamptz, timestamptz) TO prospectflow_worker;

-- verified_at now means "the last time DNS showed the proof": recordDomainCheck moves it on every
-- confirmed check, and withdraws a proof that lookups have not confirmed for 7 days. A domain whose
-- last check succeeded (no last_error) was last shown then, not when it was first proved. Organisation
-- by organisation: the migrator is under RLS.
DO $$
DECLARE
  org uuid;
BEGIN
  FOR org IN SELECT id FROM iam.organisations LOOP
    PERFORM set_config('app.organisation_id', org::text, true);
    UPDATE outreach.sending_domains SET verified_at = last_checked_at
    WHERE verified_at IS NOT NULL AND last_error IS NULL AND last_checked_at > verified_at;
  END LOOP;
  PERFORM set_config('app.organisation_id', '', true);
END;
$$;
