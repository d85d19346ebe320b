-- Closed invitations (accepted, revoked or expired) keep the invited address only for a while: the
-- retention task deletes them 30 days after they closed (rule 'closed_invitations' in
-- outreach-core). Through a narrow function, like the audit log: the worker gets no write access
-- to invitations, so a compromised worker still cannot grant itself a seat (migration 0880).
CREATE INDEX organisation_invitations_org_closed_idx
  ON iam.organisation_invitations (organisation_id, (coalesce(accepted_at, revoked_at, expires_at)));

-- One batch of the current organisation's invitations closed before p_before.
CREATE FUNCTION app.purge_closed_invitations(p_before timestamptz, p_limit integer) RETURNS integer
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
GRANT SELECT (accepted_at, revoked_at), DELETE ON iam.organisation_invitations TO prospectflow_system;
-- Each deletion is audited (audit_invitation trigger) like any other change.
GRANT INSERT ON iam.audit_log TO prospectflow_system;
ALTER FUNCTION app.purge_closed_invitations(timestamptz, integer) OWNER TO prospectflow_system;
REVOKE ALL ON FUNCTION app.purge_closed_invitations(timestamptz, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.purge_closed_invitations(timestamptz, integer) TO prospectflow_worker;
