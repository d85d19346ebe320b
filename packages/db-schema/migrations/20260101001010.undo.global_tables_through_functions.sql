DROP FUNCTION app.current_organisation(), app.create_current_organisation(text, text),
  app.update_current_organisation(text, text), app.lock_current_organisation(), app.user_account(uuid),
  app.sync_user(text, text, text, boolean, text, text, text);

DROP FUNCTION app.user_memberships(uuid);
CREATE FUNCTION app.user_memberships(p_user_id uuid)
  RETURNS TABLE (organisation_id uuid, role text, status text, organisation_status text)
  LANGUAGE sql STABLE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $$
  SELECT m.organisation_id, m.role, m.status, o.status
  FROM iam.organisation_users AS m
  JOIN iam.organisations AS o ON o.id = m.organisation_id
  WHERE m.user_id = p_user_id
$$;

DROP FUNCTION app.user_invitations(uuid);
CREATE FUNCTION app.user_invitations(p_user_id uuid)
  RETURNS TABLE (organisation_id uuid, id uuid, role text, status text, expires_at timestamptz,
                 email_verified boolean)
  LANGUAGE sql STABLE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $$
  SELECT i.organisation_id, i.id, i.role, i.status, i.expires_at, u.email_verified
  FROM iam.users AS u
  JOIN iam.organisation_invitations AS i ON i.email OPERATOR(public.=) u.email
  WHERE u.id = p_user_id
$$;

ALTER FUNCTION app.user_memberships(uuid) OWNER TO prospectflow_system;
ALTER FUNCTION app.user_invitations(uuid) OWNER TO prospectflow_system;
REVOKE ALL ON FUNCTION app.user_memberships(uuid), app.user_invitations(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.user_memberships(uuid), app.user_invitations(uuid) TO prospectflow_app;

REVOKE SELECT (name, slug), INSERT (id, name, slug), UPDATE (name, slug) ON iam.organisations
  FROM prospectflow_system;
REVOKE SELECT, INSERT, UPDATE ON iam.users FROM prospectflow_system;
GRANT SELECT (id, email, email_verified) ON iam.users TO prospectflow_system;

GRANT SELECT, INSERT, UPDATE ON iam.organisations, iam.users TO prospectflow_app;
GRANT SELECT ON iam.organisations, iam.users TO prospectflow_worker;
