-- Undo of 1007: app.purge_audit_log as 0870 wrote it (the caller's cutoff).
CREATE OR REPLACE FUNCTION app.purge_audit_log(p_before timestamptz, p_limit integer) RETURNS integer
  LANGUAGE sql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $$
  WITH doomed AS (
    SELECT organisation_id, id FROM iam.audit_log
    WHERE organisation_id = app.current_organisation_id() AND created_at < p_before
    ORDER BY created_at LIMIT least(greatest(p_limit, 0), 10000)
  ), gone AS (
    DELETE FROM iam.audit_log AS a USING doomed AS d
    WHERE a.organisation_id = d.organisation_id AND a.id = d.id RETURNING 1
  )
  SELECT count(*)::integer FROM gone
$$;
REVOKE SELECT (organisation_id, audit_retention_days, retention_enabled) ON iam.privacy_settings
  FROM prospectflow_system;
