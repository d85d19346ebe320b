-- Identity: organisations and users are global; membership is per organisation.
CREATE TABLE iam.organisations (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name        text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
  slug        citext NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND length(slug) <= 63),
  status      text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER set_updated_at BEFORE UPDATE ON iam.organisations
  FOR EACH ROW EXECUTE FUNCTION app.set_updated_at();

CREATE TABLE iam.users (
  id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  cognito_sub      text NOT NULL UNIQUE CHECK (length(cognito_sub) BETWEEN 1 AND 128),
  cognito_pool_id  text,
  email            citext CHECK (email IS NULL OR email ~ '^[^@\s]+@[^@\s]+\.[^@\s]+$'),
  email_verified   boolean NOT NULL DEFAULT false,
  first_name       text,
  last_name        text,
  last_seen_at     timestamptz,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX users_email_idx ON iam.users (email);
CREATE TRIGGER set_updated_at BEFORE UPDATE ON iam.users
  FOR EACH ROW EXECUTE FUNCTION app.set_updated_at();

CREATE TABLE iam.organisation_users (
  organisation_id  uuid NOT NULL DEFAULT app.current_organisation_id() REFERENCES iam.organisations (id) ON DELETE CASCADE,
  id               uuid NOT NULL DEFAULT gen_random_uuid(),
  user_id          uuid NOT NULL REFERENCES iam.users (id) ON DELETE CASCADE,
  role             text NOT NULL DEFAULT 'member' CHECK (role IN ('owner', 'admin', 'member', 'viewer')),
  status           text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'invited', 'suspended')),
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organisation_id, id),
  UNIQUE (organisation_id, user_id)
);
SELECT app.register_tenant_table('iam.organisation_users');

-- Who changed a membership or a role, when, before and after. Append-only for runtime roles.
CREATE TABLE iam.audit_log (
  organisation_id  uuid NOT NULL DEFAULT app.current_organisation_id() REFERENCES iam.organisations (id) ON DELETE CASCADE,
  id               uuid NOT NULL DEFAULT gen_random_uuid(),
  actor_user_id    uuid,
  action           text NOT NULL CHECK (action IN ('insert', 'update', 'delete')),
  table_name       text NOT NULL,
  row_id           uuid NOT NULL,
  before           jsonb,
  after            jsonb,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organisation_id, id)
);
CREATE INDEX audit_log_org_created_idx ON iam.audit_log (organisation_id, created_at DESC);
SELECT app.register_tenant_table('iam.audit_log');

CREATE FUNCTION app.audit_row_change() RETURNS trigger
  LANGUAGE plpgsql SECURITY INVOKER
  SET search_path = pg_catalog
AS $$
DECLARE
  old_row jsonb := CASE WHEN TG_OP IN ('UPDATE', 'DELETE') THEN to_jsonb(OLD) END;
  new_row jsonb := CASE WHEN TG_OP IN ('INSERT', 'UPDATE') THEN to_jsonb(NEW) END;
BEGIN
  IF TG_OP = 'UPDATE' AND old_row - 'updated_at' = new_row - 'updated_at' THEN
    RETURN NULL;
  END IF;
  INSERT INTO iam.audit_log (organisation_id, actor_user_id, action, table_name, row_id, before, after)
  VALUES (COALESCE(NEW.organisation_id, OLD.organisation_id), app.current_user_id(), lower(TG_OP),
          TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME, COALESCE(NEW.id, OLD.id), old_row, new_row);
  RETURN NULL;
END;
$$;
CREATE TRIGGER audit_membership AFTER INSERT OR UPDATE OR DELETE ON iam.organisation_users
  FOR EACH ROW EXECUTE FUNCTION app.audit_row_change();

-- A user's memberships across organisations, for authentication (no tenant is chosen yet, and RLS
-- hides other organisations' rows). Narrow: one user's rows, owned by the NOLOGIN system role.
CREATE FUNCTION app.user_memberships(p_user_id uuid)
  RETURNS TABLE (organisation_id uuid, role text, status text, organisation_status text)
  LANGUAGE sql STABLE SECURITY DEFINER
  SET search_path = pg_catalog
AS $$
  SELECT m.organisation_id, m.role, m.status, o.status
  FROM iam.organisation_users AS m
  JOIN iam.organisations AS o ON o.id = m.organisation_id
  WHERE m.user_id = p_user_id
$$;

GRANT SELECT, INSERT, UPDATE ON iam.organisations, iam.users TO prospectflow_app, prospectflow_worker;
GRANT SELECT, INSERT, UPDATE, DELETE ON iam.organisation_users TO prospectflow_app, prospectflow_worker;
GRANT SELECT, INSERT ON iam.audit_log TO prospectflow_app, prospectflow_worker;
GRANT SELECT ON ALL TABLES IN SCHEMA iam TO prospectflow_backup;
GRANT SELECT (organisation_id, user_id, role, status) ON iam.organisation_users TO prospectflow_system;
GRANT SELECT (id, status) ON iam.organisations TO prospectflow_system;
ALTER FUNCTION app.user_memberships(uuid) OWNER TO prospectflow_system;
REVOKE ALL ON FUNCTION app.user_memberships(uuid), app.audit_row_change() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.user_memberships(uuid) TO prospectflow_app, prospectflow_worker;
GRANT EXECUTE ON FUNCTION app.audit_row_change() TO prospectflow_app, prospectflow_worker;
