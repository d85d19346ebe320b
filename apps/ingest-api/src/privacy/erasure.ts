import {
  normaliseSubjectName,
  type SubjectKeys,
  subjectHmac,
  subjectHmacs,
  subjectNameHmac,
} from '@prospectflow/outreach-core';
import type { TenantClient } from '@prospectflow/tenant-context';
import {
  resolveSubject,
  SUBJECT_IMPORT_ERRORS,
  SUBJECT_SOURCE_KEYS,
  type Subject,
  type SubjectTarget,
  subjectImportErrorParams,
  subjectSourceKeyParams,
} from './subject.js';
import { suppressSubject } from './suppression.js';

export type ErasureTarget = SubjectTarget;

export interface ErasureResult {
  id: string;
  /** store → rows removed; no personal data. */
  removed: Record<string, number>;
  completedAt: string;
}

/** Row counts of what will go (cascades included), read before anything is deleted. */
const COUNT_SQL = `
WITH pos AS (SELECT id FROM crm.positions WHERE person_id = ANY ($1::uuid[])),
     enr AS (SELECT id FROM outreach.campaign_enrollments WHERE position_id IN (SELECT id FROM pos)),
     msg AS (SELECT id FROM outreach.messages
              WHERE enrollment_id IN (SELECT id FROM enr) OR to_address = ANY ($2::citext[]) OR from_address = ANY ($2::citext[]))
SELECT (SELECT count(*) FROM pos)::int AS positions,
       (SELECT count(*) FROM enr)::int AS enrollments,
       (SELECT count(*) FROM msg)::int AS messages,
       (SELECT count(*) FROM tracking.open_events WHERE message_id IN (SELECT id FROM msg))::int AS open_events,
       (SELECT count(*) FROM tracking.pixels WHERE message_id IN (SELECT id FROM msg))::int AS pixels,
       (SELECT array_agg(id) FROM enr) AS enrollment_ids,
       (SELECT array_agg(id) FROM msg) AS message_ids`;

/**
 * Art. 17 erasure of one person in the caller's organisation, in ONE transaction: the keyed hash
 * goes on the suppression list first (so nothing can bring them back), then every copy goes —
 * CRM rows, enrollments, messages with their bodies and recipients, tracking events, queued
 * tasks, plain-text suppressions, import error rows carrying their values, the legacy archive
 * when present. Aggregate counters (campaign daily stats) stay. The ledger row holds counts and
 * the hash only.
 */
export async function eraseSubject(
  client: TenantClient,
  keys: SubjectKeys,
  target: ErasureTarget,
): Promise<ErasureResult> {
  const subject = await resolveSubject(client, target, keys);
  for (const email of subject.emails) await suppressSubject(client, keys, email, 'erasure');
  // Open requests of the same person (asked twice, before this erasure): by the position they
  // were made at, or by the address's hash under any key version (made before a key rotation).
  const requests = await openRequests(client, keys, subject);

  const counts = (
    await client.query<{
      positions: number;
      enrollments: number;
      messages: number;
      open_events: number;
      pixels: number;
      enrollment_ids: string[] | null;
      message_ids: string[] | null;
    }>(COUNT_SQL, [subject.personIds, subject.emails])
  ).rows[0]!;
  const removed: Record<string, number> = {};
  const note = (store: string, n: number | null | undefined) => {
    if (n) removed[store] = (removed[store] ?? 0) + n;
  };
  note('crm.positions', counts.positions);
  note('outreach.campaign_enrollments', counts.enrollments);
  note('outreach.messages', counts.messages);
  note('tracking.open_events', counts.open_events);
  note('tracking.pixels', counts.pixels);

  const tasks = await client.query('DELETE FROM outreach.tasks WHERE enrollment_id = ANY ($1::uuid[])', [
    counts.enrollment_ids ?? [],
  ]);
  note('outreach.tasks', tasks.rowCount);
  // Messages outside the person's enrollments (unmatched replies, other enrollments of the address).
  await client.query('DELETE FROM outreach.messages WHERE id = ANY ($1::uuid[])', [counts.message_ids ?? []]);
  const plain = await client.query('DELETE FROM outreach.suppressions WHERE email = ANY ($1::citext[])', [
    subject.emails,
  ]);
  note('outreach.suppressions', plain.rowCount);
  note('crm.import_errors', await eraseImportErrors(client, subject));
  note('crm.import_source_keys', await eraseSourceKeys(client, subject));
  const people = await client.query('DELETE FROM crm.people WHERE id = ANY ($1::uuid[])', [
    subject.personIds,
  ]);
  note('crm.people', people.rowCount);
  note('legacy', await eraseLegacy(client, keys, subject));

  const ledgerKey = subject.emails[0] ?? `person:${subject.personIds[0] ?? subject.requestId}`;
  const { rows } = await client.query<{ id: string; completed_at: Date }>(
    `INSERT INTO iam.erasures (request_id, key_version, subject_hmac, removed) VALUES ($1, $2, $3, $4)
     RETURNING id, completed_at`,
    [subject.requestId, keys.current.version, subjectHmac(ledgerKey, keys.current), removed],
  );
  const ledger = rows[0]!;
  if (subject.requestId) {
    await client.query(
      `UPDATE iam.erasure_requests SET status = 'completed', erasure_id = $2, position_id = NULL WHERE id = $1`,
      [subject.requestId, ledger.id],
    );
  }
  await client.query(
    `UPDATE iam.erasure_requests SET status = 'completed', erasure_id = $1, position_id = NULL
     WHERE status = 'pending' AND id = ANY ($2::uuid[])`,
    [ledger.id, requests],
  );
  return { id: ledger.id, removed, completedAt: ledger.completed_at.toISOString() };
}

async function openRequests(client: TenantClient, keys: SubjectKeys, subject: Subject): Promise<string[]> {
  const hashes = subject.emails.flatMap((email) => subjectHmacs(email, keys));
  const { rows } = await client.query<{ id: string }>(
    `SELECT id FROM iam.erasure_requests
      WHERE status = 'pending' AND (position_id = ANY ($1::uuid[])
         OR (key_version, subject_hmac) IN (SELECT * FROM unnest($2::smallint[], $3::bytea[])))`,
    [subject.positionIds, hashes.map((h) => h.version), hashes.map((h) => h.hmac)],
  );
  return rows.map((r) => r.id);
}

/** Every error row of a file row that carried one of the person's values (the whole row goes). */
async function eraseImportErrors(client: TenantClient, subject: Subject): Promise<number> {
  const { rowCount } = await client.query(
    `DELETE FROM crm.import_errors e USING (${SUBJECT_IMPORT_ERRORS}) hit WHERE e.id = hit.id`,
    subjectImportErrorParams(subject),
  );
  return rowCount ?? 0;
}

/** The importers' source-key map of the person (what the access export lists as importSourceKeys). */
async function eraseSourceKeys(client: TenantClient, subject: Subject): Promise<number> {
  const { rowCount } = await client.query(
    `DELETE FROM crm.import_source_keys k USING (${SUBJECT_SOURCE_KEYS}) hit WHERE k.id = hit.id`,
    subjectSourceKeyParams(subject),
  );
  return rowCount ?? 0;
}

/**
 * The SQLite importer's archive (owned by `legacy`) keeps original rows:
 * app.erase_legacy_subject(emails text[], names text[]) (migrations 0920, 1005) deletes the current
 * organisation's archived rows that belong to the subject (app.subject_owns) and returns how many
 * it removed. The keyed hash of each full name goes to legacy.erased_names, so that a later
 * consolidation refuses rows naming the person without another address (apps/legacy-import
 * erased.ts), like the address hashes of the suppression list.
 */
async function eraseLegacy(client: TenantClient, keys: SubjectKeys, subject: Subject): Promise<number> {
  const names = [...new Set(subject.names.map(normaliseSubjectName).filter((n): n is string => n !== null))];
  await client.query(
    `INSERT INTO legacy.erased_names (key_version, name_hmac)
     SELECT $1, h FROM unnest($2::bytea[]) AS h
     ON CONFLICT (organisation_id, key_version, name_hmac) DO NOTHING`,
    [keys.current.version, names.map((n) => subjectNameHmac(n, keys.current))],
  );
  const result = await client.query<{ n: number }>('SELECT app.erase_legacy_subject($1, $2)::int AS n', [
    subject.emails,
    subject.names,
  ]);
  return result.rows[0]?.n ?? 0;
}
