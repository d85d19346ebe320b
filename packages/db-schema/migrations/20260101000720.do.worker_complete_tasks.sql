-- Queue hot path in PL/pgSQL: its plans are cached per connection, where a LANGUAGE sql function
-- that is not inlined (SECURITY DEFINER) is planned again on every call.

-- Same contract as in 20260101000710 (claim against an explicit "now").
CREATE OR REPLACE FUNCTION app.claim_tasks(p_worker text, p_limit integer, p_lease_seconds integer, p_now timestamptz)
  RETURNS TABLE (organisation_id uuid, id uuid, type text, attempts integer, max_attempts integer,
                 payload jsonb, enrollment_id uuid, step_id uuid, run_at timestamptz)
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
  RETURNING t.organisation_id, t.id, t.type, t.attempts, t.max_attempts, t.payload, t.enrollment_id, t.step_id, t.run_at;
END;
$$;

-- Completes a batch of tasks this worker holds, in one statement on the worker's system path.
-- Used for tasks whose handler wrote nothing of its own (bookkeeping, no-ops); handlers with
-- effects complete inside their own tenant transaction instead. As narrow as heartbeat_tasks:
-- it touches only tasks still leased by p_worker.
CREATE FUNCTION app.complete_tasks(p_worker text, p_organisation_ids uuid[], p_ids uuid[], p_now timestamptz)
  RETURNS integer
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog
AS $$
DECLARE
  n integer;
BEGIN
  UPDATE outreach.tasks AS t
  SET status = 'succeeded', locked_by = NULL, locked_until = NULL, completed_at = coalesce(p_now, now())
  FROM unnest(p_organisation_ids, p_ids) AS k(organisation_id, id)
  WHERE t.organisation_id = k.organisation_id AND t.id = k.id AND t.status = 'running' AND t.locked_by = p_worker;
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END;
$$;

ALTER FUNCTION app.complete_tasks(text, uuid[], uuid[], timestamptz) OWNER TO prospectflow_system;
REVOKE ALL ON FUNCTION app.complete_tasks(text, uuid[], uuid[], timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.complete_tasks(text, uuid[], uuid[], timestamptz) TO prospectflow_worker;
