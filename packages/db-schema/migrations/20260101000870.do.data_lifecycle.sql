-- Data lifecycle (issue 18 items 3–8): provenance of CRM records, the keyed-hash suppression
-- list, the erasure ledger and recipients' erasure requests, per-organisation privacy settings
-- (notice, retention), the audit trail of field NAMES (never values) and the retention task.

-- Retention clock (CNIL): collection, or the last contact coming FROM the person (reply, click,
-- form) — never an open, never our own sends. Existing people were collected when created: the
-- back-fill runs organisation by organisation under RLS, without moving updated_at.
ALTER TABLE crm.people
  ADD COLUMN collected_at timestamptz NOT NULL DEFAULT now(),
  ADD COLUMN last_inbound_at timestamptz;
ALTER TABLE crm.people DISABLE TRIGGER set_updated_at;
DO $$
DECLARE
  org uuid;
BEGIN
  FOR org IN SELECT id FROM iam.organisations LOOP
    PERFORM set_config('app.organisation_id', org::text, true);
    UPDATE crm.people SET collected_at = created_at;
  END LOOP;
  PERFORM set_config('app.organisation_id', '', true);
END;
$$;
ALTER TABLE crm.people ENABLE TRIGGER set_updated_at;

-- ── Provenance ──────────────────────────────────────────────────────────────────────────────
-- Who wrote a row is read from transaction-local settings, so every writer (API, CSV/JSON import,
-- SQLite importer, seeds) records it without passing it around: `app.source_kind` ('csv', 'json',
-- 'sqlite', …) and `app.import_id` are set by an import's transaction; `app.user_id` by the tenant
-- unit of work. Without an import it is 'api' when a user acts and 'system' otherwise.
-- SQL functions without SET clauses, so the planner inlines them into the INSERT (no call per row).
CREATE FUNCTION app.current_import_id() RETURNS uuid
  LANGUAGE sql STABLE SECURITY INVOKER PARALLEL SAFE
AS $$
  SELECT NULLIF(pg_catalog.current_setting('app.import_id', true), '')::pg_catalog.uuid
$$;

CREATE FUNCTION app.current_source_kind() RETURNS text
  LANGUAGE sql STABLE SECURITY INVOKER PARALLEL SAFE
AS $$
  SELECT COALESCE(
    NULLIF(pg_catalog.current_setting('app.source_kind', true), ''),
    CASE WHEN NULLIF(pg_catalog.current_setting('app.user_id', true), '') IS NOT NULL
         THEN 'api' ELSE 'system' END)
$$;

-- Beside the updated_at trigger of the three CRM tables: who last changed the row.
CREATE FUNCTION app.set_updated_provenance() RETURNS trigger
  LANGUAGE plpgsql SECURITY INVOKER
AS $$
BEGIN
  NEW.updated_source := app.current_source_kind();
  NEW.updated_import_id := app.current_import_id();
  NEW.updated_by := app.current_user_id();
  RETURN NEW;
END;
$$;

DO $$
DECLARE
  target text;
BEGIN
  FOREACH target IN ARRAY ARRAY['crm.companies', 'crm.people', 'crm.positions'] LOOP
    -- Rows written before this migration have no known source: 'unknown' (a constant default,
    -- no table rewrite), then the live default for new rows.
    EXECUTE format($f$
      ALTER TABLE %1$s
        ADD COLUMN created_source text NOT NULL DEFAULT 'unknown'
          CHECK (created_source IN ('api', 'csv', 'json', 'sqlite', 'system', 'unknown')),
        ADD COLUMN created_import_id uuid,
        ADD COLUMN created_by uuid,
        ADD COLUMN updated_source text NOT NULL DEFAULT 'unknown'
          CHECK (updated_source IN ('api', 'csv', 'json', 'sqlite', 'system', 'unknown')),
        ADD COLUMN updated_import_id uuid,
        ADD COLUMN updated_by uuid;
      ALTER TABLE %1$s
        ALTER COLUMN created_source SET DEFAULT app.current_source_kind(),
        ALTER COLUMN created_import_id SET DEFAULT app.current_import_id(),
        ALTER COLUMN created_by SET DEFAULT app.current_user_id(),
        ALTER COLUMN updated_source SET DEFAULT app.current_source_kind(),
        ALTER COLUMN updated_import_id SET DEFAULT app.current_import_id(),
        ALTER COLUMN updated_by SET DEFAULT app.current_user_id();
      CREATE TRIGGER set_updated_provenance BEFORE UPDATE ON %1$s
        FOR EACH ROW EXECUTE FUNCTION app.set_updated_provenance();
    $f$, target);
  END LOOP;
END;
$$;
-- No foreign key to crm.imports: an import row may go (undo, organisation clean-up) while the
-- records it wrote stay; the API shows the file name while the import row exists.
CREATE INDEX companies_org_created_import_idx ON crm.companies (organisation_id, created_import_id) WHERE created_import_id IS NOT NULL;
CREATE INDEX people_org_created_import_idx ON crm.people (organisation_id, created_import_id) WHERE created_import_id IS NOT NULL;
CREATE INDEX positions_org_created_import_idx ON crm.positions (organisation_id, created_import_id) WHERE created_import_id IS NOT NULL;

-- Provenance as the API shows it: {source, importId, fileName, userId, at}.
CREATE FUNCTION app.provenance(p_source text, p_import uuid, p_user uuid, p_at timestamptz) RETURNS jsonb
  LANGUAGE sql STABLE SECURITY INVOKER PARALLEL SAFE
AS $$
  SELECT pg_catalog.jsonb_build_object(
    'source', p_source, 'importId', p_import,
    'fileName', (SELECT i.file_name FROM crm.imports AS i WHERE i.id OPERATOR(pg_catalog.=) p_import),
    'userId', p_user, 'at', p_at)
$$;

-- art14_notified_at: when the first message carrying the Art. 14 notice went to this address.
CREATE INDEX people_org_retention_idx ON crm.people (organisation_id, (greatest(collected_at, coalesce(last_inbound_at, collected_at))));
ALTER TABLE crm.positions ADD COLUMN art14_notified_at timestamptz;

-- A reply moves the person's retention clock, whoever records it (API webhook, IMAP poller).
CREATE FUNCTION app.note_inbound_contact() RETURNS trigger
  LANGUAGE plpgsql SECURITY INVOKER
  SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  UPDATE crm.people AS pe SET last_inbound_at = greatest(pe.last_inbound_at, coalesce(NEW.received_at, now()))
  FROM outreach.campaign_enrollments AS e
  JOIN crm.positions AS p ON p.organisation_id = e.organisation_id AND p.id = e.position_id
  WHERE e.organisation_id = NEW.organisation_id AND e.id = NEW.enrollment_id
    AND pe.organisation_id = p.organisation_id AND pe.id = p.person_id;
  RETURN NULL;
END;
$$;
CREATE TRIGGER note_inbound_contact AFTER INSERT ON outreach.messages
  FOR EACH ROW WHEN (NEW.direction = 'inbound' AND NEW.inbound_kind = 'reply' AND NEW.enrollment_id IS NOT NULL)
  EXECUTE FUNCTION app.note_inbound_contact();

-- ── Privacy settings per organisation (a missing row means the defaults) ──────────────────────
CREATE TABLE iam.privacy_settings (
  organisation_id          uuid NOT NULL DEFAULT app.current_organisation_id() REFERENCES iam.organisations (id) ON DELETE CASCADE,
  id                       uuid NOT NULL DEFAULT gen_random_uuid(),
  privacy_notice_url       text CHECK (privacy_notice_url IS NULL OR privacy_notice_url ~* '^https?://'),
  -- The short Art. 14 notice appended to the first message of a sequence ({{privacy.*}} variables allowed).
  art14_notice             text CHECK (art14_notice IS NULL OR length(art14_notice) <= 4000),
  people_retention_days    integer NOT NULL DEFAULT 1095 CHECK (people_retention_days BETWEEN 1 AND 3650),
  open_events_retention_months integer NOT NULL DEFAULT 13 CHECK (open_events_retention_months BETWEEN 1 AND 120),
  finished_tasks_retention_days integer NOT NULL DEFAULT 30 CHECK (finished_tasks_retention_days BETWEEN 0 AND 3650),
  import_error_values_retention_days integer NOT NULL DEFAULT 90 CHECK (import_error_values_retention_days BETWEEN 0 AND 3650),
  audit_retention_days     integer NOT NULL DEFAULT 365 CHECK (audit_retention_days BETWEEN 1 AND 3650),
  retention_enabled        boolean NOT NULL DEFAULT true,
  created_at               timestamptz NOT NULL DEFAULT now(),
  updated_at               timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organisation_id, id),
  UNIQUE (organisation_id)
);
SELECT app.register_tenant_table('iam.privacy_settings');

-- ── Suppression by keyed hash (HMAC-SHA256 of the normalised email; key outside the database) ──
CREATE TABLE outreach.suppression_hashes (
  organisation_id  uuid NOT NULL DEFAULT app.current_organisation_id() REFERENCES iam.organisations (id) ON DELETE CASCADE,
  id               uuid NOT NULL DEFAULT gen_random_uuid(),
  key_version      smallint NOT NULL CHECK (key_version >= 1),
  email_hmac       bytea NOT NULL CHECK (length(email_hmac) = 32),
  reason           text NOT NULL CHECK (reason IN ('erasure', 'objection')),
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organisation_id, id),
  UNIQUE (organisation_id, key_version, email_hmac)
);
SELECT app.register_tenant_table('outreach.suppression_hashes');

-- ── Erasure ledger (no personal data: the subject is a keyed hash) ───────────────────────────
CREATE TABLE iam.erasures (
  organisation_id  uuid NOT NULL DEFAULT app.current_organisation_id() REFERENCES iam.organisations (id) ON DELETE CASCADE,
  id               uuid NOT NULL DEFAULT gen_random_uuid(),
  requested_by     uuid DEFAULT app.current_user_id(),
  request_id       uuid,
  key_version      smallint NOT NULL CHECK (key_version >= 1),
  subject_hmac     bytea NOT NULL CHECK (length(subject_hmac) = 32),
  -- store → rows removed, e.g. {"crm.people": 1, "outreach.messages": 3}
  removed          jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(removed) = 'object'),
  completed_at     timestamptz NOT NULL DEFAULT now(),
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organisation_id, id)
);
CREATE INDEX erasures_org_completed_idx ON iam.erasures (organisation_id, completed_at DESC);
SELECT app.register_tenant_table('iam.erasures');

-- Requests a recipient made from an email's page: the position they were written at (a pointer,
-- no copy of their data) until an admin carries the erasure out (Art. 12(3): one month).
CREATE TABLE iam.erasure_requests (
  organisation_id  uuid NOT NULL DEFAULT app.current_organisation_id() REFERENCES iam.organisations (id) ON DELETE CASCADE,
  id               uuid NOT NULL DEFAULT gen_random_uuid(),
  position_id      uuid,
  key_version      smallint NOT NULL CHECK (key_version >= 1),
  subject_hmac     bytea NOT NULL CHECK (length(subject_hmac) = 32),
  channel          text NOT NULL DEFAULT 'recipient_page' CHECK (channel IN ('recipient_page')),
  status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'completed')),
  received_at      timestamptz NOT NULL DEFAULT now(),
  due_at           timestamptz NOT NULL DEFAULT now() + interval '1 month',
  -- The ledger entry that carried it out (ledger rows are never deleted: no foreign key needed).
  erasure_id       uuid,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organisation_id, id)
);
-- One open request per subject: asking twice is the same request.
CREATE UNIQUE INDEX erasure_requests_one_pending_key ON iam.erasure_requests (organisation_id, key_version, subject_hmac)
  WHERE status = 'pending';
CREATE INDEX erasure_requests_org_status_idx ON iam.erasure_requests (organisation_id, status, due_at);
SELECT app.register_tenant_table('iam.erasure_requests');

-- ── Audit trail: actor, organisation, entity, action, changed field NAMES (never values) ──────
ALTER TABLE iam.audit_log
  DROP COLUMN before,
  DROP COLUMN after,
  ADD COLUMN changed_fields text[] NOT NULL DEFAULT '{}',
  ADD COLUMN import_id uuid,
  DROP CONSTRAINT audit_log_action_check,
  ADD CONSTRAINT audit_log_action_check CHECK (action IN ('insert', 'update', 'delete', 'import'));
CREATE INDEX audit_log_org_table_row_idx ON iam.audit_log (organisation_id, table_name, row_id);

-- Bookkeeping columns are not "changes" worth a line.
CREATE OR REPLACE FUNCTION app.audit_row_change() RETURNS trigger
  LANGUAGE plpgsql SECURITY INVOKER
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  old_row jsonb := CASE WHEN TG_OP IN ('UPDATE', 'DELETE') THEN to_jsonb(OLD) END;
  new_row jsonb := CASE WHEN TG_OP IN ('INSERT', 'UPDATE') THEN to_jsonb(NEW) END;
  changed text[];
BEGIN
  IF TG_OP = 'UPDATE' THEN
    SELECT coalesce(array_agg(n.key ORDER BY n.key), '{}') INTO changed
    FROM jsonb_each(new_row) AS n
    WHERE n.value IS DISTINCT FROM old_row -> n.key
      AND n.key NOT IN ('updated_at', 'updated_source', 'updated_import_id', 'updated_by');
    IF cardinality(changed) = 0 THEN
      RETURN NULL;
    END IF;
  ELSE
    changed := '{}';
  END IF;
  INSERT INTO iam.audit_log (organisation_id, actor_user_id, action, table_name, row_id, changed_fields)
  VALUES (COALESCE(NEW.organisation_id, OLD.organisation_id), app.current_user_id(), lower(TG_OP),
          TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME, COALESCE(NEW.id, OLD.id), changed);
  RETURN NULL;
END;
$$;

-- One line per import statement instead of one per row (an import writes up to millions of rows;
-- the import row itself has the counts). row_id is the import's id.
CREATE FUNCTION app.audit_import_statement() RETURNS trigger
  LANGUAGE plpgsql SECURITY INVOKER
  SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  INSERT INTO iam.audit_log (organisation_id, actor_user_id, action, table_name, row_id, changed_fields, import_id)
  VALUES (app.current_organisation_id(), app.current_user_id(), 'import', TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME,
          app.current_import_id(), ARRAY[lower(TG_OP)], app.current_import_id());
  RETURN NULL;
END;
$$;

DO $$
DECLARE
  target text;
BEGIN
  FOREACH target IN ARRAY ARRAY['crm.companies', 'crm.people', 'crm.positions', 'outreach.campaigns',
      'outreach.workflow_steps', 'outreach.step_experiments', 'outreach.step_experiment_variants',
      'outreach.mailboxes', 'iam.privacy_settings', 'iam.erasures', 'outreach.suppression_hashes'] LOOP
    EXECUTE format($f$
      CREATE TRIGGER audit_row_change AFTER INSERT OR UPDATE OR DELETE ON %1$s
        FOR EACH ROW WHEN (NULLIF(pg_catalog.current_setting('app.import_id', true), '') IS NULL)
        EXECUTE FUNCTION app.audit_row_change();
    $f$, target);
  END LOOP;
  FOREACH target IN ARRAY ARRAY['crm.companies', 'crm.people', 'crm.positions'] LOOP
    EXECUTE format($f$
      CREATE TRIGGER audit_import_statement AFTER INSERT OR UPDATE OR DELETE ON %1$s
        FOR EACH STATEMENT WHEN (NULLIF(pg_catalog.current_setting('app.import_id', true), '') IS NOT NULL)
        EXECUTE FUNCTION app.audit_import_statement();
    $f$, target);
  END LOOP;
END;
$$;

-- The audit log stays append-only for the runtime roles; its retention runs through this narrow
-- function (one batch of the current organisation's rows older than p_before).
CREATE FUNCTION app.purge_audit_log(p_before timestamptz, p_limit integer) RETURNS integer
  LANGUAGE sql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $$
  WITH doomed AS (
    SELECT organisation_id, id FROM iam.audit_log
    WHERE organisation_id = app.current_organisation_id() AND created_at < p_before
    ORDER BY created_at LIMIT least(greatest(p_limit, 0), 10000)
  ), gone AS (
    DELETE FROM iam.audit_log AS a USING doomed AS d
    WHERE a.organisation_id = d.organisation_id AND a.id = d.id RETURNING 1
  )
  SELECT count(*)::integer FROM gone
$$;

-- ── Retention task ────────────────────────────────────────────────────────────────────────────
ALTER TABLE outreach.tasks
  DROP CONSTRAINT tasks_type_check,
  ADD CONSTRAINT tasks_type_check CHECK (type IN ('schedule_enrollment', 'send_step', 'noop', 'verify_mailbox', 'apply_retention'));
CREATE INDEX tasks_org_finished_idx ON outreach.tasks (organisation_id, completed_at)
  WHERE status IN ('succeeded', 'failed', 'cancelled');
CREATE INDEX open_events_org_opened_idx ON tracking.open_events (organisation_id, opened_at);
CREATE INDEX import_errors_org_created_idx ON crm.import_errors (organisation_id, created_at) WHERE raw_value IS NOT NULL;

-- Enqueues one apply_retention task per active organisation that has none live (the dedupe key
-- makes a second call a no-op). The worker calls it on a timer; the task runs under its tenant.
CREATE FUNCTION app.enqueue_retention_tasks(p_run_at timestamptz) RETURNS integer
  LANGUAGE sql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $$
  WITH added AS (
    INSERT INTO outreach.tasks (organisation_id, type, priority, run_at, dedupe_key, max_attempts)
    SELECT o.id, 'apply_retention', 200, coalesce(p_run_at, now()), 'retention', 3
    FROM iam.organisations AS o WHERE o.status = 'active'
    ON CONFLICT (organisation_id, dedupe_key) WHERE dedupe_key IS NOT NULL AND status IN ('pending', 'running')
    DO NOTHING
    RETURNING 1
  )
  SELECT count(*)::integer FROM added
$$;

-- ── Grants ────────────────────────────────────────────────────────────────────────────────────
GRANT SELECT, INSERT, UPDATE, DELETE ON iam.privacy_settings, iam.erasure_requests TO prospectflow_app, prospectflow_worker;
GRANT SELECT, INSERT ON iam.erasures TO prospectflow_app, prospectflow_worker;
GRANT SELECT, INSERT, DELETE ON outreach.suppression_hashes TO prospectflow_app, prospectflow_worker;
GRANT SELECT ON iam.privacy_settings, iam.erasures, iam.erasure_requests, outreach.suppression_hashes TO prospectflow_backup;
GRANT SELECT, DELETE ON iam.audit_log TO prospectflow_system;
GRANT SELECT (id, status) ON iam.organisations TO prospectflow_system;
GRANT INSERT (organisation_id, type, priority, run_at, dedupe_key, max_attempts) ON outreach.tasks TO prospectflow_system;
ALTER FUNCTION app.purge_audit_log(timestamptz, integer) OWNER TO prospectflow_system;
ALTER FUNCTION app.enqueue_retention_tasks(timestamptz) OWNER TO prospectflow_system;
REVOKE ALL ON FUNCTION app.current_import_id(), app.current_source_kind(), app.set_updated_provenance(),
  app.provenance(text, uuid, uuid, timestamptz), app.note_inbound_contact(), app.audit_import_statement(),
  app.purge_audit_log(timestamptz, integer), app.enqueue_retention_tasks(timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.current_import_id(), app.current_source_kind(), app.set_updated_provenance(),
  app.provenance(text, uuid, uuid, timestamptz), app.note_inbound_contact(), app.audit_import_statement()
  TO prospectflow_app, prospectflow_worker, prospectflow_system;
GRANT EXECUTE ON FUNCTION app.current_import_id(), app.current_source_kind() TO prospectflow_backup;
GRANT EXECUTE ON FUNCTION app.notify_tasks_due() TO prospectflow_system;
GRANT EXECUTE ON FUNCTION app.purge_audit_log(timestamptz, integer), app.enqueue_retention_tasks(timestamptz)
  TO prospectflow_worker;
