-- Outreach: mailboxes, campaigns and their steps, A/B experiments, enrollments, messages,
-- the per-organisation suppression list and the task queue.
CREATE TABLE outreach.mailboxes (
  organisation_id  uuid NOT NULL DEFAULT app.current_organisation_id() REFERENCES iam.organisations (id) ON DELETE CASCADE,
  id               uuid NOT NULL DEFAULT gen_random_uuid(),
  from_name        text NOT NULL CHECK (length(btrim(from_name)) BETWEEN 1 AND 200),
  from_address     citext NOT NULL CHECK (from_address ~ '^[^@\s]+@[^@\s]+\.[^@\s]+$'),
  daily_limit      integer NOT NULL DEFAULT 50 CHECK (daily_limit BETWEEN 1 AND 10000),
  window_start     time NOT NULL DEFAULT '09:00',
  window_end       time NOT NULL DEFAULT '17:00',
  window_days      smallint[] NOT NULL DEFAULT '{1,2,3,4,5}' CHECK (window_days <@ '{1,2,3,4,5,6,7}'::smallint[] AND cardinality(window_days) > 0),
  time_zone        text NOT NULL DEFAULT 'Europe/Paris' CHECK (app.is_valid_time_zone(time_zone)),
  min_gap_seconds  integer NOT NULL DEFAULT 0 CHECK (min_gap_seconds >= 0),
  status           text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'paused', 'disabled')),
  paused_reason    text,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organisation_id, id),
  UNIQUE (organisation_id, from_address),
  CHECK (window_start < window_end)
);
SELECT app.register_tenant_table('outreach.mailboxes');

CREATE TABLE outreach.prompts (
  organisation_id  uuid NOT NULL DEFAULT app.current_organisation_id() REFERENCES iam.organisations (id) ON DELETE CASCADE,
  id               uuid NOT NULL DEFAULT gen_random_uuid(),
  name             text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
  version          integer NOT NULL DEFAULT 1 CHECK (version >= 1),
  purpose          text NOT NULL DEFAULT 'email_body' CHECK (purpose IN ('email_body', 'email_subject', 'personalisation', 'reply_classification', 'other')),
  content          text NOT NULL,
  model            text,
  is_active        boolean NOT NULL DEFAULT true,
  test_cases       jsonb NOT NULL DEFAULT '[]'::jsonb CHECK (jsonb_typeof(test_cases) = 'array'),
  metadata         jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(metadata) = 'object'),
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organisation_id, id),
  UNIQUE (organisation_id, name, version)
);
SELECT app.register_tenant_table('outreach.prompts');

CREATE TABLE outreach.campaigns (
  organisation_id   uuid NOT NULL DEFAULT app.current_organisation_id() REFERENCES iam.organisations (id) ON DELETE CASCADE,
  id                uuid NOT NULL DEFAULT gen_random_uuid(),
  name              text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
  description       text,
  status            text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'active', 'paused', 'completed', 'archived')),
  mailbox_id        uuid,
  tracking_enabled  boolean NOT NULL DEFAULT true,
  settings          jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(settings) = 'object'),
  activated_at      timestamptz,
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organisation_id, id),
  FOREIGN KEY (organisation_id, mailbox_id) REFERENCES outreach.mailboxes (organisation_id, id) ON DELETE RESTRICT
);
CREATE INDEX campaigns_org_status_idx ON outreach.campaigns (organisation_id, status);
CREATE INDEX campaigns_org_mailbox_idx ON outreach.campaigns (organisation_id, mailbox_id);
SELECT app.register_tenant_table('outreach.campaigns');

CREATE TABLE outreach.workflow_steps (
  organisation_id   uuid NOT NULL DEFAULT app.current_organisation_id() REFERENCES iam.organisations (id) ON DELETE CASCADE,
  id                uuid NOT NULL DEFAULT gen_random_uuid(),
  campaign_id       uuid NOT NULL,
  step_order        integer NOT NULL CHECK (step_order >= 1),
  delay_days        integer NOT NULL DEFAULT 0 CHECK (delay_days BETWEEN 0 AND 365),
  exit_on_reply     boolean NOT NULL DEFAULT true,
  subject_template  text,
  body_template     text,
  prompt_id         uuid,
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organisation_id, id),
  CONSTRAINT workflow_steps_order_key UNIQUE (organisation_id, campaign_id, step_order) DEFERRABLE INITIALLY IMMEDIATE,
  FOREIGN KEY (organisation_id, campaign_id) REFERENCES outreach.campaigns (organisation_id, id) ON DELETE CASCADE,
  FOREIGN KEY (organisation_id, prompt_id) REFERENCES outreach.prompts (organisation_id, id) ON DELETE RESTRICT,
  CHECK (body_template IS NOT NULL OR prompt_id IS NOT NULL)
);
CREATE INDEX workflow_steps_org_prompt_idx ON outreach.workflow_steps (organisation_id, prompt_id);
SELECT app.register_tenant_table('outreach.workflow_steps');

CREATE TABLE outreach.step_experiments (
  organisation_id    uuid NOT NULL DEFAULT app.current_organisation_id() REFERENCES iam.organisations (id) ON DELETE CASCADE,
  id                 uuid NOT NULL DEFAULT gen_random_uuid(),
  step_id            uuid NOT NULL,
  name               text NOT NULL DEFAULT 'A/B test',
  status             text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'stopped', 'winner_chosen')),
  winner_variant_id  uuid,
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organisation_id, id),
  UNIQUE (organisation_id, step_id),
  FOREIGN KEY (organisation_id, step_id) REFERENCES outreach.workflow_steps (organisation_id, id) ON DELETE CASCADE
);

CREATE TABLE outreach.step_experiment_variants (
  organisation_id   uuid NOT NULL DEFAULT app.current_organisation_id() REFERENCES iam.organisations (id) ON DELETE CASCADE,
  id                uuid NOT NULL DEFAULT gen_random_uuid(),
  experiment_id     uuid NOT NULL,
  label             text NOT NULL CHECK (label ~ '^[A-Za-z0-9_-]{1,20}$'),
  weight            integer NOT NULL DEFAULT 1 CHECK (weight BETWEEN 1 AND 1000),
  subject_template  text,
  body_template     text NOT NULL,
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organisation_id, id),
  UNIQUE (organisation_id, experiment_id, label),
  FOREIGN KEY (organisation_id, experiment_id) REFERENCES outreach.step_experiments (organisation_id, id) ON DELETE CASCADE
);

ALTER TABLE outreach.step_experiments
  ADD FOREIGN KEY (organisation_id, winner_variant_id)
  REFERENCES outreach.step_experiment_variants (organisation_id, id) DEFERRABLE INITIALLY DEFERRED;
CREATE INDEX step_experiments_org_winner_idx ON outreach.step_experiments (organisation_id, winner_variant_id);
-- RLS only after the FK above: validating a new FK reads both tables, and with FORCE that read needs a tenant.
SELECT app.register_tenant_table('outreach.step_experiments');
SELECT app.register_tenant_table('outreach.step_experiment_variants');

CREATE TABLE outreach.campaign_enrollments (
  organisation_id     uuid NOT NULL DEFAULT app.current_organisation_id() REFERENCES iam.organisations (id) ON DELETE CASCADE,
  id                  uuid NOT NULL DEFAULT gen_random_uuid(),
  campaign_id         uuid NOT NULL,
  position_id         uuid NOT NULL,
  status              text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'paused', 'completed', 'replied', 'bounced', 'unsubscribed')),
  current_step_order  integer NOT NULL DEFAULT 0 CHECK (current_step_order >= 0),
  next_run_at         timestamptz,
  last_sent_at        timestamptz,
  completed_at        timestamptz,
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organisation_id, id),
  UNIQUE (organisation_id, campaign_id, position_id),
  FOREIGN KEY (organisation_id, campaign_id) REFERENCES outreach.campaigns (organisation_id, id) ON DELETE CASCADE,
  FOREIGN KEY (organisation_id, position_id) REFERENCES crm.positions (organisation_id, id) ON DELETE CASCADE
);
CREATE INDEX enrollments_org_position_idx ON outreach.campaign_enrollments (organisation_id, position_id, status);
CREATE INDEX enrollments_org_campaign_status_idx ON outreach.campaign_enrollments (organisation_id, campaign_id, status);
SELECT app.register_tenant_table('outreach.campaign_enrollments');

CREATE TABLE outreach.enrollment_step_variant_assignments (
  organisation_id  uuid NOT NULL DEFAULT app.current_organisation_id() REFERENCES iam.organisations (id) ON DELETE CASCADE,
  id               uuid NOT NULL DEFAULT gen_random_uuid(),
  enrollment_id    uuid NOT NULL,
  step_id          uuid NOT NULL,
  variant_id       uuid NOT NULL,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organisation_id, id),
  UNIQUE (organisation_id, enrollment_id, step_id),
  FOREIGN KEY (organisation_id, enrollment_id) REFERENCES outreach.campaign_enrollments (organisation_id, id) ON DELETE CASCADE,
  FOREIGN KEY (organisation_id, step_id) REFERENCES outreach.workflow_steps (organisation_id, id) ON DELETE CASCADE,
  FOREIGN KEY (organisation_id, variant_id) REFERENCES outreach.step_experiment_variants (organisation_id, id) ON DELETE CASCADE
);
CREATE INDEX assignments_org_step_idx ON outreach.enrollment_step_variant_assignments (organisation_id, step_id);
CREATE INDEX assignments_org_variant_idx ON outreach.enrollment_step_variant_assignments (organisation_id, variant_id);
SELECT app.register_tenant_table('outreach.enrollment_step_variant_assignments');

CREATE TABLE outreach.messages (
  organisation_id     uuid NOT NULL DEFAULT app.current_organisation_id() REFERENCES iam.organisations (id) ON DELETE CASCADE,
  id                  uuid NOT NULL DEFAULT gen_random_uuid(),
  enrollment_id       uuid,
  step_id             uuid,
  variant_id          uuid,
  mailbox_id          uuid,
  direction           text NOT NULL CHECK (direction IN ('outbound', 'inbound')),
  status              text NOT NULL CHECK (status IN ('queued', 'sent', 'failed', 'bounced', 'received')),
  inbound_kind        text CHECK (inbound_kind IN ('reply', 'auto_reply', 'bounce')),
  message_id_header   text NOT NULL CHECK (message_id_header ~ '^<[^<>\s]+>$'),
  in_reply_to         text,
  references_headers  text[] NOT NULL DEFAULT '{}',
  from_address        citext,
  to_address          citext,
  subject             text,
  body_text           text,
  body_html           text,
  unsubscribe_token   text,
  smtp_response       text,
  error               text,
  sent_at             timestamptz,
  received_at         timestamptz,
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organisation_id, id),
  UNIQUE (organisation_id, message_id_header),
  UNIQUE (organisation_id, unsubscribe_token),
  FOREIGN KEY (organisation_id, enrollment_id) REFERENCES outreach.campaign_enrollments (organisation_id, id) ON DELETE CASCADE,
  FOREIGN KEY (organisation_id, step_id) REFERENCES outreach.workflow_steps (organisation_id, id) ON DELETE CASCADE,
  FOREIGN KEY (organisation_id, variant_id) REFERENCES outreach.step_experiment_variants (organisation_id, id) ON DELETE RESTRICT,
  FOREIGN KEY (organisation_id, mailbox_id) REFERENCES outreach.mailboxes (organisation_id, id) ON DELETE RESTRICT,
  CHECK ((direction = 'inbound') = (inbound_kind IS NOT NULL))
);
-- One outbound message per (enrollment, step), ever: the worker's idempotency anchor.
CREATE UNIQUE INDEX messages_one_per_step_key ON outreach.messages (organisation_id, enrollment_id, step_id)
  WHERE direction = 'outbound';
CREATE INDEX messages_org_mailbox_sent_idx ON outreach.messages (organisation_id, mailbox_id, sent_at);
CREATE INDEX messages_org_step_idx ON outreach.messages (organisation_id, step_id);
CREATE INDEX messages_org_variant_idx ON outreach.messages (organisation_id, variant_id);
-- Global look-ups for public endpoints (replies, unsubscribe) that do not know the organisation
-- yet; used only by the SECURITY DEFINER resolvers below. Documented exception to org-first indexes.
CREATE INDEX messages_message_id_lookup_idx ON outreach.messages (message_id_header);
CREATE INDEX messages_unsubscribe_token_lookup_idx ON outreach.messages (unsubscribe_token) WHERE unsubscribe_token IS NOT NULL;
SELECT app.register_tenant_table('outreach.messages');

CREATE TABLE outreach.suppressions (
  organisation_id    uuid NOT NULL DEFAULT app.current_organisation_id() REFERENCES iam.organisations (id) ON DELETE CASCADE,
  id                 uuid NOT NULL DEFAULT gen_random_uuid(),
  email              citext,
  domain             citext,
  reason             text NOT NULL CHECK (reason IN ('unsubscribed', 'hard_bounce', 'complaint', 'manual')),
  source_message_id  uuid,
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organisation_id, id),
  UNIQUE (organisation_id, email),
  UNIQUE (organisation_id, domain),
  CHECK (num_nonnulls(email, domain) = 1)
);
SELECT app.register_tenant_table('outreach.suppressions');

-- The work queue. No foreign keys: it stays a plain (non-distributed) table and a task checks its
-- targets when it runs. The claim index is the documented exception to org-first indexes.
CREATE TABLE outreach.tasks (
  organisation_id  uuid NOT NULL DEFAULT app.current_organisation_id() REFERENCES iam.organisations (id) ON DELETE CASCADE,
  id               uuid NOT NULL DEFAULT gen_random_uuid(),
  type             text NOT NULL CHECK (type IN ('schedule_enrollment', 'send_step', 'noop')),
  status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'running', 'succeeded', 'failed', 'cancelled')),
  priority         smallint NOT NULL DEFAULT 100,
  run_at           timestamptz NOT NULL DEFAULT now(),
  attempts         integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  max_attempts     integer NOT NULL DEFAULT 6 CHECK (max_attempts >= 1),
  locked_by        text,
  locked_until     timestamptz,
  heartbeat_at     timestamptz,
  last_error       text,
  payload          jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(payload) = 'object'),
  enrollment_id    uuid,
  step_id          uuid,
  dedupe_key       text,
  completed_at     timestamptz,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organisation_id, id),
  CHECK ((status = 'running') = (locked_by IS NOT NULL AND locked_until IS NOT NULL))
);
-- At most one live task per dedupe key (debounce: enqueueing again is a no-op while one is pending).
CREATE UNIQUE INDEX tasks_live_dedupe_key ON outreach.tasks (organisation_id, dedupe_key)
  WHERE dedupe_key IS NOT NULL AND status IN ('pending', 'running');
CREATE INDEX tasks_org_enrollment_idx ON outreach.tasks (organisation_id, enrollment_id);
CREATE INDEX tasks_claim_idx ON outreach.tasks (priority, run_at, id) WHERE status = 'pending';
CREATE INDEX tasks_lease_expiry_idx ON outreach.tasks (locked_until) WHERE status = 'running';
SELECT app.register_tenant_table('outreach.tasks');

-- Wake sleeping workers; the payload carries no tenant data.
CREATE FUNCTION app.notify_tasks_due() RETURNS trigger
  LANGUAGE plpgsql SECURITY INVOKER
  SET search_path = pg_catalog
AS $$
BEGIN
  PERFORM pg_notify('outreach_tasks', '');
  RETURN NULL;
END;
$$;
CREATE TRIGGER notify_tasks_due AFTER INSERT ON outreach.tasks
  FOR EACH STATEMENT EXECUTE FUNCTION app.notify_tasks_due();

-- The worker's one narrow path across organisations: claim due tasks (SKIP LOCKED), returning each
-- with its organisation; everything else a task does runs under that organisation's RLS.
CREATE FUNCTION app.claim_tasks(p_worker text, p_limit integer, p_lease_seconds integer)
  RETURNS TABLE (organisation_id uuid, id uuid, type text, attempts integer, max_attempts integer,
                 payload jsonb, enrollment_id uuid, step_id uuid, run_at timestamptz)
  LANGUAGE sql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog
AS $$
  WITH due AS (
    SELECT t.organisation_id, t.id
    FROM outreach.tasks AS t
    WHERE t.status = 'pending' AND t.run_at <= now()
    ORDER BY t.priority, t.run_at, t.id
    LIMIT least(greatest(p_limit, 0), 1000)
    FOR UPDATE SKIP LOCKED
  )
  UPDATE outreach.tasks AS t
  SET status = 'running', locked_by = p_worker, heartbeat_at = now(), attempts = t.attempts + 1,
      locked_until = now() + make_interval(secs => greatest(p_lease_seconds, 1))
  FROM due
  WHERE t.organisation_id = due.organisation_id AND t.id = due.id
  RETURNING t.organisation_id, t.id, t.type, t.attempts, t.max_attempts, t.payload, t.enrollment_id, t.step_id, t.run_at
$$;

-- Extends the lease of tasks this worker still runs.
CREATE FUNCTION app.heartbeat_tasks(p_worker text, p_ids uuid[], p_lease_seconds integer)
  RETURNS integer
  LANGUAGE sql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog
AS $$
  WITH renewed AS (
    UPDATE outreach.tasks
    SET heartbeat_at = now(), locked_until = now() + make_interval(secs => greatest(p_lease_seconds, 1))
    WHERE status = 'running' AND locked_by = p_worker AND id = ANY (p_ids)
    RETURNING 1
  )
  SELECT count(*)::integer FROM renewed
$$;

-- Hands back tasks whose lease ran out (their worker died): pending again, or failed when out of attempts.
CREATE FUNCTION app.requeue_expired_tasks()
  RETURNS integer
  LANGUAGE sql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog
AS $$
  WITH expired AS (
    UPDATE outreach.tasks
    SET status = CASE WHEN attempts >= max_attempts THEN 'failed' ELSE 'pending' END,
        last_error = coalesce(last_error || E'\n', '') || 'lease of ' || locked_by || ' expired',
        completed_at = CASE WHEN attempts >= max_attempts THEN now() END,
        locked_by = NULL, locked_until = NULL, run_at = now()
    WHERE status = 'running' AND locked_until < now()
    RETURNING 1
  )
  SELECT count(*)::integer FROM expired
$$;

-- Which organisation sent a message with one of these Message-IDs (reply and bounce matching).
CREATE FUNCTION app.organisation_for_message_ids(p_message_ids text[])
  RETURNS uuid
  LANGUAGE sql STABLE SECURITY DEFINER
  SET search_path = pg_catalog
AS $$
  SELECT organisation_id FROM outreach.messages
  WHERE message_id_header = ANY (p_message_ids) AND direction = 'outbound'
  ORDER BY created_at DESC LIMIT 1
$$;

-- Which organisation an unsubscribe token belongs to (public one-click unsubscribe).
CREATE FUNCTION app.organisation_for_unsubscribe_token(p_token text)
  RETURNS uuid
  LANGUAGE sql STABLE SECURITY DEFINER
  SET search_path = pg_catalog
AS $$ SELECT organisation_id FROM outreach.messages WHERE unsubscribe_token = p_token $$;

GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA outreach TO prospectflow_app, prospectflow_worker;
GRANT SELECT ON ALL TABLES IN SCHEMA outreach TO prospectflow_backup;
GRANT SELECT, UPDATE ON outreach.tasks TO prospectflow_system;
GRANT SELECT (organisation_id, message_id_header, direction, created_at, unsubscribe_token) ON outreach.messages TO prospectflow_system;

ALTER FUNCTION app.claim_tasks(text, integer, integer) OWNER TO prospectflow_system;
ALTER FUNCTION app.heartbeat_tasks(text, uuid[], integer) OWNER TO prospectflow_system;
ALTER FUNCTION app.requeue_expired_tasks() OWNER TO prospectflow_system;
ALTER FUNCTION app.organisation_for_message_ids(text[]) OWNER TO prospectflow_system;
ALTER FUNCTION app.organisation_for_unsubscribe_token(text) OWNER TO prospectflow_system;
REVOKE ALL ON FUNCTION app.claim_tasks(text, integer, integer), app.heartbeat_tasks(text, uuid[], integer),
  app.requeue_expired_tasks(), app.organisation_for_message_ids(text[]),
  app.organisation_for_unsubscribe_token(text), app.notify_tasks_due() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.claim_tasks(text, integer, integer), app.heartbeat_tasks(text, uuid[], integer),
  app.requeue_expired_tasks() TO prospectflow_worker;
GRANT EXECUTE ON FUNCTION app.organisation_for_message_ids(text[]), app.organisation_for_unsubscribe_token(text)
  TO prospectflow_app, prospectflow_worker;
GRANT EXECUTE ON FUNCTION app.notify_tasks_due() TO prospectflow_app, prospectflow_worker;
