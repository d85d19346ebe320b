-- Runtime roles hold DML on tenant tables only (issue 3). The two global tables were the exception:
-- prospectflow_app could read every user's email and rename or re-slug any organisation, and the
-- worker could read both, so one injected statement crossed every tenant. Neither role holds any
-- privilege on them now. Each use the API has of them is a narrow SECURITY DEFINER function owned
-- by the NOLOGIN system role: the unit's own organisation (app.current_organisation_id()), or one
-- user's own row by id (the id comes from a verified token, like app.user_memberships).
REVOKE ALL ON iam.organisations, iam.users FROM prospectflow_app, prospectflow_worker;

GRANT SELECT (name, slug), INSERT (id, name, slug), UPDATE (name, slug) ON iam.organisations
  TO prospectflow_system;
-- SELECT on the whole table: app.sync_user's RETURNING reads the system column xmax (inserted or not).
GRANT SELECT,
      INSERT (cognito_sub, cognito_pool_id, email, email_verified, first_name, last_name, last_seen_at),
      UPDATE (cognito_pool_id, email, email_verified, first_name, last_name, last_seen_at)
  ON iam.users TO prospectflow_system;

-- The unit's organisation (404 material when absent: no row).
CREATE FUNCTION app.current_organisation()
  RETURNS TABLE (id uuid, name text, slug text, status text)
  LANGUAGE sql STABLE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $$
  SELECT o.id, o.name, o.slug::text, o.status FROM iam.organisations AS o
  WHERE o.id = app.current_organisation_id()
$$;

-- Creates the unit's organisation: its id is the unit's, never a caller-chosen other one.
CREATE FUNCTION app.create_current_organisation(p_name text, p_slug text) RETURNS void
  LANGUAGE sql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $$
  INSERT INTO iam.organisations (id, name, slug) VALUES (app.current_organisation_id(), p_name, p_slug)
$$;

-- Renames the unit's organisation (NULL keeps a value).
CREATE FUNCTION app.update_current_organisation(p_name text, p_slug text)
  RETURNS TABLE (id uuid, name text, slug text, status text)
  LANGUAGE sql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $$
  UPDATE iam.organisations AS o SET name = coalesce(p_name, o.name), slug = coalesce(p_slug, o.slug)
  WHERE o.id = app.current_organisation_id()
  RETURNING o.id, o.name, o.slug::text, o.status
$$;

-- Locks the unit's organisation row for the rest of the transaction: every change to the owner set
-- takes it first. NO KEY UPDATE does not block the foreign-key checks of ordinary writes.
CREATE FUNCTION app.lock_current_organisation() RETURNS void
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  PERFORM 1 FROM iam.organisations AS o WHERE o.id = app.current_organisation_id() FOR NO KEY UPDATE;
END;
$$;

-- One user's row (their profile, their Cognito identity, whether their email is verified).
CREATE FUNCTION app.user_account(p_user_id uuid)
  RETURNS TABLE (id uuid, cognito_sub text, cognito_pool_id text, email public.citext,
                 email_verified boolean, first_name text, last_name text)
  LANGUAGE sql STABLE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $$
  SELECT u.id, u.cognito_sub, u.cognito_pool_id, u.email, u.email_verified, u.first_name, u.last_name
  FROM iam.users AS u WHERE u.id = p_user_id
$$;

-- Keeps a user in step with their verified token (auth-core's UserSyncService): one INSERT … ON
-- CONFLICT, so concurrent first requests for a new sub get the same row. A sub already claimed by
-- another user pool returns no row. p_email_change: 'set' (p_email, p_email_verified), 'unverify'
-- (keep the address, no longer verified) or 'keep'.
CREATE FUNCTION app.sync_user(p_sub text, p_pool_id text, p_email text, p_email_verified boolean,
                              p_first_name text, p_last_name text, p_email_change text)
  RETURNS TABLE (id uuid, created boolean)
  LANGUAGE sql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $$
  INSERT INTO iam.users AS u (cognito_sub, cognito_pool_id, email, email_verified, first_name, last_name, last_seen_at)
  VALUES (p_sub, p_pool_id, p_email, p_email_verified, p_first_name, p_last_name, now())
  ON CONFLICT (cognito_sub) DO UPDATE SET
    cognito_pool_id = EXCLUDED.cognito_pool_id,
    email = CASE WHEN p_email_change = 'set' THEN EXCLUDED.email ELSE u.email END,
    email_verified = CASE p_email_change WHEN 'set' THEN EXCLUDED.email_verified WHEN 'unverify' THEN false
                     ELSE u.email_verified END,
    first_name = coalesce(EXCLUDED.first_name, u.first_name),
    last_name = coalesce(EXCLUDED.last_name, u.last_name),
    last_seen_at = now()
  WHERE u.cognito_pool_id IS NULL OR u.cognito_pool_id = EXCLUDED.cognito_pool_id
  RETURNING u.id, (u.xmax = 0)
$$;

-- A user's memberships and invitations now carry the organisation's name (and slug), which the
-- API can no longer read from the table.
DROP FUNCTION app.user_memberships(uuid);
CREATE FUNCTION app.user_memberships(p_user_id uuid)
  RETURNS TABLE (organisation_id uuid, role text, status text, organisation_status text,
                 organisation_name text, organisation_slug text)
  LANGUAGE sql STABLE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $$
  SELECT m.organisation_id, m.role, m.status, o.status, o.name, o.slug::text
  FROM iam.organisation_users AS m
  JOIN iam.organisations AS o ON o.id = m.organisation_id
  WHERE m.user_id = p_user_id
$$;

DROP FUNCTION app.user_invitations(uuid);
CREATE FUNCTION app.user_invitations(p_user_id uuid)
  RETURNS TABLE (organisation_id uuid, id uuid, role text, status text, expires_at timestamptz,
                 email_verified boolean, organisation_name text)
  LANGUAGE sql STABLE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $$
  SELECT i.organisation_id, i.id, i.role, i.status, i.expires_at, u.email_verified, o.name
  FROM iam.users AS u
  JOIN iam.organisation_invitations AS i ON i.email OPERATOR(public.=) u.email
  JOIN iam.organisations AS o ON o.id = i.organisation_id
  WHERE u.id = p_user_id
$$;

ALTER FUNCTION app.current_organisation() OWNER TO prospectflow_system;
ALTER FUNCTION app.create_current_organisation(text, text) OWNER TO prospectflow_system;
ALTER FUNCTION app.update_current_organisation(text, text) OWNER TO prospectflow_system;
ALTER FUNCTION app.lock_current_organisation() OWNER TO prospectflow_system;
ALTER FUNCTION app.user_account(uuid) OWNER TO prospectflow_system;
ALTER FUNCTION app.sync_user(text, text, text, boolean, text, text, text) OWNER TO prospectflow_system;
ALTER FUNCTION app.user_memberships(uuid) OWNER TO prospectflow_system;
ALTER FUNCTION app.user_invitations(uuid) OWNER TO prospectflow_system;
REVOKE ALL ON FUNCTION app.current_organisation(), app.create_current_organisation(text, text),
  app.update_current_organisation(text, text), app.lock_current_organisation(), app.user_account(uuid),
  app.sync_user(text, text, text, boolean, text, text, text), app.user_memberships(uuid),
  app.user_invitations(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.current_organisation(), app.create_current_organisation(text, text),
  app.update_current_organisation(text, text), app.lock_current_organisation(), app.user_account(uuid),
  app.sync_user(text, text, text, boolean, text, text, text), app.user_memberships(uuid),
  app.user_invitations(uuid) TO prospectflow_app;
