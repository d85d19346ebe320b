DROP FUNCTION app.enqueue_domain_checks(timestamptz, timestamptz);
REVOKE SELECT (verified_at, last_checked_at) ON outreach.sending_domains FROM prospectflow_system;
-- Rows only this migration's code could write, organisation by organisation under RLS.
DO $$
DECLARE
  org uuid;
BEGIN
  FOR org IN SELECT id FROM iam.organisations LOOP
    PERFORM set_config('app.organisation_id', org::text, true);
    DELETE FROM outreach.tasks WHERE type = 'check_sending_domains';
  END LOOP;
  PERFORM set_config('app.organisation_id', '', true);
END;
$$;
ALTER TABLE outreach.tasks
  DROP CONSTRAINT tasks_type_check,
  ADD CONSTRAINT tasks_type_check CHECK (type IN ('schedule_enrollment', 'send_step', 'noop', 'verify_mailbox',
    'apply_retention', 'run_import'));
