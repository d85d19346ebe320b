GRANT SELECT, INSERT, UPDATE ON iam.organisations, iam.users TO prospectflow_worker;
GRANT SELECT, INSERT, UPDATE, DELETE ON iam.organisation_users TO prospectflow_worker;

-- 0300's body, as it was before this migration dropped it.
CREATE FUNCTION app.claim_tasks(p_worker text, p_limit integer, p_lease_seconds integer)
  RETURNS TABLE (organisation_id uuid, id uuid, type text, attempts integer, max_attempts integer,
                 payload jsonb, enrollment_id uuid, step_id uuid, run_at timestamptz)
  LANGUAGE sql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog
AS $$
  WITH due AS (
    SELECT t.organisation_id, t.id
    FROM outreach.tasks AS t
    WHERE t.status = 'pending' AND t.run_at <= now()
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
ALTER FUNCTION app.claim_tasks(text, integer, integer) OWNER TO prospectflow_system;
REVOKE ALL ON FUNCTION app.claim_tasks(text, integer, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.claim_tasks(text, integer, integer) TO prospectflow_worker;
