-- Imports run by workers (issue 19.2, issue 14.3): the API stores the upload in object storage and
-- enqueues a run_import task; a worker claims it like any task (lease, heartbeat, retries) and runs
-- the import in one transaction. 'queued' = waiting for a worker or for a free import slot.
ALTER TABLE crm.imports DROP CONSTRAINT imports_status_check;
ALTER TABLE crm.imports ADD CONSTRAINT imports_status_check
  CHECK (status IN ('pending', 'queued', 'running', 'succeeded', 'failed'));
-- Where the upload is (object storage key), the task that runs it, and who ran the last attempt.
ALTER TABLE crm.imports
  ADD COLUMN storage_key text CHECK (storage_key IS NULL OR length(storage_key) BETWEEN 1 AND 1024),
  ADD COLUMN task_id uuid,
  ADD COLUMN run_by text CHECK (run_by IS NULL OR length(run_by) <= 255);

ALTER TABLE outreach.tasks
  DROP CONSTRAINT tasks_type_check,
  ADD CONSTRAINT tasks_type_check CHECK (type IN ('schedule_enrollment', 'send_step', 'noop', 'verify_mailbox',
    'apply_retention', 'run_import'));

-- Import tasks are claimed only by app.claim_import_tasks (bounded per organisation and per
-- process); the general claim leaves them alone so a long import never takes an outreach slot.
-- Same contract as in 20260101000950 (with the trace context) plus that one filter: keep it when
-- redefining app.claim_tasks.
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
    WHERE t.status = 'pending' AND t.run_at <= coalesce(p_now, now()) AND t.type <> 'run_import'
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

-- Due import tasks, oldest first, at most p_per_org running per organisation across all workers.
-- Claims are serialised by a transaction-level advisory lock so two workers cannot both see a
-- free organisation slot; imports are few and long, so the lock is never contended for long.
CREATE FUNCTION app.claim_import_tasks(p_worker text, p_limit integer, p_lease_seconds integer,
                                       p_per_org integer, p_now timestamptz)
  RETURNS TABLE (organisation_id uuid, id uuid, type text, attempts integer, max_attempts integer,
                 payload jsonb, enrollment_id uuid, step_id uuid, run_at timestamptz, trace_context jsonb)
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog
AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext('app.claim_import_tasks'));
  RETURN QUERY
  WITH busy AS (
    SELECT b.organisation_id, count(*)::integer AS n
    FROM outreach.tasks AS b
    WHERE b.status = 'running' AND b.type = 'run_import'
    GROUP BY b.organisation_id
  ), ranked AS (
    SELECT c.organisation_id, c.id, c.run_at,
           row_number() OVER (PARTITION BY c.organisation_id ORDER BY c.run_at, c.id) AS rank
    FROM outreach.tasks AS c
    WHERE c.status = 'pending' AND c.type = 'run_import' AND c.run_at <= coalesce(p_now, now())
  ), due AS (
    SELECT r.organisation_id, r.id
    FROM ranked AS r LEFT JOIN busy AS b ON b.organisation_id = r.organisation_id
    WHERE r.rank <= greatest(p_per_org, 1) - coalesce(b.n, 0)
    ORDER BY r.run_at, r.id
    LIMIT least(greatest(p_limit, 0), 100)
  )
  UPDATE outreach.tasks AS t
  SET status = 'running', locked_by = p_worker, heartbeat_at = now(), attempts = t.attempts + 1,
      locked_until = now() + make_interval(secs => greatest(p_lease_seconds, 1))
  FROM due
  WHERE t.organisation_id = due.organisation_id AND t.id = due.id AND t.status = 'pending'
  RETURNING t.organisation_id, t.id, t.type, t.attempts, t.max_attempts, t.payload, t.enrollment_id, t.step_id,
            t.run_at, t.trace_context;
END;
$$;

-- Pending import tasks are found without scanning the outreach backlog (documented exception to
-- org-first indexes, like tasks_claim_idx).
CREATE INDEX tasks_import_claim_idx ON outreach.tasks (run_at, id) WHERE type = 'run_import' AND status IN ('pending', 'running');

ALTER FUNCTION app.claim_import_tasks(text, integer, integer, integer, timestamptz) OWNER TO prospectflow_system;
REVOKE ALL ON FUNCTION app.claim_import_tasks(text, integer, integer, integer, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.claim_import_tasks(text, integer, integer, integer, timestamptz) TO prospectflow_worker;
