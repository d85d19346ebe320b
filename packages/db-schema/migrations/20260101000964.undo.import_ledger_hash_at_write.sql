DROP INDEX IF EXISTS crm.import_changes_unsealed_idx;
CREATE OR REPLACE FUNCTION app.ledger_inserted() RETURNS trigger
  LANGUAGE plpgsql SECURITY INVOKER
  SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  INSERT INTO crm.import_changes (organisation_id, import_id, table_name, row_id, action)
  SELECT n.organisation_id, app.current_import_id(), TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME, n.id, 'insert'
    FROM new_rows AS n
  ON CONFLICT (organisation_id, import_id, table_name, row_id) DO NOTHING;
  RETURN NULL;
END;
$$;

CREATE OR REPLACE FUNCTION app.ledger_updated() RETURNS trigger
  LANGUAGE plpgsql SECURITY INVOKER
  SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  INSERT INTO crm.import_changes (organisation_id, import_id, table_name, row_id, action, before)
  SELECT o.organisation_id, app.current_import_id(), TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME, o.id, 'update', to_jsonb(o)
    FROM old_rows AS o
  ON CONFLICT (organisation_id, import_id, table_name, row_id) DO NOTHING;
  RETURN NULL;
END;
$$;

CREATE OR REPLACE FUNCTION app.seal_import_ledger() RETURNS integer
  LANGUAGE plpgsql SECURITY INVOKER
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  target text;
  total integer := 0;
  n integer;
BEGIN
  FOR target IN SELECT DISTINCT table_name FROM crm.import_changes WHERE import_id = app.current_import_id() LOOP
    EXECUTE format(
      'UPDATE crm.import_changes AS c SET after_md5 = md5(to_jsonb(x)::text) FROM %s AS x
        WHERE c.import_id = $1 AND c.table_name = $2 AND x.id = c.row_id', target::regclass)
      USING app.current_import_id(), target;
    GET DIAGNOSTICS n = ROW_COUNT;
    total := total + n;
  END LOOP;
  RETURN total;
END;
$$;
