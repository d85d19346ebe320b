-- Import ledger, cheaper seal (issue 19: the import at >= 0.7x raw COPY). Migration 0962 wrote
-- each created row's ledger line at INSERT and hashed it at the end (app.seal_import_ledger): an
-- UPDATE of every ledger line, as costly as the import's own inserts. The hash is now taken from
-- the statement's transition table as the line is written (the same md5(to_jsonb(row)) as the
-- row as stored), and the seal hashes only lines still without one: rows the import updated,
-- and created rows a later statement of the same import changed (their hash is cleared then).
-- Numbered after 0963, not in the imports range 0910–0919: it replaces functions 0962 creates,
-- so on a fresh database it must run after them.
CREATE OR REPLACE FUNCTION app.ledger_inserted() RETURNS trigger
  LANGUAGE plpgsql SECURITY INVOKER
  SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  INSERT INTO crm.import_changes (organisation_id, import_id, table_name, row_id, action, after_md5)
  SELECT n.organisation_id, app.current_import_id(), TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME, n.id, 'insert',
         md5(to_jsonb(n)::text)
    FROM new_rows AS n
  ON CONFLICT (organisation_id, import_id, table_name, row_id) DO NOTHING;
  RETURN NULL;
END;
$$;

-- First change wins for the before-image; any later change of the row in the same import makes
-- its hash stale (NULL), so the seal takes it again.
CREATE OR REPLACE FUNCTION app.ledger_updated() RETURNS trigger
  LANGUAGE plpgsql SECURITY INVOKER
  SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  INSERT INTO crm.import_changes (organisation_id, import_id, table_name, row_id, action, before)
  SELECT o.organisation_id, app.current_import_id(), TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME, o.id, 'update', to_jsonb(o)
    FROM old_rows AS o
  ON CONFLICT (organisation_id, import_id, table_name, row_id) DO UPDATE SET after_md5 = NULL
   WHERE crm.import_changes.after_md5 IS NOT NULL;
  RETURN NULL;
END;
$$;

-- The seal finds the lines it still has to hash without reading the import's whole ledger.
CREATE INDEX import_changes_unsealed_idx ON crm.import_changes (organisation_id, import_id, table_name)
  WHERE after_md5 IS NULL;

CREATE OR REPLACE FUNCTION app.seal_import_ledger() RETURNS integer
  LANGUAGE plpgsql SECURITY INVOKER
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  target text;
  total integer := 0;
  n integer;
BEGIN
  FOR target IN SELECT DISTINCT table_name FROM crm.import_changes
                 WHERE import_id = app.current_import_id() AND after_md5 IS NULL LOOP
    EXECUTE format(
      'UPDATE crm.import_changes AS c SET after_md5 = md5(to_jsonb(x)::text) FROM %s AS x
        WHERE c.import_id = $1 AND c.table_name = $2 AND c.after_md5 IS NULL AND x.id = c.row_id', target::regclass)
      USING app.current_import_id(), target;
    GET DIAGNOSTICS n = ROW_COUNT;
    total := total + n;
  END LOOP;
  RETURN total;
END;
$$;
