CREATE OR REPLACE FUNCTION app.set_updated_provenance() RETURNS trigger
  LANGUAGE plpgsql SECURITY INVOKER
AS $$
BEGIN
  NEW.updated_source := app.current_source_kind();
  NEW.updated_import_id := app.current_import_id();
  NEW.updated_by := app.current_user_id();
  RETURN NEW;
END;
$$;
CREATE OR REPLACE FUNCTION app.set_updated_at() RETURNS trigger
  LANGUAGE plpgsql SECURITY INVOKER
AS $$
BEGIN
  NEW.updated_at := pg_catalog.clock_timestamp();
  RETURN NEW;
END;
$$;
DO $$
DECLARE
  target text;
BEGIN
  FOREACH target IN ARRAY ARRAY['crm.companies', 'crm.people', 'crm.positions', 'outreach.prompts',
      'crm.import_source_keys', 'legacy.archive_rows', 'legacy.source_tables'] LOOP
    EXECUTE format('DROP TRIGGER IF EXISTS ledger_inserted ON %1$s; DROP TRIGGER IF EXISTS ledger_updated ON %1$s;
                    DROP TRIGGER IF EXISTS ledger_deleted ON %1$s;', target);
  END LOOP;
END;
$$;
DROP FUNCTION IF EXISTS app.seal_import_ledger();
DROP FUNCTION IF EXISTS app.ledger_deleted();
DROP FUNCTION IF EXISTS app.ledger_updated();
DROP FUNCTION IF EXISTS app.ledger_inserted();
ALTER TABLE crm.imports DROP COLUMN IF EXISTS undone_at;
DROP TABLE IF EXISTS crm.import_changes;
