-- Import ledger (issue 18 item 2): what each import created and updated, so `--undo` and
-- DELETE /v1/imports/{id} can remove exactly what it created and restore what it updated when
-- nothing changed the row since. Written by statement-level triggers (transition tables: one
-- INSERT per statement, not per row) while the import's transaction has `app.import_id` set —
-- the contract every importer already follows (0870) — so it is written wherever the engine
-- runs (API, worker, SQLite CLI). The importer seals it at the end (app.seal_import_ledger):
-- a hash of each row as the import left it, to tell later changes apart.
CREATE TABLE crm.import_changes (
  organisation_id  uuid NOT NULL DEFAULT app.current_organisation_id() REFERENCES iam.organisations (id) ON DELETE CASCADE,
  id               uuid NOT NULL DEFAULT gen_random_uuid(),
  import_id        uuid NOT NULL,
  table_name       text NOT NULL CHECK (table_name IN ('crm.companies', 'crm.people', 'crm.positions', 'outreach.prompts',
                     'crm.import_source_keys', 'legacy.archive_rows', 'legacy.source_tables')),
  row_id           uuid NOT NULL,
  -- insert: the import created the row; update: it changed an existing one (first change wins).
  action           text NOT NULL CHECK (action IN ('insert', 'update')),
  -- The row before the import's first change (updates); NULL once the row is deleted (erasure:
  -- no copy of a deleted person survives here).
  before           jsonb,
  -- md5 of the row as the import left it; a different hash now means someone changed it since.
  after_md5        text CHECK (after_md5 IS NULL OR after_md5 ~ '^[0-9a-f]{32}$'),
  row_deleted      boolean NOT NULL DEFAULT false,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organisation_id, id),
  UNIQUE (organisation_id, import_id, table_name, row_id)
);
CREATE INDEX import_changes_org_row_idx ON crm.import_changes (organisation_id, table_name, row_id);
SELECT app.register_tenant_table('crm.import_changes');

ALTER TABLE crm.imports ADD COLUMN undone_at timestamptz;

CREATE FUNCTION app.ledger_inserted() RETURNS trigger
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

CREATE FUNCTION app.ledger_updated() RETURNS trigger
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

-- Whoever deletes a row (a user, retention, an erasure), its before-images go: an undo then
-- reports the row as deleted instead of bringing back data that was meant to go.
CREATE FUNCTION app.ledger_deleted() RETURNS trigger
  LANGUAGE plpgsql SECURITY INVOKER
  SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  UPDATE crm.import_changes AS c SET before = NULL, row_deleted = true
    FROM old_rows AS o
   WHERE c.organisation_id = o.organisation_id AND c.table_name = TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME
     AND c.row_id = o.id AND NOT c.row_deleted;
  RETURN NULL;
END;
$$;

DO $$
DECLARE
  target text;
BEGIN
  FOREACH target IN ARRAY ARRAY['crm.companies', 'crm.people', 'crm.positions', 'outreach.prompts',
      'crm.import_source_keys', 'legacy.archive_rows', 'legacy.source_tables'] LOOP
    EXECUTE format($f$
      CREATE TRIGGER ledger_inserted AFTER INSERT ON %1$s REFERENCING NEW TABLE AS new_rows
        FOR EACH STATEMENT WHEN (NULLIF(pg_catalog.current_setting('app.import_id', true), '') IS NOT NULL)
        EXECUTE FUNCTION app.ledger_inserted();
      CREATE TRIGGER ledger_updated AFTER UPDATE ON %1$s REFERENCING OLD TABLE AS old_rows
        FOR EACH STATEMENT WHEN (NULLIF(pg_catalog.current_setting('app.import_id', true), '') IS NOT NULL)
        EXECUTE FUNCTION app.ledger_updated();
      CREATE TRIGGER ledger_deleted AFTER DELETE ON %1$s REFERENCING OLD TABLE AS old_rows
        FOR EACH STATEMENT EXECUTE FUNCTION app.ledger_deleted();
    $f$, target);
  END LOOP;
END;
$$;

-- Called by the importer as the last step of its transaction: the hash of each row it touched.
CREATE FUNCTION app.seal_import_ledger() RETURNS integer
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

-- An undo restores before-images exactly: while `app.restore` is set in its transaction the
-- bookkeeping triggers keep the restored updated_at / updated_* values.
CREATE OR REPLACE FUNCTION app.set_updated_at() RETURNS trigger
  LANGUAGE plpgsql SECURITY INVOKER
AS $$
BEGIN
  IF NULLIF(pg_catalog.current_setting('app.restore', true), '') IS NULL THEN
    NEW.updated_at := pg_catalog.clock_timestamp();
  END IF;
  RETURN NEW;
END;
$$;

CREATE OR REPLACE FUNCTION app.set_updated_provenance() RETURNS trigger
  LANGUAGE plpgsql SECURITY INVOKER
AS $$
BEGIN
  IF NULLIF(pg_catalog.current_setting('app.restore', true), '') IS NULL THEN
    NEW.updated_source := app.current_source_kind();
    NEW.updated_import_id := app.current_import_id();
    NEW.updated_by := app.current_user_id();
  END IF;
  RETURN NEW;
END;
$$;

GRANT SELECT, INSERT, UPDATE, DELETE ON crm.import_changes TO prospectflow_app, prospectflow_worker;
GRANT SELECT ON crm.import_changes TO prospectflow_backup;
REVOKE ALL ON FUNCTION app.ledger_inserted(), app.ledger_updated(), app.ledger_deleted(), app.seal_import_ledger() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.ledger_inserted(), app.ledger_updated(), app.ledger_deleted(), app.seal_import_ledger()
  TO prospectflow_app, prospectflow_worker;
