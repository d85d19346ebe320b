-- Two organisations with rows across iam, crm, outreach and tracking (run as superuser: RLS is
-- bypassed, so organisation_id is always given explicitly). Deterministic content: md5-derived
-- ids, fixed timestamps. Includes text that stresses COPY round trips (quotes, tabs, newlines,
-- backslashes, accents, NULLs, arrays, jsonb).
BEGIN;
INSERT INTO iam.organisations (id, name, slug) VALUES
  ('10000000-0000-4000-8000-00000000000a', 'Alpha Prospection', 'alpha'),
  ('10000000-0000-4000-8000-00000000000b', 'Bêta & Fils "SARL"', 'beta');

INSERT INTO iam.users (id, cognito_sub, email, email_verified, first_name, last_name)
SELECT md5('user' || g)::uuid, 'sub-' || g, 'user' || g || '@example.org', g % 2 = 0, 'Prénom ' || g, E'O''Nom\t' || g
  FROM generate_series(1, 20) g;

CREATE TEMP TABLE orgs AS
SELECT * FROM (VALUES ('10000000-0000-4000-8000-00000000000a'::uuid, 'a', 1), ('10000000-0000-4000-8000-00000000000b'::uuid, 'b', 2)) o(id, tag, n);

INSERT INTO iam.organisation_users (organisation_id, id, user_id, role, status)
SELECT o.id, md5(o.tag || 'member' || g)::uuid, md5('user' || g)::uuid,
       (ARRAY['owner', 'admin', 'member', 'viewer'])[1 + g % 4], 'active'
  FROM orgs o, generate_series(1, 10 * o.n) g;

INSERT INTO crm.companies (organisation_id, id, name, domain, country_code, employee_count, custom, created_at, updated_at)
SELECT o.id, md5(o.tag || 'company' || g)::uuid, E'Société \\ "' || o.tag || g || E'"\nligne 2',
       o.tag || 'company' || g || '.example', 'FR', g * 3,
       jsonb_build_object('rank', g, 'tags', jsonb_build_array('x', o.tag)), '2026-01-01T00:00:00Z', '2026-01-02T00:00:00Z'
  FROM orgs o, generate_series(1, 300 * o.n) g;

INSERT INTO crm.people (organisation_id, id, first_name, last_name, created_at, updated_at)
SELECT o.id, md5(o.tag || 'person' || g)::uuid, CASE WHEN g % 7 = 0 THEN NULL ELSE 'Zoé' || g END, 'Müller-' || g,
       '2026-01-01T00:00:00Z', '2026-01-02T00:00:00Z'
  FROM orgs o, generate_series(1, 400 * o.n) g;

INSERT INTO crm.positions (organisation_id, id, person_id, company_id, title, email, email_status, list_name)
SELECT o.id, md5(o.tag || 'position' || g)::uuid, md5(o.tag || 'person' || g)::uuid,
       md5(o.tag || 'company' || (1 + g % (300 * o.n)))::uuid, 'Directeur ' || g,
       'p' || g || '@' || o.tag || 'company' || (1 + g % (300 * o.n)) || '.example', 'valid', 'Liste ' || o.tag
  FROM orgs o, generate_series(1, 400 * o.n) g;

INSERT INTO outreach.mailboxes (organisation_id, id, from_name, from_address)
SELECT o.id, md5(o.tag || 'mailbox')::uuid, 'Sales ' || o.tag, 'sales@' || o.tag || '.example' FROM orgs o;

INSERT INTO outreach.campaigns (organisation_id, id, name, status, mailbox_id)
SELECT o.id, md5(o.tag || 'campaign' || g)::uuid, 'Campagne ' || g, 'active', md5(o.tag || 'mailbox')::uuid
  FROM orgs o, generate_series(1, 3) g;

INSERT INTO outreach.workflow_steps (organisation_id, id, campaign_id, step_order, delay_days, subject_template, body_template)
SELECT o.id, md5(o.tag || 'step' || c || '-' || s)::uuid, md5(o.tag || 'campaign' || c)::uuid, s, (s - 1) * 3,
       'Objet {{company.name}} ' || s, E'Bonjour {{person.first_name}},\n\n\tÉtape ' || s
  FROM orgs o, generate_series(1, 3) c, generate_series(1, 3) s;

INSERT INTO outreach.campaign_enrollments (organisation_id, id, campaign_id, position_id, status)
SELECT o.id, md5(o.tag || 'enrollment' || g)::uuid, md5(o.tag || 'campaign' || (1 + g % 3))::uuid,
       md5(o.tag || 'position' || g)::uuid, 'active'
  FROM orgs o, generate_series(1, 200 * o.n) g;

INSERT INTO outreach.messages (organisation_id, id, enrollment_id, step_id, mailbox_id, direction, status,
                               message_id_header, references_headers, from_address, to_address, subject, body_text, sent_at)
SELECT o.id, md5(o.tag || 'message' || g)::uuid, md5(o.tag || 'enrollment' || g)::uuid,
       md5(o.tag || 'step' || (1 + g % 3) || '-1')::uuid, md5(o.tag || 'mailbox')::uuid, 'outbound', 'sent',
       '<m' || g || '.' || o.tag || '@mail.example>', ARRAY['<r' || g || '@x>', 'with "quote"'],
       'sales@' || o.tag || '.example', 'p' || g || '@example.org', 'Sujet ' || g, E'Corps\\n ' || g, '2026-02-01T10:00:00Z'
  FROM orgs o, generate_series(1, 200 * o.n) g;

INSERT INTO tracking.pixels (organisation_id, id, message_id, token)
SELECT o.id, md5(o.tag || 'pixel' || g)::uuid, md5(o.tag || 'message' || g)::uuid, 'tok_' || md5(o.tag || 'pixel' || g)
  FROM orgs o, generate_series(1, 200 * o.n) g;

INSERT INTO tracking.open_events (organisation_id, id, message_id, opened_at, is_machine, user_agent)
SELECT o.id, md5(o.tag || 'open' || g)::uuid, md5(o.tag || 'message' || (1 + g % (200 * o.n)))::uuid,
       '2026-02-02T10:00:00Z'::timestamptz + g * interval '1 minute', g % 5 = 0, 'Mozilla/5.0 (' || g || ')'
  FROM orgs o, generate_series(1, 150 * o.n) g;

INSERT INTO outreach.suppressions (organisation_id, id, email, reason)
SELECT o.id, md5(o.tag || 'suppression' || g)::uuid, 'unsub' || g || '@example.org', 'unsubscribed'
  FROM orgs o, generate_series(1, 25 * o.n) g;

INSERT INTO outreach.tasks (organisation_id, id, type, status, payload, run_at)
SELECT o.id, md5(o.tag || 'task' || g)::uuid, 'noop', 'succeeded', jsonb_build_object('n', g), '2026-02-01T00:00:00Z'
  FROM orgs o, generate_series(1, 50 * o.n) g;
COMMIT;
