-- Legacy consolidation (issue 18 item 1): what the SQLite importer keeps of the legacy stores that
-- has no typed home. Every source row is archived as it was (SQLite storage classes converted to
-- JSON: integer → number, real → number with a fraction, text → string, blob → {"$blob": base64},
-- NULL → null), keyed by (source database, table, source key); the catalogue keeps each source
-- table's columns and what became of them. Tenant tables like every other: composite keys with
-- organisation_id, RLS forced, fail closed (app.current_organisation_id() raises when unset).
CREATE SCHEMA legacy;
GRANT USAGE ON SCHEMA legacy TO prospectflow_app, prospectflow_worker, prospectflow_backup;

CREATE TABLE legacy.source_tables (
  organisation_id  uuid NOT NULL DEFAULT app.current_organisation_id() REFERENCES iam.organisations (id) ON DELETE CASCADE,
  id               uuid NOT NULL DEFAULT gen_random_uuid(),
  import_id        uuid NOT NULL,
  source_database  text NOT NULL CHECK (length(source_database) BETWEEN 1 AND 1000),
  source_table     text NOT NULL CHECK (length(source_table) BETWEEN 1 AND 1000),
  -- table / view / internal (sqlite_sequence, sqlite_stat*): only tables are archived.
  source_kind      text NOT NULL CHECK (source_kind IN ('table', 'view', 'internal')),
  -- [{name, declaredType, primaryKey, fate}] as the report shows them (column names, no values).
  columns          jsonb NOT NULL CHECK (jsonb_typeof(columns) = 'array'),
  fate             text NOT NULL CHECK (fate IN ('mapped', 'archived', 'rejected')),
  reason           text,
  rows_read        integer NOT NULL DEFAULT 0 CHECK (rows_read >= 0),
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organisation_id, id),
  UNIQUE (organisation_id, import_id, source_database, source_table)
);
SELECT app.register_tenant_table('legacy.source_tables');

CREATE TABLE legacy.archive_rows (
  organisation_id  uuid NOT NULL DEFAULT app.current_organisation_id() REFERENCES iam.organisations (id) ON DELETE CASCADE,
  id               uuid NOT NULL DEFAULT gen_random_uuid(),
  -- The import that last wrote the row (no foreign key: the archive outlives import bookkeeping).
  import_id        uuid NOT NULL,
  source_database  text NOT NULL CHECK (length(source_database) BETWEEN 1 AND 1000),
  source_table     text NOT NULL CHECK (length(source_table) BETWEEN 1 AND 1000),
  -- The primary key's value(s) as JSON text when unique and not null, else "rowid:<n>".
  source_key       text NOT NULL,
  original         jsonb NOT NULL CHECK (jsonb_typeof(original) = 'object'),
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organisation_id, id),
  UNIQUE (organisation_id, source_database, source_table, source_key)
);
CREATE INDEX archive_rows_org_import_idx ON legacy.archive_rows (organisation_id, import_id);
SELECT app.register_tenant_table('legacy.archive_rows');

-- Erasure (Art. 17) contract of apps/ingest-api/src/privacy/erasure.ts: removes the current
-- organisation's archived rows with a value containing one of the emails or names
-- (case-insensitive, LIKE wildcards escaped) and returns how many went.
CREATE FUNCTION app.erase_legacy_subject(p_emails text[], p_names text[]) RETURNS integer
  LANGUAGE sql VOLATILE SECURITY INVOKER
  SET search_path = pg_catalog, pg_temp
AS $$
  WITH patterns AS (
    SELECT '%' || replace(replace(replace(lower(x), '\', '\\'), '%', '\%'), '_', '\_') || '%' AS p
    FROM unnest(coalesce(p_emails, '{}') || coalesce(p_names, '{}')) AS x
    WHERE length(btrim(x)) >= 3
  ), gone AS (
    DELETE FROM legacy.archive_rows AS a
    WHERE a.organisation_id = app.current_organisation_id()
      AND EXISTS (SELECT 1 FROM jsonb_each_text(a.original) AS v, patterns
                  WHERE lower(v.value) LIKE patterns.p)
    RETURNING 1
  )
  SELECT count(*)::integer FROM gone
$$;

GRANT SELECT, INSERT, UPDATE, DELETE ON legacy.source_tables, legacy.archive_rows TO prospectflow_app, prospectflow_worker;
GRANT SELECT ON legacy.source_tables, legacy.archive_rows TO prospectflow_backup;
REVOKE ALL ON FUNCTION app.erase_legacy_subject(text[], text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.erase_legacy_subject(text[], text[]) TO prospectflow_app, prospectflow_worker;
