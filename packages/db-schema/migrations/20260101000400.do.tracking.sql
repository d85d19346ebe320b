-- Tracking: open pixels, raw open events, per-message open stats and per-day campaign stats.
CREATE TABLE tracking.pixels (
  organisation_id   uuid NOT NULL DEFAULT app.current_organisation_id() REFERENCES iam.organisations (id) ON DELETE CASCADE,
  id                uuid NOT NULL DEFAULT gen_random_uuid(),
  message_id        uuid NOT NULL,
  -- 128+ bits from a CSPRNG, base64url; never derived from ids or addresses.
  token             text NOT NULL CHECK (token ~ '^[A-Za-z0-9_-]{22,64}$'),
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organisation_id, id),
  UNIQUE (organisation_id, token),
  UNIQUE (organisation_id, message_id),
  FOREIGN KEY (organisation_id, message_id) REFERENCES outreach.messages (organisation_id, id) ON DELETE CASCADE
);
-- Public pixel requests know only the token (documented exception to org-first indexes).
CREATE INDEX pixels_token_lookup_idx ON tracking.pixels (token);
SELECT app.register_tenant_table('tracking.pixels');

CREATE TABLE tracking.open_events (
  organisation_id  uuid NOT NULL DEFAULT app.current_organisation_id() REFERENCES iam.organisations (id) ON DELETE CASCADE,
  id               uuid NOT NULL DEFAULT gen_random_uuid(),
  message_id       uuid NOT NULL,
  opened_at        timestamptz NOT NULL DEFAULT now(),
  -- Likely machine opens (image prefetch, scanners) are kept apart from human ones.
  is_machine       boolean NOT NULL DEFAULT false,
  user_agent       text,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organisation_id, id),
  FOREIGN KEY (organisation_id, message_id) REFERENCES outreach.messages (organisation_id, id) ON DELETE CASCADE
);
CREATE INDEX open_events_org_message_idx ON tracking.open_events (organisation_id, message_id, opened_at);
SELECT app.register_tenant_table('tracking.open_events');

CREATE TABLE tracking.message_open_stats (
  organisation_id     uuid NOT NULL DEFAULT app.current_organisation_id() REFERENCES iam.organisations (id) ON DELETE CASCADE,
  id                  uuid NOT NULL DEFAULT gen_random_uuid(),
  message_id          uuid NOT NULL,
  open_count          integer NOT NULL DEFAULT 0 CHECK (open_count >= 0),
  machine_open_count  integer NOT NULL DEFAULT 0 CHECK (machine_open_count >= 0),
  first_opened_at     timestamptz,
  last_opened_at      timestamptz,
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organisation_id, id),
  UNIQUE (organisation_id, message_id),
  FOREIGN KEY (organisation_id, message_id) REFERENCES outreach.messages (organisation_id, id) ON DELETE CASCADE
);
SELECT app.register_tenant_table('tracking.message_open_stats');

-- Campaign results per day and per variant (variant_id NULL = step without an experiment).
CREATE TABLE tracking.campaign_daily_stats (
  organisation_id  uuid NOT NULL DEFAULT app.current_organisation_id() REFERENCES iam.organisations (id) ON DELETE CASCADE,
  id               uuid NOT NULL DEFAULT gen_random_uuid(),
  campaign_id      uuid NOT NULL,
  day              date NOT NULL,
  variant_id       uuid,
  sent             integer NOT NULL DEFAULT 0 CHECK (sent >= 0),
  opened           integer NOT NULL DEFAULT 0 CHECK (opened >= 0),
  machine_opened   integer NOT NULL DEFAULT 0 CHECK (machine_opened >= 0),
  replied          integer NOT NULL DEFAULT 0 CHECK (replied >= 0),
  bounced          integer NOT NULL DEFAULT 0 CHECK (bounced >= 0),
  unsubscribed     integer NOT NULL DEFAULT 0 CHECK (unsubscribed >= 0),
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organisation_id, id),
  CONSTRAINT campaign_daily_stats_key UNIQUE NULLS NOT DISTINCT (organisation_id, campaign_id, day, variant_id),
  FOREIGN KEY (organisation_id, campaign_id) REFERENCES outreach.campaigns (organisation_id, id) ON DELETE CASCADE,
  FOREIGN KEY (organisation_id, variant_id) REFERENCES outreach.step_experiment_variants (organisation_id, id) ON DELETE CASCADE
);
CREATE INDEX campaign_daily_stats_org_variant_idx ON tracking.campaign_daily_stats (organisation_id, variant_id);
SELECT app.register_tenant_table('tracking.campaign_daily_stats');

-- Which organisation a pixel token belongs to (public tracking endpoint).
CREATE FUNCTION app.organisation_for_pixel_token(p_token text)
  RETURNS uuid
  LANGUAGE sql STABLE SECURITY DEFINER
  SET search_path = pg_catalog
AS $$ SELECT organisation_id FROM tracking.pixels WHERE token = p_token $$;

GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA tracking TO prospectflow_app, prospectflow_worker;
GRANT SELECT ON ALL TABLES IN SCHEMA tracking TO prospectflow_backup;
GRANT SELECT (organisation_id, token) ON tracking.pixels TO prospectflow_system;
ALTER FUNCTION app.organisation_for_pixel_token(text) OWNER TO prospectflow_system;
REVOKE ALL ON FUNCTION app.organisation_for_pixel_token(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.organisation_for_pixel_token(text) TO prospectflow_app, prospectflow_worker;
