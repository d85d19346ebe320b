-- Back to the definitions of 20260101000000 (pinned search_path on every call).
CREATE OR REPLACE FUNCTION app.current_organisation_id() RETURNS uuid
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

CREATE OR REPLACE FUNCTION app.current_user_id() RETURNS uuid
  LANGUAGE sql STABLE SECURITY INVOKER PARALLEL SAFE
  SET search_path = pg_catalog
AS $$ SELECT NULLIF(current_setting('app.user_id', true), '')::uuid $$;

CREATE OR REPLACE FUNCTION app.set_updated_at() RETURNS trigger
  LANGUAGE plpgsql SECURITY INVOKER
  SET search_path = pg_catalog
AS $$
BEGIN
  NEW.updated_at := clock_timestamp();
  RETURN NEW;
END;
$$;
