-- Tracing (issue 19.4): each task carries the W3C trace context (traceparent/tracestate) of the
-- request or task that enqueued it, so the worker continues the same trace. NULL when tracing is
-- off. It names spans, never people: no tenant data in it.
ALTER TABLE outreach.tasks ADD COLUMN trace_context jsonb
  CONSTRAINT tasks_trace_context_object CHECK (trace_context IS NULL OR jsonb_typeof(trace_context) = 'object');

-- The claim hands the trace context over with the task (a new result column: drop and recreate).
DROP FUNCTION app.claim_tasks(text, integer, integer, timestamptz);
CREATE FUNCTION app.claim_tasks(p_worker text, p_limit integer, p_lease_seconds integer, p_now timestamptz)
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
ALTER FUNCTION app.claim_tasks(text, integer, integer, timestamptz) OWNER TO prospectflow_system;
REVOKE ALL ON FUNCTION app.claim_tasks(text, integer, integer, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.claim_tasks(text, integer, integer, timestamptz) TO prospectflow_worker;
