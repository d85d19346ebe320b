import { type SubjectKeys, subjectHmac } from '@prospectflow/outreach-core';
import type { TenantClient } from '@prospectflow/tenant-context';
import { likeContains } from '../lib/pagination.js';
import { notFound } from '../lib/problem.js';
import { suppressSubject } from './suppression.js';

export type ErasureTarget = { email: string } | { personId: string } | { requestId: string };

export interface ErasureResult {
  id: string;
  /** store → rows removed; no personal data. */
  removed: Record<string, number>;
  completedAt: string;
}

interface Subject {
  personIds: string[];
  emails: string[];
  /** "First Last" of each person, to find free-text copies (import error values). */
  names: string[];
  pharowIds: string[];
  requestId: string | null;
}

async function resolve(client: TenantClient, target: ErasureTarget): Promise<Subject> {
  let personIds: string[] = [];
  const emails = new Set<string>();
  let requestId: string | null = null;
  if ('requestId' in target) {
    const { rows } = await client.query<{ person_id: string | null; email: string | null }>(
      `SELECT p.person_id, p.email::text AS email FROM iam.erasure_requests r
       LEFT JOIN crm.positions p ON p.id = r.position_id
       WHERE r.id = $1 AND r.status = 'pending'`,
      [target.requestId],
    );
    if (rows.length === 0) throw notFound('Erasure request', 'erasure_request_not_found');
    requestId = target.requestId;
    if (rows[0]!.person_id) personIds = [rows[0]!.person_id];
    if (rows[0]!.email) emails.add(rows[0]!.email.toLowerCase());
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
    email: string | null;
    name: string | null;
    pharow_person_id: string | null;
  }>(
    `SELECT p.email::text AS email, nullif(concat_ws(' ', pe.first_name, pe.last_name), '') AS name, pe.pharow_person_id
     FROM crm.people pe LEFT JOIN crm.positions p ON p.person_id = pe.id
     WHERE pe.id = ANY ($1::uuid[])`,
    [personIds],
  );
  for (const row of people) if (row.email) emails.add(row.email.toLowerCase());
  return {
    personIds,
    emails: [...emails],
    names: [...new Set(people.map((r) => r.name).filter((n): n is string => !!n))],
    pharowIds: [...new Set(people.map((r) => r.pharow_person_id).filter((n): n is string => !!n))],
    requestId,
  };
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
  const subject = await resolve(client, target);
  for (const email of subject.emails) await suppressSubject(client, keys, email, 'erasure');

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
  const people = await client.query('DELETE FROM crm.people WHERE id = ANY ($1::uuid[])', [
    subject.personIds,
  ]);
  note('crm.people', people.rowCount);
  note('legacy', await eraseLegacy(client, subject));

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
  // Other open requests of the same person (asked twice, before this erasure) are done too.
  await client.query(
    `UPDATE iam.erasure_requests SET status = 'completed', erasure_id = $1, position_id = NULL
     WHERE status = 'pending' AND subject_hmac = ANY ($2::bytea[])`,
    [ledger.id, subject.emails.map((email) => subjectHmac(email, keys.current))],
  );
  return { id: ledger.id, removed, completedAt: ledger.completed_at.toISOString() };
}

/** Every error row of a file row that carried one of the person's values (the whole row goes). */
async function eraseImportErrors(client: TenantClient, subject: Subject): Promise<number> {
  const patterns = [...subject.emails, ...subject.names, ...subject.pharowIds].map(likeContains);
  if (patterns.length === 0) return 0;
  const { rowCount } = await client.query(
    `DELETE FROM crm.import_errors e USING (
       SELECT DISTINCT import_id, row_number FROM crm.import_errors WHERE raw_value ILIKE ANY ($1::text[])) hit
     WHERE e.import_id = hit.import_id AND e.row_number = hit.row_number`,
    [patterns],
  );
  return rowCount ?? 0;
}

/**
 * The SQLite importer's archive (owned by `legacy`) keeps original rows. Contract: when the
 * function app.erase_legacy_subject(emails text[], names text[]) exists, it deletes the current
 * organisation's archived rows mentioning any of them and returns how many it removed.
 */
async function eraseLegacy(client: TenantClient, subject: Subject): Promise<number> {
  const { rows } = await client.query<{ present: boolean }>(
    `SELECT to_regprocedure('app.erase_legacy_subject(text[], text[])') IS NOT NULL AS present`,
  );
  if (!rows[0]?.present) return 0;
  const result = await client.query<{ n: number }>('SELECT app.erase_legacy_subject($1, $2)::int AS n', [
    subject.emails,
    subject.names,
  ]);
  return result.rows[0]?.n ?? 0;
}
