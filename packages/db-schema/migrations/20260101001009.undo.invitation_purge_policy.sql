-- Undo of 1009: app.purge_closed_invitations as 0882 wrote it (the caller's cutoff).
CREATE OR REPLACE FUNCTION app.purge_closed_invitations(p_before timestamptz, p_limit integer) RETURNS integer
  LANGUAGE sql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $$
  WITH doomed AS (
    SELECT organisation_id, id FROM iam.organisation_invitations
    WHERE organisation_id = app.current_organisation_id()
      AND coalesce(accepted_at, revoked_at, expires_at) < least(p_before, now())
    ORDER BY coalesce(accepted_at, revoked_at, expires_at) LIMIT least(greatest(p_limit, 0), 10000)
  ), gone AS (
    DELETE FROM iam.organisation_invitations AS i USING doomed AS d
    WHERE i.organisation_id = d.organisation_id AND i.id = d.id RETURNING 1
  )
  SELECT count(*)::integer FROM gone
$$;
