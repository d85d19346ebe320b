-- The closed invitations' narrow purge function (0882) trusted its caller's cutoff, as the audit
-- purge did before 1007: the worker role, which cannot delete invitations itself, could delete one
-- closed a minute ago by passing a later date. It now deletes only invitations closed more than 30
-- days ago (CLOSED_INVITATION_RETENTION_DAYS of @prospectflow/outreach-core, the rule's cutoff),
-- and nothing while the organisation's retention is off or it has no settings row.
CREATE OR REPLACE FUNCTION app.purge_closed_invitations(p_before timestamptz, p_limit integer) RETURNS integer
  LANGUAGE sql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $$
  WITH policy AS (
    SELECT least(p_before, now() - interval '30 days') AS cutoff
    FROM iam.privacy_settings AS s
    WHERE s.organisation_id = app.current_organisation_id() AND s.retention_enabled
  ), doomed AS (
    SELECT i.organisation_id, i.id FROM iam.organisation_invitations AS i, policy AS p
    WHERE i.organisation_id = app.current_organisation_id()
      AND coalesce(i.accepted_at, i.revoked_at, i.expires_at) < p.cutoff
    ORDER BY coalesce(i.accepted_at, i.revoked_at, i.expires_at) LIMIT least(greatest(p_limit, 0), 10000)
  ), gone AS (
    DELETE FROM iam.organisation_invitations AS i USING doomed AS d
    WHERE i.organisation_id = d.organisation_id AND i.id = d.id RETURNING 1
  )
  SELECT count(*)::integer FROM gone
$$;
