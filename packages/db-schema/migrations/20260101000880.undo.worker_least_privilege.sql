GRANT SELECT, INSERT, UPDATE ON iam.organisations, iam.users TO prospectflow_worker;
GRANT SELECT, INSERT, UPDATE, DELETE ON iam.organisation_users TO prospectflow_worker;

CREATE FUNCTION app.claim_tasks(p_worker text, p_limit integer, p_lease_seconds integer)
  RETURNS TABLE (organisation_id uuid, id uuid, type text, attempts integer, max_attempts integer,
                 payload jsonb, enrollment_id uuid, step_id uuid, run_at timestamptz)
  LANGUAGE sql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog
AS $$
  SELECT c.organisation_id, c.id, c.type, c.attempts, c.max_attempts, c.payload, c.enrollment_id, c.step_id, c.run_at
  FROM app.claim_tasks(p_worker, p_limit, p_lease_seconds, NULL::timestamptz) AS c
$$;
ALTER FUNCTION app.claim_tasks(text, integer, integer) OWNER TO prospectflow_system;
REVOKE ALL ON FUNCTION app.claim_tasks(text, integer, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.claim_tasks(text, integer, integer) TO prospectflow_worker;
