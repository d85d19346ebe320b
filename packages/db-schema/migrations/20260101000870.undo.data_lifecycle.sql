DROP FUNCTION IF EXISTS app.enqueue_retention_tasks(timestamptz);
DROP FUNCTION IF EXISTS app.purge_audit_log(timestamptz, integer);
REVOKE INSERT (organisation_id, type, priority, run_at, dedupe_key, max_attempts) ON outreach.tasks FROM prospectflow_system;
REVOKE SELECT, DELETE ON iam.audit_log FROM prospectflow_system;
REVOKE EXECUTE ON FUNCTION app.notify_tasks_due() FROM prospectflow_system;
-- Rows only this migration's code could write, removed organisation by organisation under RLS.
DO $$
DECLARE
  org uuid;
BEGIN
  FOR org IN SELECT id FROM iam.organisations LOOP
    PERFORM set_config('app.organisation_id', org::text, true);
    DELETE FROM outreach.tasks WHERE type = 'apply_retention';
    DELETE FROM iam.audit_log WHERE action = 'import';
  END LOOP;
  PERFORM set_config('app.organisation_id', '', true);
END;
$$;
DROP INDEX IF EXISTS crm.import_errors_org_created_idx;
DROP INDEX IF EXISTS tracking.open_events_org_opened_idx;
DROP INDEX IF EXISTS outreach.tasks_org_finished_idx;
ALTER TABLE outreach.tasks
  DROP CONSTRAINT tasks_type_check,
  ADD CONSTRAINT tasks_type_check CHECK (type IN ('schedule_enrollment', 'send_step', 'noop', 'verify_mailbox'));

DO $$
DECLARE
  target text;
BEGIN
  FOREACH target IN ARRAY ARRAY['crm.companies', 'crm.people', 'crm.positions', 'outreach.campaigns',
      'outreach.workflow_steps', 'outreach.step_experiments', 'outreach.step_experiment_variants',
      'outreach.mailboxes'] LOOP
    EXECUTE format('DROP TRIGGER IF EXISTS audit_row_change ON %s', target);
  END LOOP;
  FOREACH target IN ARRAY ARRAY['crm.companies', 'crm.people', 'crm.positions'] LOOP
    EXECUTE format('DROP TRIGGER IF EXISTS audit_import_statement ON %s', target);
  END LOOP;
END;
$$;
DROP FUNCTION IF EXISTS app.audit_import_statement();
DROP INDEX IF EXISTS iam.audit_log_org_table_row_idx;

ALTER TABLE iam.audit_log
  DROP COLUMN changed_fields,
  DROP COLUMN import_id,
  ADD COLUMN before jsonb,
  ADD COLUMN after jsonb,
  DROP CONSTRAINT audit_log_action_check,
  ADD CONSTRAINT audit_log_action_check CHECK (action IN ('insert', 'update', 'delete'));
CREATE OR REPLACE FUNCTION app.audit_row_change() RETURNS trigger
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

DROP TABLE IF EXISTS iam.erasure_requests;
DROP TABLE IF EXISTS iam.erasures;
DROP TABLE IF EXISTS outreach.suppression_hashes;
DROP TABLE IF EXISTS iam.privacy_settings;

DROP TRIGGER IF EXISTS note_inbound_contact ON outreach.messages;
DROP FUNCTION IF EXISTS app.note_inbound_contact();
ALTER TABLE crm.positions DROP COLUMN art14_notified_at;
DROP INDEX IF EXISTS crm.people_org_retention_idx;
ALTER TABLE crm.people DROP COLUMN collected_at, DROP COLUMN last_inbound_at;
DROP FUNCTION IF EXISTS app.provenance(text, uuid, uuid, timestamptz);

DO $$
DECLARE
  target text;
BEGIN
  FOREACH target IN ARRAY ARRAY['crm.companies', 'crm.people', 'crm.positions'] LOOP
    EXECUTE format($f$
      DROP TRIGGER set_updated_provenance ON %1$s;
      ALTER TABLE %1$s DROP COLUMN created_source, DROP COLUMN created_import_id, DROP COLUMN created_by,
        DROP COLUMN updated_source, DROP COLUMN updated_import_id, DROP COLUMN updated_by;
    $f$, target);
  END LOOP;
END;
$$;
DROP FUNCTION IF EXISTS app.set_updated_provenance();
DROP FUNCTION IF EXISTS app.current_source_kind();
DROP FUNCTION IF EXISTS app.current_import_id();
