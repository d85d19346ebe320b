DROP INDEX outreach.tasks_import_claim_idx;
DROP FUNCTION app.claim_import_tasks(text, integer, integer, integer, timestamptz);
-- Rows only this migration's code could write, organisation by organisation under RLS.
DO $$
DECLARE
  org uuid;
BEGIN
  FOR org IN SELECT id FROM iam.organisations LOOP
    PERFORM set_config('app.organisation_id', org::text, true);
    DELETE FROM outreach.tasks WHERE type = 'run_import';
    UPDATE crm.imports SET status = 'failed' WHERE status = 'queued';
  END LOOP;
  PERFORM set_config('app.organisation_id', '', true);
END;
$$;
ALTER TABLE outreach.tasks
  DROP CONSTRAINT tasks_type_check,
  ADD CONSTRAINT tasks_type_check CHECK (type IN ('schedule_enrollment', 'send_step', 'noop', 'verify_mailbox', 'apply_retention'));
-- Back to the body of 20260101000950.
CREATE OR REPLACE FUNCTION app.claim_tasks(p_worker text, p_limit integer, p_lease_seconds integer, p_now timestamptz)
  RETURNS TABLE (organisation_id uuid, id uuid, type text, attempts integer, max_attempts integer,
                 payload jsonb, enrollment_id uuid, step_id uuid, run_at timestamptz, trace_context jsonb)
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog
AS $$
BEGIN
  RETURN QUERY
  WITH due AS (
    SELECT t.organisation_id, t.id
    FROM outreach.tasks AS t
    WHERE t.status = 'pending' AND t.run_at <= coalesce(p_now, now())
    ORDER BY t.priority, t.run_at, t.id
    LIMIT least(greatest(p_limit, 0), 1000)
    FOR UPDATE SKIP LOCKED
  )
  UPDATE outreach.tasks AS t
  SET status = 'running', locked_by = p_worker, heartbeat_at = now(), attempts = t.attempts + 1,
      locked_until = now() + make_interval(secs => greatest(p_lease_seconds, 1))
  FROM due
  WHERE t.organisation_id = due.organisation_id AND t.id = due.id
  RETURNING t.organisation_id, t.id, t.type, t.attempts, t.max_attempts, t.payload, t.enrollment_id, t.step_id,
            t.run_at, t.trace_context;
END;
$$;
ALTER TABLE crm.imports DROP COLUMN storage_key, DROP COLUMN task_id, DROP COLUMN run_by;
ALTER TABLE crm.imports DROP CONSTRAINT imports_status_check;
ALTER TABLE crm.imports ADD CONSTRAINT imports_status_check
  CHECK (status IN ('pending', 'running', 'succeeded', 'failed'));
