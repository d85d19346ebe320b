import { type SubjectKeys, subjectHmac } from '@prospectflow/outreach-core';
import type { TenantClient } from '@prospectflow/tenant-context';
import { notFound } from '../lib/problem.js';

export type SubjectTarget = { email: string } | { personId: string } | { requestId: string };

/**
 * A data subject as the erasure (Art. 17) and the access export (Art. 15) both see it: the
 * person(s) behind an address, every address of theirs (their positions', and those our messages
 * to them went to), their full names and other identifiers.
 * What belongs to them is decided by ONE rule, app.subject_owns (migration 1005): one of these
 * addresses or identifiers, or a full name as whole words in a record that carries no other
 * address.
 */
export interface Subject {
  personIds: string[];
  positionIds: string[];
  /** Lower case; the queried one first. */
  emails: string[];
  /** "First Last" of each person (app.subject_owns ignores single words). */
  names: string[];
  pharowIds: string[];
  requestId: string | null;
}

export async function resolveSubject(
  client: TenantClient,
  target: SubjectTarget,
  keys?: SubjectKeys,
): Promise<Subject> {
  let personIds: string[] = [];
  const emails = new Set<string>();
  let requestId: string | null = null;
  if ('requestId' in target) {
    const { rows } = await client.query<{
      person_id: string | null;
      email: string | null;
      key_version: number;
      subject_hmac: Buffer;
    }>(
      `SELECT p.person_id, p.email::text AS email, r.key_version, r.subject_hmac FROM iam.erasure_requests r
       LEFT JOIN crm.positions p ON p.id = r.position_id
       WHERE r.id = $1 AND r.status = 'pending'`,
      [target.requestId],
    );
    if (rows.length === 0) throw notFound('Erasure request', 'erasure_request_not_found');
    const request = rows[0]!;
    requestId = target.requestId;
    if (request.person_id) personIds = [request.person_id];
    if (request.email) emails.add(request.email.toLowerCase());
    else if (keys) for (const email of await addressesOfRequest(client, keys, request)) emails.add(email);
  } else if ('personId' in target) {
    const { rows } = await client.query('SELECT 1 FROM crm.people WHERE id = $1', [target.personId]);
    if (rows.length === 0) throw notFound('Person', 'person_not_found');
    personIds = [target.personId];
  } else {
    emails.add(target.email.trim().toLowerCase());
    const { rows } = await client.query<{ person_id: string }>(
      'SELECT person_id FROM crm.positions WHERE id = (SELECT app.position_id_for_email($1))',
      [target.email.trim()],
    );
    personIds = rows.map((r) => r.person_id);
  }
  const { rows: people } = await client.query<{
    position_id: string | null;
    email: string | null;
    name: string | null;
    pharow_person_id: string | null;
  }>(
    `SELECT p.id AS position_id, p.email::text AS email,
            nullif(concat_ws(' ', pe.first_name, pe.last_name), '') AS name, pe.pharow_person_id
     FROM crm.people pe LEFT JOIN crm.positions p ON p.person_id = pe.id
     WHERE pe.id = ANY ($1::uuid[])`,
    [personIds],
  );
  for (const row of people) if (row.email) emails.add(row.email.toLowerCase());
  // The addresses we wrote to them at are theirs too: a position's address corrected after a
  // send leaves the old one on the messages, and in the plain suppression list when they
  // unsubscribed (or asked for erasure) from that message.
  const positionIds = people.map((r) => r.position_id).filter((id): id is string => id !== null);
  if (positionIds.length > 0) {
    const { rows: sentTo } = await client.query<{ email: string }>(
      `SELECT DISTINCT m.to_address::text AS email FROM outreach.messages m
        JOIN outreach.campaign_enrollments e ON e.id = m.enrollment_id
       WHERE e.position_id = ANY ($1::uuid[]) AND m.direction = 'outbound' AND m.to_address IS NOT NULL`,
      [positionIds],
    );
    for (const row of sentTo) emails.add(row.email.toLowerCase());
  }
  const distinct = (values: (string | null)[]) => [...new Set(values.filter((v): v is string => !!v))];
  return {
    personIds,
    positionIds: distinct(people.map((r) => r.position_id)),
    emails: [...emails],
    names: distinct(people.map((r) => r.name)),
    pharowIds: distinct(people.map((r) => r.pharow_person_id)),
    requestId,
  };
}

/**
 * The address a recipient's request was made from, when its position is gone (the person was
 * deleted from the CRM before an admin carried the request out): the request holds only the
 * address's keyed hash, but the page unsubscribed the address first, so it is in the plain
 * suppression list. Without it the erasure would find nothing to erase, and leave that address
 * there and in the import errors and legacy rows that hold it.
 */
async function addressesOfRequest(
  client: TenantClient,
  keys: SubjectKeys,
  request: { key_version: number; subject_hmac: Buffer },
): Promise<string[]> {
  const key = keys.all.find((k) => k.version === request.key_version);
  if (!key) return [];
  const { rows } = await client.query<{ email: string }>(
    'SELECT DISTINCT email::text AS email FROM outreach.suppressions WHERE email IS NOT NULL',
  );
  return rows
    .filter((r) => subjectHmac(r.email, key).equals(request.subject_hmac))
    .map((r) => r.email.toLowerCase());
}

/** The subject's import error rows: every error row of a file row that carried one of their values. */
export const SUBJECT_IMPORT_ERRORS = `
  SELECT e.* FROM crm.import_errors e JOIN (
    SELECT import_id, row_number FROM crm.import_errors GROUP BY import_id, row_number
    HAVING app.subject_owns(array_agg(raw_value), $1::text[], $2::text[], $3::text[])) hit
  ON e.import_id = hit.import_id AND e.row_number = hit.row_number`;

export const subjectImportErrorParams = (s: Subject) => [s.emails, s.names, s.pharowIds];

/**
 * The importers' source-key map of the subject (crm.import_source_keys, no foreign key on
 * target_id): the keys of their people and positions, and any key that is one of their addresses
 * (a legacy contacts table keyed by email).
 */
export const SUBJECT_SOURCE_KEYS = `
  SELECT k.* FROM crm.import_source_keys k
   WHERE (k.target_table = 'crm.positions' AND k.target_id = ANY ($1::uuid[]))
      OR (k.target_table = 'crm.people' AND k.target_id = ANY ($2::uuid[]))
      OR app.subject_owns(ARRAY[k.source_key], $3::text[], '{}'::text[], '{}'::text[])`;

export const subjectSourceKeyParams = (s: Subject) => [s.positionIds, s.personIds, s.emails];

/** The subject's rows of the consolidated legacy stores (what app.erase_legacy_subject deletes). */
export const SUBJECT_LEGACY_ROWS = `
  SELECT a.* FROM legacy.archive_rows a
   WHERE app.subject_owns(ARRAY(SELECT v.value FROM jsonb_each_text(a.original) v), $1::text[], $2::text[], '{}'::text[])`;
