-- Base: extensions, schemas, the tenant guard and shared helpers.
DO $$
BEGIN
  IF (SELECT count(*) FROM pg_roles WHERE rolname IN
      ('prospectflow_migrator', 'prospectflow_app', 'prospectflow_worker', 'prospectflow_backup', 'prospectflow_system')) < 5 THEN
    RAISE EXCEPTION 'ProspectFlow roles are missing: run `pnpm db:setup` (setupDatabase) before migrating';
  END IF;
  IF NOT (SELECT rolbypassrls AND NOT rolcanlogin FROM pg_roles WHERE rolname = 'prospectflow_system') THEN
    RAISE EXCEPTION 'role prospectflow_system must be NOLOGIN BYPASSRLS: run `pnpm db:setup` again';
  END IF;
END;
$$;

CREATE EXTENSION IF NOT EXISTS pgcrypto;
CREATE EXTENSION IF NOT EXISTS citext;

CREATE SCHEMA IF NOT EXISTS app;
CREATE SCHEMA IF NOT EXISTS iam;
CREATE SCHEMA IF NOT EXISTS crm;
CREATE SCHEMA IF NOT EXISTS outreach;
CREATE SCHEMA IF NOT EXISTS tracking;

REVOKE ALL ON SCHEMA app, iam, crm, outreach, tracking FROM PUBLIC;
GRANT USAGE ON SCHEMA app, iam, crm, outreach, tracking
  TO prospectflow_app, prospectflow_worker, prospectflow_backup, prospectflow_system;
-- prospectflow_system (NOLOGIN) owns the few SECURITY DEFINER functions that look across organisations.
GRANT CREATE ON SCHEMA app TO prospectflow_system;

-- The organisation of the current transaction. Fails closed: a missing setting (fresh backend)
-- and an empty one (a pooled backend after a transaction-local set) both raise PF001.
CREATE FUNCTION app.current_organisation_id() RETURNS uuid
  LANGUAGE plpgsql STABLE SECURITY INVOKER PARALLEL SAFE
  SET search_path = pg_catalog
AS $$
DECLARE
  raw text := current_setting('app.organisation_id', true);
BEGIN
  IF raw IS NULL OR raw = '' THEN
    RAISE EXCEPTION 'no organisation in context: app.organisation_id is not set for this transaction'
      USING ERRCODE = 'PF001',
            HINT = 'Run the statement inside a tenant unit of work (@prospectflow/tenant-context).';
  END IF;
  BEGIN
    RETURN raw::uuid;
  EXCEPTION WHEN invalid_text_representation THEN
    RAISE EXCEPTION 'app.organisation_id is not a uuid: %', raw USING ERRCODE = 'PF002';
  END;
END;
$$;

-- Acting user for audit rows; NULL when unset.
CREATE FUNCTION app.current_user_id() RETURNS uuid
  LANGUAGE sql STABLE SECURITY INVOKER PARALLEL SAFE
  SET search_path = pg_catalog
AS $$ SELECT NULLIF(current_setting('app.user_id', true), '')::uuid $$;

CREATE FUNCTION app.set_updated_at() RETURNS trigger
  LANGUAGE plpgsql SECURITY INVOKER
  SET search_path = pg_catalog
AS $$
BEGIN
  NEW.updated_at := clock_timestamp();
  RETURN NEW;
END;
$$;

-- Makes a table a tenant table: fail-closed RLS (ENABLE + FORCE, one FOR ALL policy) and the updated_at trigger.
CREATE FUNCTION app.register_tenant_table(target regclass) RETURNS void
  LANGUAGE plpgsql SECURITY INVOKER
  SET search_path = pg_catalog
AS $$
BEGIN
  EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', target);
  EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', target);
  EXECUTE format(
    'CREATE POLICY tenant_isolation ON %s FOR ALL '
    'USING (organisation_id = app.current_organisation_id()) '
    'WITH CHECK (organisation_id = app.current_organisation_id())', target);
  EXECUTE format('CREATE TRIGGER set_updated_at BEFORE UPDATE ON %s FOR EACH ROW EXECUTE FUNCTION app.set_updated_at()', target);
END;
$$;

-- SIREN (9 digits) and SIRET (14 digits) carry a Luhn check digit.
CREATE FUNCTION app.luhn_valid(digits text) RETURNS boolean
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  SET search_path = pg_catalog
AS $$
  SELECT digits ~ '^[0-9]+$' AND (
    SELECT sum(CASE WHEN (length(digits) - i) % 2 = 1
                    THEN (CASE WHEN d * 2 > 9 THEN d * 2 - 9 ELSE d * 2 END)
                    ELSE d END) % 10 = 0
    FROM (SELECT i, substr(digits, i, 1)::int AS d FROM generate_series(1, length(digits)) AS i) AS s
  )
$$;

CREATE FUNCTION app.is_valid_siren(value text) RETURNS boolean
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  SET search_path = pg_catalog
AS $$ SELECT value ~ '^[0-9]{9}$' AND app.luhn_valid(value) $$;

-- IANA zone names known to this server; used by CHECK constraints (the zone list is static per release).
CREATE FUNCTION app.is_valid_time_zone(zone text) RETURNS boolean
  LANGUAGE plpgsql IMMUTABLE STRICT
  SET search_path = pg_catalog
AS $$
BEGIN
  PERFORM now() AT TIME ZONE zone;
  RETURN zone !~ '^[+-]?[0-9]' AND zone <> '';
EXCEPTION WHEN invalid_parameter_value THEN
  RETURN false;
END;
$$;

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA app FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.current_organisation_id(), app.current_user_id(), app.set_updated_at(),
  app.luhn_valid(text), app.is_valid_siren(text), app.is_valid_time_zone(text)
  TO prospectflow_app, prospectflow_worker, prospectflow_backup, prospectflow_system;
