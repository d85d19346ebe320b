-- Key rotation (issue 16): which organisations hold sealed secrets whose data key is wrapped by a
-- key other than the active one. The rotation command then re-wraps them organisation by
-- organisation, under RLS; this is its one narrow look across organisations (ids only).
CREATE FUNCTION app.organisations_with_sealed_secrets(p_active_key_id text)
  RETURNS TABLE (organisation_id uuid, pending bigint)
  LANGUAGE sql STABLE SECURITY DEFINER
  SET search_path = pg_catalog
AS $$
  SELECT organisation_id, count(*) FROM (
    SELECT organisation_id FROM outreach.mailboxes WHERE secret_key_id IS NOT NULL AND secret_key_id <> p_active_key_id
    UNION ALL
    SELECT organisation_id FROM outreach.sending_domains WHERE dkim_key_id <> p_active_key_id
  ) AS sealed
  GROUP BY organisation_id ORDER BY organisation_id
$$;

GRANT SELECT (organisation_id, secret_key_id) ON outreach.mailboxes TO prospectflow_system;
GRANT SELECT (organisation_id, dkim_key_id) ON outreach.sending_domains TO prospectflow_system;
ALTER FUNCTION app.organisations_with_sealed_secrets(text) OWNER TO prospectflow_system;
REVOKE ALL ON FUNCTION app.organisations_with_sealed_secrets(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.organisations_with_sealed_secrets(text) TO prospectflow_worker;
