-- Worker: claim against an explicit "now" (the worker's clock, so schedules can be tested and
-- replayed without sleeping) and a counts-only view of the queue for /metrics.
-- Leases still use the database clock: crash recovery must follow real time.
CREATE FUNCTION app.claim_tasks(p_worker text, p_limit integer, p_lease_seconds integer, p_now timestamptz)
  RETURNS TABLE (organisation_id uuid, id uuid, type text, attempts integer, max_attempts integer,
                 payload jsonb, enrollment_id uuid, step_id uuid, run_at timestamptz)
  LANGUAGE sql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog
AS $$
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
  RETURNING t.organisation_id, t.id, t.type, t.attempts, t.max_attempts, t.payload, t.enrollment_id, t.step_id, t.run_at
$$;

-- Queue depth and age for metrics: counts only, no tenant data.
CREATE FUNCTION app.task_queue_stats(p_now timestamptz)
  RETURNS TABLE (ready bigint, deferred bigint, running bigint, oldest_ready_seconds double precision)
  LANGUAGE sql STABLE SECURITY DEFINER
  SET search_path = pg_catalog
AS $$
  SELECT count(*) FILTER (WHERE status = 'pending' AND run_at <= coalesce(p_now, now())),
         count(*) FILTER (WHERE status = 'pending' AND run_at > coalesce(p_now, now())),
         count(*) FILTER (WHERE status = 'running'),
         coalesce(extract(epoch FROM coalesce(p_now, now()) - min(run_at) FILTER (WHERE status = 'pending' AND run_at <= coalesce(p_now, now()))), 0)::double precision
  FROM outreach.tasks
  WHERE status IN ('pending', 'running')
$$;

ALTER FUNCTION app.claim_tasks(text, integer, integer, timestamptz) OWNER TO prospectflow_system;
ALTER FUNCTION app.task_queue_stats(timestamptz) OWNER TO prospectflow_system;
REVOKE ALL ON FUNCTION app.claim_tasks(text, integer, integer, timestamptz), app.task_queue_stats(timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.claim_tasks(text, integer, integer, timestamptz), app.task_queue_stats(timestamptz)
  TO prospectflow_worker;
