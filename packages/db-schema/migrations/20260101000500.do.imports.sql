-- Bulk imports: one row per import (status, progress, counts), per-row errors, and the source keys
-- remembered by legacy (SQLite) imports so re-running them is idempotent.
CREATE TABLE crm.imports (
  organisation_id  uuid NOT NULL DEFAULT app.current_organisation_id() REFERENCES iam.organisations (id) ON DELETE CASCADE,
  id               uuid NOT NULL DEFAULT gen_random_uuid(),
  source_kind      text NOT NULL CHECK (source_kind IN ('csv', 'json', 'sqlite')),
  status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'running', 'succeeded', 'failed')),
  file_name        text,
  content_sha256   text CHECK (content_sha256 IS NULL OR content_sha256 ~ '^[0-9a-f]{64}$'),
  idempotency_key  text CHECK (idempotency_key IS NULL OR length(idempotency_key) BETWEEN 1 AND 255),
  mapping          jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(mapping) = 'object'),
  rows_total       integer CHECK (rows_total IS NULL OR rows_total >= 0),
  rows_processed   integer NOT NULL DEFAULT 0 CHECK (rows_processed >= 0),
  inserted         integer NOT NULL DEFAULT 0 CHECK (inserted >= 0),
  updated          integer NOT NULL DEFAULT 0 CHECK (updated >= 0),
  skipped          integer NOT NULL DEFAULT 0 CHECK (skipped >= 0),
  failed           integer NOT NULL DEFAULT 0 CHECK (failed >= 0),
  error            text,
  created_by       uuid REFERENCES iam.users (id) ON DELETE SET NULL,
  started_at       timestamptz,
  finished_at      timestamptz,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organisation_id, id),
  UNIQUE (organisation_id, idempotency_key)
);
CREATE INDEX imports_org_created_idx ON crm.imports (organisation_id, created_at DESC);
CREATE INDEX imports_org_creator_idx ON crm.imports (organisation_id, created_by);
SELECT app.register_tenant_table('crm.imports');

CREATE TABLE crm.import_errors (
  organisation_id  uuid NOT NULL DEFAULT app.current_organisation_id() REFERENCES iam.organisations (id) ON DELETE CASCADE,
  id               uuid NOT NULL DEFAULT gen_random_uuid(),
  import_id        uuid NOT NULL,
  row_number       integer NOT NULL CHECK (row_number >= 1),
  column_name      text,
  code             text NOT NULL CHECK (code ~ '^[a-z][a-z0-9_]*$'),
  message          text NOT NULL,
  raw_value        text,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organisation_id, id),
  FOREIGN KEY (organisation_id, import_id) REFERENCES crm.imports (organisation_id, id) ON DELETE CASCADE
);
CREATE INDEX import_errors_org_import_row_idx ON crm.import_errors (organisation_id, import_id, row_number);
SELECT app.register_tenant_table('crm.import_errors');

CREATE TABLE crm.import_source_keys (
  organisation_id  uuid NOT NULL DEFAULT app.current_organisation_id() REFERENCES iam.organisations (id) ON DELETE CASCADE,
  id               uuid NOT NULL DEFAULT gen_random_uuid(),
  source           text NOT NULL,
  source_table     text NOT NULL,
  source_key       text NOT NULL,
  target_table     text NOT NULL,
  target_id        uuid NOT NULL,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organisation_id, id),
  UNIQUE (organisation_id, source, source_table, source_key)
);
SELECT app.register_tenant_table('crm.import_source_keys');

GRANT SELECT, INSERT, UPDATE, DELETE ON crm.imports, crm.import_errors, crm.import_source_keys
  TO prospectflow_app, prospectflow_worker;
GRANT SELECT ON crm.imports, crm.import_errors, crm.import_source_keys TO prospectflow_backup;
