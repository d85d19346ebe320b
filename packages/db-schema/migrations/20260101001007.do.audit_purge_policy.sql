-- The audit log's narrow purge function (0870) trusted its caller's cutoff: the worker role, which
-- cannot delete audit rows itself, could erase an organisation's whole trail — rows from an hour
-- ago included — by passing a later date. The function now deletes only rows older than the
-- organisation's own audit retention (iam.privacy_settings.audit_retention_days, the setting the
-- worker's rule reads), and nothing when its retention is off or it has no settings row.
GRANT SELECT (organisation_id, audit_retention_days, retention_enabled) ON iam.privacy_settings
  TO prospectflow_system;

CREATE OR REPLACE FUNCTION app.purge_audit_log(p_before timestamptz, p_limit integer) RETURNS integer
  LANGUAGE sql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $$
  WITH policy AS (
    SELECT least(p_before, now() - make_interval(days => s.audit_retention_days)) AS cutoff
    FROM iam.privacy_settings AS s
    WHERE s.organisation_id = app.current_organisation_id() AND s.retention_enabled
  ), doomed AS (
    SELECT a.organisation_id, a.id FROM iam.audit_log AS a, policy AS p
    WHERE a.organisation_id = app.current_organisation_id() AND a.created_at < p.cutoff
    ORDER BY a.created_at LIMIT least(greatest(p_limit, 0), 10000)
  ), gone AS (
    DELETE FROM iam.audit_log AS a USING doomed AS d
    WHERE a.organisation_id = d.organisation_id AND a.id = d.id RETURNING 1
  )
  SELECT count(*)::integer FROM gone
$$;
