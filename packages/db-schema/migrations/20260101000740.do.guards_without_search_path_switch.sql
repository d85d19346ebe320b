-- The guard functions run once per scanned tenant table (policy USING), once per written row
-- (policy WITH CHECK, the organisation_id DEFAULT) and once per updated row (updated_at trigger),
-- so what each call costs adds up: on the 2-core VM the previous guard added 10 µs per row (+41%)
-- to a 100,000-row INSERT under RLS, this one ≈ 1 µs (bench/tenant-guard-variants.ts). Two costs
-- went: the `SET search_path` clause, which saves, sets and restores the setting on every call —
-- instead every function, operator and type in these bodies is named with its schema, so no
-- caller's search_path (even one putting pg_temp, where temp tables shadow type names, first)
-- changes what they resolve to, as the validation check `guard-ignores-search-path` shows — and
-- the exception block that turned a malformed setting into PF002 (see below).
-- Functions with more SQL in them (claims, sends, audit) keep their pinned search_path.

CREATE OR REPLACE FUNCTION app.current_organisation_id() RETURNS uuid
  LANGUAGE plpgsql STABLE SECURITY INVOKER PARALLEL SAFE
AS $$
DECLARE
  raw pg_catalog.text := pg_catalog.current_setting('app.organisation_id', true);
BEGIN
  IF raw IS NULL OR raw OPERATOR(pg_catalog.=) '' THEN
    RAISE EXCEPTION 'no organisation in context: app.organisation_id is not set for this transaction'
      USING ERRCODE = 'PF001',
            HINT = 'Run the statement inside a tenant unit of work (@prospectflow/tenant-context).';
  END IF;
  -- A malformed value fails the cast (22P02, "invalid input syntax for type uuid"). Re-raising it
  -- as PF002 took an exception block, which opens a subtransaction on every call (≈ 5 µs).
  RETURN raw::pg_catalog.uuid;
END;
$$;

-- Without the SET clause this one-SELECT SQL function is also inlined into the calling statement.
CREATE OR REPLACE FUNCTION app.current_user_id() RETURNS uuid
  LANGUAGE sql STABLE SECURITY INVOKER PARALLEL SAFE
AS $$
  SELECT CASE WHEN pg_catalog.current_setting('app.user_id', true) OPERATOR(pg_catalog.=) '' THEN NULL
              ELSE pg_catalog.current_setting('app.user_id', true)::pg_catalog.uuid END
$$;

CREATE OR REPLACE FUNCTION app.set_updated_at() RETURNS trigger
  LANGUAGE plpgsql SECURITY INVOKER
AS $$
BEGIN
  NEW.updated_at := pg_catalog.clock_timestamp();
  RETURN NEW;
END;
$$;
