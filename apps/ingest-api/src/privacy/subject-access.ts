import { type SubjectKeys, subjectHmacs } from '@prospectflow/outreach-core';
import type { TenantClient } from '@prospectflow/tenant-context';
import { PROVENANCE_SQL } from './provenance.js';
import { retentionPolicy } from './settings.js';
import {
  resolveSubject,
  SUBJECT_IMPORT_ERRORS,
  SUBJECT_LEGACY_ROWS,
  SUBJECT_SOURCE_KEYS,
  subjectImportErrorParams,
  subjectSourceKeyParams,
} from './subject.js';

/**
 * Art. 15 access: everything the organisation holds about the person with this address, as one
 * JSON document ready to send (data, source, purposes, recipients, retention, rights, timeline).
 * Read in one transaction, so the document is a consistent snapshot. The subject is the one the
 * erasure would remove (resolveSubject: every address of the person, their names), and import
 * errors and legacy rows are theirs by the erasure's own rule (app.subject_owns).
 */
export async function subjectAccess(client: TenantClient, keys: SubjectKeys, email: string) {
  const address = email.trim();
  const q = async <T extends Record<string, unknown>>(sql: string, params: unknown[]) =>
    (await client.query<T>(sql, params)).rows;
  const subject = await resolveSubject(client, { email: address });
  const positions = await q<{ person_id: string }>(
    `SELECT p.id, p.person_id, p.company_id, p.title, p.email::text AS email, p.email_status, p.phone, p.list_name,
            p.status, p.custom, p.art14_notified_at, p.created_at, p.updated_at, ${PROVENANCE_SQL('p')}
       FROM crm.positions p WHERE p.id = (SELECT app.position_id_for_email($1))`,
    [address],
  );
  const personIds = subject.personIds;
  const people = await q(
    `SELECT pe.id, pe.first_name, pe.last_name, pe.linkedin_url, pe.phone, pe.location, pe.pharow_person_id,
            pe.custom, pe.collected_at, pe.last_inbound_at, pe.created_at, pe.updated_at, ${PROVENANCE_SQL('pe')}
       FROM crm.people pe WHERE pe.id = ANY ($1::uuid[])`,
    [personIds],
  );
  const otherPositions = await q(
    `SELECT p.id, p.person_id, p.company_id, p.title, p.email::text AS email, p.phone, p.status, p.created_at,
            ${PROVENANCE_SQL('p')}
       FROM crm.positions p WHERE p.person_id = ANY ($1::uuid[]) AND p.email IS DISTINCT FROM $2::citext`,
    [personIds, address],
  );
  const companies = await q(
    `SELECT c.id, c.name, c.domain, c.website_url, c.city, c.country_code, ${PROVENANCE_SQL('c')}
       FROM crm.companies c WHERE c.id IN (SELECT company_id FROM crm.positions WHERE person_id = ANY ($1::uuid[]))`,
    [personIds],
  );
  const enrollments = await q(
    `SELECT e.id, e.campaign_id, c.name AS campaign_name, e.status, e.current_step_order, e.created_at, e.completed_at
       FROM outreach.campaign_enrollments e JOIN outreach.campaigns c ON c.id = e.campaign_id
      WHERE e.position_id IN (SELECT id FROM crm.positions WHERE person_id = ANY ($1::uuid[]) OR id = (SELECT app.position_id_for_email($2)))`,
    [personIds, address],
  );
  const messages = await q(
    `SELECT m.id, m.enrollment_id, m.direction, m.status, m.inbound_kind, m.from_address::text AS from_address,
            m.to_address::text AS to_address, m.subject, m.body_text, m.sent_at, m.received_at, m.created_at
       FROM outreach.messages m
      WHERE m.enrollment_id = ANY ($1::uuid[]) OR m.to_address = ANY ($2::citext[]) OR m.from_address = ANY ($2::citext[])
      ORDER BY coalesce(m.sent_at, m.received_at, m.created_at)`,
    [enrollments.map((e) => e.id), subject.emails],
  );
  const events = await q(
    `SELECT 'open' AS kind, o.message_id, o.opened_at AS at, o.is_machine, o.user_agent
       FROM tracking.open_events o WHERE o.message_id = ANY ($1::uuid[]) ORDER BY o.opened_at`,
    [messages.map((m) => m.id)],
  );
  const suppressions = await q(
    `SELECT reason, created_at, 'email' AS matched_by FROM outreach.suppressions WHERE email = ANY ($4::citext[])
     UNION ALL
     SELECT reason, created_at, 'email_domain' FROM outreach.suppressions WHERE domain = split_part($1, '@', 2)::citext
     UNION ALL
     SELECT reason, created_at, 'keyed_hash' FROM outreach.suppression_hashes h
      WHERE (h.key_version, h.email_hmac) IN (SELECT * FROM unnest($2::smallint[], $3::bytea[]))`,
    [address, ...unzip(subjectHmacs(address, keys)), subject.emails],
  );
  const importErrors = await q(
    `SELECT e.import_id, i.file_name, e.row_number, e.column_name, e.code, e.raw_value, e.created_at
       FROM (${SUBJECT_IMPORT_ERRORS}) e LEFT JOIN crm.imports i ON i.id = e.import_id
      ORDER BY e.created_at, e.import_id, e.row_number`,
    subjectImportErrorParams(subject),
  );
  const importSourceKeys = await q(
    `SELECT k.source, k.source_table, k.source_key, k.target_table, k.target_id, k.created_at
       FROM (${SUBJECT_SOURCE_KEYS}) k ORDER BY k.source, k.source_table, k.source_key`,
    subjectSourceKeyParams(subject),
  );
  const legacyRecords = await q(
    `SELECT a.source_database, a.source_table, a.source_key, a.import_id, ${EXACT_ORIGINAL} AS original, a.created_at
       FROM (${SUBJECT_LEGACY_ROWS}) a
      ORDER BY a.source_database, a.source_table, a.source_key`,
    [subject.emails, subject.names],
  );
  const organisation = (
    await q<{ name: string; privacy_notice_url: string | null }>(
      `SELECT o.name, s.privacy_notice_url FROM app.current_organisation() o
         LEFT JOIN iam.privacy_settings s ON s.organisation_id = o.id`,
      [],
    )
  )[0]!;
  const policy = await retentionPolicy(client);
  return {
    generatedAt: new Date().toISOString(),
    // Anything held counts: an address known only to a rejected import cell, a legacy row or the
    // suppression list is still data held about the person (Art. 15 must not answer "nothing").
    subject: {
      email: address,
      found: [people, messages, importErrors, importSourceKeys, legacyRecords, suppressions].some(
        (held) => held.length > 0,
      ),
    },
    controller: { name: organisation.name, privacyNoticeUrl: organisation.privacy_notice_url },
    purposes: ['B2B prospecting by email (legitimate interest, GDPR Art. 6(1)(f))'],
    recipients: ['the controller named above', 'ProspectFlow (processor: hosting and sending)'],
    retention: {
      people: `${policy.people_retention_days} days after collection or after your last reply, whichever is later`,
      openEvents: `${policy.open_events_retention_months} months`,
    },
    rights: [
      'access (Art. 15)',
      'rectification (Art. 16)',
      'erasure (Art. 17)',
      'objection (Art. 21)',
      'complaint to a supervisory authority (CNIL in France)',
    ],
    records: { people, positions: [...positions, ...otherPositions], companies },
    enrollments,
    messages,
    events,
    suppressions,
    importErrors,
    importSourceKeys,
    legacyRecords,
  };
}

/**
 * An archived row as held, for a JSON answer: a number JavaScript cannot hold exactly (an integer
 * beyond 2^53, more than 15 significant digits) is given as the string of its digits, so the
 * export neither rounds it (the driver parses jsonb with JSON.parse) nor changes any other value.
 */
const EXACT_ORIGINAL = `CASE WHEN jsonb_typeof(a.original) <> 'object' THEN a.original ELSE coalesce((
    SELECT jsonb_object_agg(f.key, CASE
             WHEN jsonb_typeof(f.value) = 'number'
              AND NOT (f.value::numeric = trunc(f.value::numeric) AND abs(f.value::numeric) <= 9007199254740991)
              AND f.value::numeric <> f.value::numeric::float8::numeric
             THEN to_jsonb(f.value #>> '{}') ELSE f.value END)
      FROM jsonb_each(a.original) AS f), '{}') END`;

function unzip(hashes: { version: number; hmac: Buffer }[]): [number[], Buffer[]] {
  return [hashes.map((h) => h.version), hashes.map((h) => h.hmac)];
}
