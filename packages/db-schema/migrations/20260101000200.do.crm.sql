-- CRM: companies, people and the positions that link them (email lives on the position).
CREATE TABLE crm.companies (
  organisation_id    uuid NOT NULL DEFAULT app.current_organisation_id() REFERENCES iam.organisations (id) ON DELETE CASCADE,
  id                 uuid NOT NULL DEFAULT gen_random_uuid(),
  name               text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 500),
  website_url        text CHECK (website_url IS NULL OR website_url ~* '^https?://'),
  domain             citext CHECK (domain IS NULL OR domain ~ '^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$'),
  siren              text CHECK (siren IS NULL OR app.is_valid_siren(siren)),
  siret              text CHECK (siret IS NULL OR (siret ~ '^[0-9]{14}$' AND app.luhn_valid(siret))),
  naf_code           text CHECK (naf_code IS NULL OR naf_code ~ '^[0-9]{2}\.[0-9]{2}[A-Z]$'),
  linkedin_url       text CHECK (linkedin_url IS NULL OR linkedin_url ~* '^https?://'),
  pharow_company_id  text,
  phone              text CHECK (phone IS NULL OR phone ~ '^\+[1-9][0-9]{6,14}$'),
  address_line1      text,
  address_line2      text,
  postal_code        text,
  city               text,
  country_code       text CHECK (country_code IS NULL OR country_code ~ '^[A-Z]{2}$'),
  employee_range     text,
  employee_count     integer CHECK (employee_count IS NULL OR employee_count >= 0),
  industry           text,
  description        text,
  custom             jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(custom) = 'object'),
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organisation_id, id),
  UNIQUE (organisation_id, siren),
  UNIQUE (organisation_id, pharow_company_id)
);
CREATE INDEX companies_org_domain_idx ON crm.companies (organisation_id, domain);
CREATE INDEX companies_org_name_idx ON crm.companies (organisation_id, lower(name));
SELECT app.register_tenant_table('crm.companies');

CREATE TABLE crm.people (
  organisation_id   uuid NOT NULL DEFAULT app.current_organisation_id() REFERENCES iam.organisations (id) ON DELETE CASCADE,
  id                uuid NOT NULL DEFAULT gen_random_uuid(),
  first_name        text,
  last_name         text,
  linkedin_url      text CHECK (linkedin_url IS NULL OR linkedin_url ~* '^https?://'),
  phone             text CHECK (phone IS NULL OR phone ~ '^\+[1-9][0-9]{6,14}$'),
  location          text,
  pharow_person_id  text,
  custom            jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(custom) = 'object'),
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organisation_id, id),
  UNIQUE (organisation_id, pharow_person_id),
  CHECK (coalesce(first_name, last_name) IS NOT NULL)
);
CREATE INDEX people_org_name_idx ON crm.people (organisation_id, lower(last_name), lower(first_name));
SELECT app.register_tenant_table('crm.people');

CREATE TABLE crm.positions (
  organisation_id    uuid NOT NULL DEFAULT app.current_organisation_id() REFERENCES iam.organisations (id) ON DELETE CASCADE,
  id                 uuid NOT NULL DEFAULT gen_random_uuid(),
  person_id          uuid NOT NULL,
  company_id         uuid NOT NULL,
  title              text,
  email              citext CHECK (email IS NULL OR email ~ '^[^@\s]+@[^@\s]+\.[^@\s]+$'),
  email_status       text NOT NULL DEFAULT 'unknown' CHECK (email_status IN ('unknown', 'valid', 'risky', 'catch_all', 'invalid')),
  email_reliability  smallint CHECK (email_reliability BETWEEN 0 AND 100),
  phone              text CHECK (phone IS NULL OR phone ~ '^\+[1-9][0-9]{6,14}$'),
  list_name          text,
  status             text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'former', 'unknown')),
  custom             jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(custom) = 'object'),
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organisation_id, id),
  UNIQUE (organisation_id, email),
  FOREIGN KEY (organisation_id, person_id) REFERENCES crm.people (organisation_id, id) ON DELETE CASCADE,
  FOREIGN KEY (organisation_id, company_id) REFERENCES crm.companies (organisation_id, id) ON DELETE CASCADE
);
CREATE INDEX positions_org_person_idx ON crm.positions (organisation_id, person_id);
CREATE INDEX positions_org_company_idx ON crm.positions (organisation_id, company_id);
CREATE INDEX positions_org_created_idx ON crm.positions (organisation_id, created_at DESC, id);
SELECT app.register_tenant_table('crm.positions');

GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA crm TO prospectflow_app, prospectflow_worker;
GRANT SELECT ON ALL TABLES IN SCHEMA crm TO prospectflow_backup;
